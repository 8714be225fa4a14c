/**
 * The real WebLLMEngine over the fake WebLLM runtime (fake-mlc-engine.ts, fake-webllm-pipeline.ts), in Node:
 * a fake WebGPU adapter for the preflight and a stand-in for the model-file check, since neither a GPU nor a
 * model server exists here. Everything between the Engine port and the runtime's internals is real.
 */
import type { MLCEngine } from '@mlc-ai/web-llm';
import type { ModelSpec } from '../../src/engine/engine.js';
import { WEBLLM_MIN_LIMITS } from '../../src/engine/gpu-requirements.js';
import { WebLLMEngine } from '../../src/engine/webllm-engine.js';
import { FakeMLCEngine } from './fake-mlc-engine.js';
import type { FakePipelineOptions } from './fake-webllm-pipeline.js';
import { toyTokenizer, type ToyTokenizer } from './toy-tokenizer.js';

/** `navigator` with a WebGPU adapter that meets WebLLM's limits (install with vi.stubGlobal). */
export function fakeNavigator(): { gpu: { requestAdapter(): Promise<unknown> } } {
  const adapter = {
    features: new Set(['shader-f16']),
    limits: { ...WEBLLM_MIN_LIMITS },
    info: { vendor: 'fake', architecture: 'test', description: 'fake adapter', isFallbackAdapter: false },
  };
  return { gpu: { requestAdapter: async () => adapter } };
}

export const FAKE_MODEL_URL = 'https://models.example/aegis-guard/';

export function fakeSpec(contextWindow = 4096): ModelSpec {
  return {
    modelId: 'aegis-fake',
    variant: 'q4f32_1',
    weightsUrl: FAKE_MODEL_URL,
    modelLibUrl: 'https://models.example/aegis-guard.wasm',
    baseModel: 'Llama-3.1-8B-Instruct',
    requiredFeatures: [],
    contextWindow,
  };
}

export interface FakeWebLLM {
  engine: WebLLMEngine;
  runtime: FakeMLCEngine;
  tokenizer: ToyTokenizer;
}

/** A WebLLMEngine whose runtime is the fake one; not loaded yet. */
export function fakeWebLLM(options: Partial<FakePipelineOptions> = {}): FakeWebLLM {
  const tokenizer = toyTokenizer();
  const runtime = new FakeMLCEngine({ tokenizer, ...options });
  const engine = new WebLLMEngine({
    runtime: runtime as unknown as MLCEngine,
    checkFiles: async (record) => ({
      folderUrl: FAKE_MODEL_URL,
      contextWindow: record.overrides?.context_window_size,
      totalBytes: 1_000_000,
    }),
  });
  return { engine, runtime, tokenizer };
}

/** The same, loaded (needs `navigator` stubbed with fakeNavigator()). */
export async function loadedFakeWebLLM(options: Partial<FakePipelineOptions> = {}): Promise<FakeWebLLM> {
  const fake = fakeWebLLM(options);
  await fake.engine.load(fakeSpec(options.contextWindow));
  return fake;
}
