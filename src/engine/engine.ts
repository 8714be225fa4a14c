/**
 * The Engine port: the one narrow seam between aegis-guard and a language-model runtime.
 *
 * Everything above it (prompt rendering, parsing, queueing, caching, policy, fast verdicts) is ours and runs
 * for real in tests. The WebLLM implementation lives in `webllm-engine.ts`; tests substitute a scripted
 * engine that implements the same interface (outputs, delays, faults), because no model weights or model
 * library can be fetched where the tests run.
 */
import type { FastPathOff, LoadProgress } from '../core/types.js';

/** A model to load, with every URL already absolute. Built by `model-records.ts`. */
export interface ModelSpec {
  /** Identifier used by the runtime's caches and in reports. */
  modelId: string;
  /** Quantization variant, e.g. 'q4f16_1' or 'q4f32_1'. */
  variant: string;
  /** Folder holding mlc-chat-config.json, tensor-cache.json, shards and tokenizer (absolute URL). */
  weightsUrl: string;
  /** The compiled model library (.wasm), absolute. Undefined: the runtime's stock library for `baseModel`. */
  modelLibUrl?: string;
  /** Base architecture whose stock model library fits these weights, e.g. 'Llama-3.1-8B-Instruct'. */
  baseModel: string;
  /** GPU features the variant needs, e.g. ['shader-f16']. */
  requiredFeatures: string[];
  /** Context window to allocate (smaller saves KV memory). */
  contextWindow: number;
  /** A complete runtime-specific record given by the user; passed through untouched when present. */
  record?: Record<string, unknown>;
}

/** What `load` reports back. */
export interface EngineLoadResult {
  modelLibUrl: string;
  contextWindow: number;
}

export interface LoadOptions {
  onProgress?: (progress: LoadProgress) => void;
  signal?: AbortSignal;
}

export interface CompleteOptions {
  /** Hard cap on generated tokens. */
  maxTokens: number;
  /** Generation stops when the output ends with one of these strings (kept out of the text). */
  stop?: string[];
  signal?: AbortSignal;
  /** Called with the whole output so far, after each decoded token. */
  onText?: (textSoFar: string) => void;
}

/** The result of a raw completion. Times in milliseconds. */
export interface Completion {
  text: string;
  finishReason: 'stop' | 'length' | 'abort';
  promptTokens: number;
  completionTokens: number;
  prefillMs: number;
  decodeMs: number;
}

/**
 * Token-level access over the engine's KV cache, for first-token verdicts and prefix reuse.
 * `forward` appends to the cache; `truncate` rolls it back. Only one caller uses it at a time (the worker
 * runs one check at a time).
 *
 * Cache identity: what a caller left in the cache is still there only while `cacheEpoch()` is unchanged.
 * The epoch changes on `reset()`, on a failed `forward` or `truncate` (the session then resets the cache or
 * marks it unknown), when the engine uses the cache for something else (`complete()`), and when the model is
 * reloaded, unloaded or lost. It does not change on a successful `forward` or `truncate`: those are the
 * caller's own edits. So a caller that recorded (epoch, kvLength) after its last edit may reuse the cache
 * only when both are still the same; equal lengths alone prove nothing.
 */
export interface TokenSession {
  /**
   * Tokenizes text the way the runtime does: special-token spellings become special ids. Rejects with
   * `ContextWindowExceededError` before tokenizing a text that cannot fit the context window.
   */
  encode(text: string): Promise<number[]>;
  decode(ids: number[]): Promise<string>;
  /** Number of tokens currently held in the KV cache. */
  kvLength(): number;
  /** Changes whenever the cache stops holding what this session's callers put there (see above). */
  cacheEpoch(): number;
  /**
   * Appends `ids` to the KV cache and returns the raw next-token logits (before any sampling transform).
   * A forward cannot be interrupted once it started: `signal` is honoured before it.
   */
  forward(ids: number[], signal?: AbortSignal): Promise<Float32Array>;
  /** Drops KV entries past `length`. Absent when the model library cannot roll back its cache. */
  truncate?(length: number): Promise<void>;
  /** Empties the KV cache. */
  reset(): Promise<void>;
  readonly contextWindow: number;
}

/** Whether the loaded model offers the fast path, and why not (the `ModelInfo` fields of the same names). */
export interface FastPathStatus {
  fastPath: boolean;
  prefixReuse: boolean;
  fastPathOff?: FastPathOff;
}

/** The port. One instance serves one worker; it holds at most one loaded model. */
export interface Engine {
  /** Downloads and initialises the model. Rejects with `ModelLoadError`, `WebGPUUnavailableError`, ... */
  load(spec: ModelSpec, options?: LoadOptions): Promise<EngineLoadResult>;
  /** Releases the model and its GPU memory; aborts a load in progress. */
  unload(): Promise<void>;
  /** Raw completion of a fully rendered prompt: no chat template and no BOS token are added. Greedy. */
  complete(prompt: string, options: CompleteOptions): Promise<Completion>;
  /** Token-level access, or undefined when no model is loaded or the runtime cannot offer it. */
  tokens(): TokenSession | undefined;
  /**
   * Why `tokens()` is undefined or has no `truncate`, for the loaded model. Optional: without it the guard
   * derives a generic status from `tokens()` (fast-path-status.ts).
   */
  fastPathStatus?(): FastPathStatus;
  /** Registers a listener for losing the GPU device after loading. Returns an unsubscribe function. */
  onDeviceLost(listener: (error: Error) => void): () => void;
}
