/**
 * The private parts of WebLLM 0.2.86 aegis-guard reaches into, all in one place. WebLLM is pinned to that
 * exact version (package.json); every access is feature-checked and degrades to "not available" rather
 * than throwing, so a changed internal turns the fast path off (with a reason) instead of breaking checks.
 *
 * Line references (idx:N) are to node_modules/@mlc-ai/web-llm/lib/index.js.
 */
import type { LogitProcessor, MLCEngine } from '@mlc-ai/web-llm';

/** A TVM PackedFunc: callable, disposable. */
export interface PackedFunc {
  (...args: unknown[]): unknown;
  dispose(): void;
}

/** A tvmjs `Tensor` (idx:7460-7640). */
export interface TvmTensor {
  readonly shape: number[];
  readonly dtype: string;
  copyFrom(source: TvmTensor | ArrayLike<number>): TvmTensor;
  /** CPU tensors only (idx:7596-7600). */
  toArray(): ArrayLike<number>;
  dispose(): void;
}

/** A tvmjs `DLDevice` (idx:7300-7330): `sync()` waits for the GPU queue. */
export interface TvmDevice {
  sync(): Promise<void>;
}

/** The tvmjs `Instance` a pipeline runs on (idx:7753-8400). */
export interface TvmInstance {
  beginScope(): void;
  endScope(): void;
  detachFromCurrentScope<T>(obj: T): T;
  getGlobalFunc(name: string): PackedFunc;
  scalar(value: number, dtype: string): unknown;
  empty(shape: number[], dtype: string, device: TvmDevice): TvmTensor;
  cpu(): TvmDevice;
  /** The runtime context; `autoDisposeScope` is its scope stack (idx:7161, 7214-7229). */
  ctx?: { autoDisposeScope?: unknown[] };
  lib?: { webGPUContext?: { device?: GPUDevice } };
}

/** WebLLM's `Tokenizer` (web-tokenizers): encode adds no BOS, decode keeps special tokens (internals §1.3). */
export interface RuntimeTokenizer {
  encode(text: string): Int32Array;
  decode(ids: Int32Array): string;
}

/** The sampling fields of the pipeline's chat config, read by the sampler on every forward (idx:13569-13573). */
export interface SamplingConfig {
  temperature?: number;
  top_p?: number;
  repetition_penalty?: number;
  frequency_penalty?: number;
  presence_penalty?: number;
}

/** The fields of `LLMChatPipeline` (idx:11636-11960) the token session uses. */
export interface PipelineInternals {
  tvm: TvmInstance;
  tokenizer: RuntimeTokenizer;
  /** The GPU device the pipeline runs on (`tvm.webgpu()`, idx:11743). */
  device: TvmDevice;
  config: SamplingConfig;
  kvCache: unknown;
  /** Absent before 0.2.86 (the reference measured 0.2.79 without it). */
  kvStateKind?: string;
  filledKVCacheLength: number;
  contextWindowSize: number;
  slidingWindowSize: number;
  prefillChunkSize: number;
  logitProcessor: LogitProcessor | undefined;
  /** Forwards and samples one token; no try/finally around its scope (idx:13958-14035). */
  forwardTokensAndSample(ids: number[], isPrefill: boolean): Promise<number>;
  /** Forwards without sampling and returns the last chunk's logits, detached (idx:14036-14081). 0.2.86 only. */
  forwardKnownTokens?(ids: number[], isPrefill: boolean): Promise<TvmTensor | undefined>;
  /** Clears the KV cache and zeroes filledKVCacheLength (idx:12008-12030). */
  resetChat(keepStats?: boolean): void;
}

