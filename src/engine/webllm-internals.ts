/**
 * The private parts of WebLLM 0.2.86 aegis-guard reaches into, all in one place. WebLLM is pinned to that
 * exact version (package.json); every access is feature-checked and degrades to "not available" rather
 * than throwing, so a changed internal turns the fast path off instead of breaking checks.
 *
 * Line references (idx:N) are to node_modules/@mlc-ai/web-llm/lib/index.js.
 */
import type { LogitProcessor, MLCEngine } from '@mlc-ai/web-llm';

/** A TVM PackedFunc: callable, disposable. */
export interface PackedFunc {
  (...args: unknown[]): unknown;
  dispose(): void;
}

/** The tvmjs `Instance` a pipeline runs on (idx:7760-8340). */
export interface TvmInstance {
  beginScope(): void;
  endScope(): void;
  detachFromCurrentScope<T>(obj: T): T;
  getGlobalFunc(name: string): PackedFunc;
  scalar(value: number, dtype: string): unknown;
  lib?: { webGPUContext?: { device?: GPUDevice } };
}

/** WebLLM's `Tokenizer` (web-tokenizers): encode adds no BOS, decode keeps special tokens (internals §1.3). */
export interface RuntimeTokenizer {
  encode(text: string): Int32Array;
  decode(ids: Int32Array): string;
}

/** The fields of `LLMChatPipeline` (idx:11636-11956) the token session uses. */
export interface PipelineInternals {
  tvm: TvmInstance;
  tokenizer: RuntimeTokenizer;
  kvCache: unknown;
  kvStateKind: string;
  filledKVCacheLength: number;
  contextWindowSize: number;
  slidingWindowSize: number;
  prefillChunkSize: number;
  logitProcessor: LogitProcessor | undefined;
}

interface EngineInternals {
  loadedModelIdToPipeline?: Map<string, unknown>;
  logger?: (message: string) => void;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null;

/**
 * The loaded pipeline for `modelId` (`MLCEngine.loadedModelIdToPipeline`, idx:18087, filled at idx:18328),
 * or undefined when none is loaded or its shape is not the one this code was written against.
 */
export function pipelineOf(engine: MLCEngine, modelId: string): PipelineInternals | undefined {
  const pipeline = (engine as unknown as EngineInternals).loadedModelIdToPipeline?.get(modelId);
  if (!isObject(pipeline)) return undefined;
  const tvm = pipeline.tvm;
  const tokenizer = pipeline.tokenizer;
  if (
    !isObject(tvm) ||
    typeof tvm.beginScope !== 'function' ||
    typeof tvm.getGlobalFunc !== 'function' ||
    typeof tvm.scalar !== 'function' ||
    !isObject(tokenizer) ||
    typeof tokenizer.encode !== 'function' ||
    typeof tokenizer.decode !== 'function' ||
    typeof pipeline.filledKVCacheLength !== 'number' ||
    typeof pipeline.contextWindowSize !== 'number'
  ) {
    return undefined;
  }
  return pipeline as unknown as PipelineInternals;
}

/**
 * How many models the runtime holds (an unload during reload leaves none, idx:18200-18204), or undefined
 * when that cannot be read.
 */
export function loadedPipelineCount(engine: MLCEngine): number | undefined {
  const map = (engine as unknown as EngineInternals).loadedModelIdToPipeline;
  return map instanceof Map ? map.size : undefined;
}

/**
 * The GPUDevice a pipeline runs on: `tvm.lib.webGPUContext.device` (set by initWebGPU, idx:8791; the
 * context keeps the device at idx:5123). Undefined when not reachable.
 */
export function gpuDeviceOf(pipeline: PipelineInternals): GPUDevice | undefined {
  const device = pipeline.tvm.lib?.webGPUContext?.device;
  return isObject(device) && 'lost' in device ? device : undefined;
}

/**
 * Routes WebLLM's runtime log lines through `listener` as well. The engine's private `logger` (idx:18083) is
 * handed to tvmjs at instantiate (idx:18271), whose tensor-cache loader logs "Error: Cannot fetch <url>"
 * before rethrowing a shard download failure that names no URL (idx:8238, 8268).
 */
export function tapRuntimeLog(engine: MLCEngine, listener: (message: string) => void): void {
  const internals = engine as unknown as EngineInternals;
  const original = internals.logger;
  if (typeof original !== 'function') return;
  internals.logger = (message: string) => {
    listener(String(message));
    original(message);
  };
}
