/**
 * Chromium without --enable-unsafe-webgpu: `navigator.gpu` exists but `requestAdapter()` returns null, as
 * on a machine whose GPU is missing or blocklisted.
 */
import { afterEach, describe, expect, test } from 'vitest';
import { errorFromWire, WebGPUUnavailableError } from '../../src/core/errors.js';
import { preflight } from '../../src/engine/preflight.js';
import { WebLLMEngine } from '../../src/engine/webllm-engine.js';
import { preflightInWorker } from '../helpers/preflight-in-worker.js';

describe('preflight without a GPU adapter', () => {
  test('rejects with reason no-adapter in the page', async () => {
    const error = await preflight().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WebGPUUnavailableError);
    expect((error as WebGPUUnavailableError).reason).toBe('no-adapter');
    expect((error as Error).message).toMatch(/no usable GPU adapter/);
  });

  test('rejects with reason no-adapter in a module Worker', async () => {
    const result = await preflightInWorker();
    expect(result.inWorker).toBe(true);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    const error = errorFromWire(result.error);
    expect(error).toBeInstanceOf(WebGPUUnavailableError);
    expect((error as WebGPUUnavailableError).reason).toBe('no-adapter');
  });

  test('the engine refuses to load before downloading anything', async () => {
    const engine = new WebLLMEngine();
    const phases: string[] = [];
    const error = await engine
      .load(
        {
          modelId: 'aegis-guard-2.0-q4f32_1',
          variant: 'q4f32_1',
          weightsUrl: `${location.origin}/__fixtures/models/aegis-fixture-q4f32_1/`,
          modelLibUrl: `${location.origin}/__fixtures/models/libs/corrupt-body.wasm`,
          baseModel: 'Llama-3.1-8B-Instruct',
          requiredFeatures: [],
          contextWindow: 4096,
        },
        { onProgress: (p) => phases.push(p.phase) },
      )
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WebGPUUnavailableError);
    expect((error as WebGPUUnavailableError).reason).toBe('no-adapter');
    expect(phases.every((phase) => phase === 'preflight')).toBe(true);
    expect(await caches.has('webllm/config')).toBe(false);
  });
});

describe('a browser without WebGPU at all', () => {
  afterEach(() => {
    delete (navigator as unknown as Record<string, unknown>).gpu;
  });

  test('rejects with reason no-navigator-gpu', async () => {
    // Shadows Navigator.prototype.gpu on this navigator only, as in a browser that has no WebGPU.
    Object.defineProperty(navigator, 'gpu', { value: undefined, configurable: true });
    expect(navigator.gpu).toBeUndefined();
    const error = await preflight().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WebGPUUnavailableError);
    expect((error as WebGPUUnavailableError).reason).toBe('no-navigator-gpu');
  });
});