interface EngineInternals {
  loadedModelIdToPipeline?: Map<string, unknown>;
  logger?: (message: string) => void;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null;
const isFunction = (v: unknown): v is (...args: unknown[]) => unknown => typeof v === 'function';

/** The pipeline object the runtime holds for `modelId`, unchecked. */
function rawPipeline(engine: MLCEngine, modelId: string): unknown {
  return (engine as unknown as EngineInternals).loadedModelIdToPipeline?.get(modelId);
}

/** Names of the fields the session needs that `pipeline` lacks (empty: the shape is the expected one). */
function missingFields(pipeline: unknown): string[] {
  if (!isObject(pipeline)) return ['the pipeline itself'];
  const missing: string[] = [];
  const { tvm, tokenizer, device, config } = pipeline;
  if (!isObject(tvm)) missing.push('tvm');
  else {
    for (const name of ['beginScope', 'endScope', 'detachFromCurrentScope', 'getGlobalFunc', 'scalar', 'empty', 'cpu']) {
      if (!isFunction(tvm[name])) missing.push(`tvm.${name}()`);
    }
  }
  if (!isObject(tokenizer) || !isFunction(tokenizer.encode) || !isFunction(tokenizer.decode)) missing.push('tokenizer');
  if (!isObject(device) || !isFunction(device.sync)) missing.push('device.sync()');
  if (!isObject(config)) missing.push('config');
  for (const name of ['filledKVCacheLength', 'contextWindowSize', 'slidingWindowSize', 'prefillChunkSize']) {
    if (typeof pipeline[name] !== 'number') missing.push(name);
  }
  if (!isFunction(pipeline.resetChat)) missing.push('resetChat()');
  return missing;
}

/**
 * The loaded pipeline for `modelId` (`MLCEngine.loadedModelIdToPipeline`, idx:18087, filled at idx:18328) if
 * its shape is the one this code was written against, or what is wrong with it.
 */
export function inspectPipeline(
  engine: MLCEngine,
  modelId: string,
): { pipeline: PipelineInternals; problem?: undefined } | { pipeline?: undefined; problem: string } {
  const pipeline = rawPipeline(engine, modelId);
  if (pipeline === undefined) return { problem: `the runtime holds no pipeline for ${modelId}` };
  const missing = missingFields(pipeline);
  if (missing.length > 0) return { problem: `the pipeline lacks ${missing.join(', ')}` };
  return { pipeline: pipeline as PipelineInternals };
}

/**
 * Whether the runtime still holds exactly this pipeline. WebLLM's device-lost handler unloads behind the
 * caller's back (idx:18303-18307): the map is then cleared (idx:18357) and the pipeline disposed.
 */
export function stillLoaded(engine: MLCEngine, modelId: string, pipeline: PipelineInternals): boolean {
  return rawPipeline(engine, modelId) === pipeline;
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
 * A global function of the model library's runtime, or undefined when the library lacks it. `getGlobalFunc`
 * throws "Cannot find global function" when absent (idx:7982-7988) and attaches the result to the current
 * scope, so it is fetched inside a scope and detached, as WebLLM fetches its own KV functions (idx:11917-11922).
 */
export function findGlobalFunc(tvm: TvmInstance, name: string): PackedFunc | undefined {
  tvm.beginScope();
  try {
    const func = tvm.detachFromCurrentScope(tvm.getGlobalFunc(name));
    return isFunction(func) ? func : undefined;
  } catch {
    return undefined;
  } finally {
    tvm.endScope();
  }
}

/** Depth of tvmjs's scope stack (idx:7214-7229), or undefined when it cannot be read. */
export function scopeDepth(tvm: TvmInstance): number | undefined {
  const stack = tvm.ctx?.autoDisposeScope;
  return Array.isArray(stack) ? stack.length : undefined;
}

/**
 * Closes scopes a failed runtime call left open, down to `depth`. `forwardTokensAndSample` opens a scope at
 * idx:13961 and closes it only at idx:14017, with no try/finally: a throw in between leaves it open with every
 * chunk's logits attached. embedAndForward's own scope (idx:13287-13331) has no try/finally either, so even
 * `forwardKnownTokens`, whose finally closes one scope, leaves one open when a chunk throws. Closing them
 * disposes what they hold; later scopes would otherwise nest on top for the rest of the session.
 */
export function unwindScopes(tvm: TvmInstance, depth: number | undefined): void {
  if (depth === undefined) return;
  for (let open = scopeDepth(tvm); open !== undefined && open > depth; open--) {
    try {
      tvm.endScope();
    } catch {
      return;
    }
  }
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
