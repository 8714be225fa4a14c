/**
 * The public main-thread API. No Comlink or WebLLM type appears here.
 */
import type { AegisError } from '../core/errors.js';
import type { CustomCategory, Decision, LoadProgress, ModelInfo, Verdict } from '../core/types.js';
import type { GuardStreamEvent, GuardStreamOptions, StreamSource } from '../stream/types.js';
import type { PersistentCacheOptions } from './persistent-verdicts.js';

export type { PersistentCacheOptions };

/** A WebLLM-style model record (`model`, `model_id`, `model_lib`, ...), passed to the runtime as is. */
export interface RuntimeModelRecord {
  model: string;
  model_id: string;
  model_lib: string;
  required_features?: string[];
  overrides?: Record<string, unknown>;
  [key: string]: unknown;
}

/**
 * Which model to run:
 * - a known id: `'aegis-guard-2.0'` (variant picked from the GPU), `'aegis-guard-2.0-q4f16_1'`, `'aegis-guard-2.0-q4f32_1'`;
 * - a URL (absolute or relative to the page) of a folder built by `aegis-guard build-model`; `{variant}` in
 *   it is replaced by the chosen variant;
 * - an object with the same and more control;
 * - `{ record }`: any WebLLM model record.
 */
export type ModelOption =
  | string
  | URL
  | {
      weightsUrl: string | URL;
      variant?: 'auto' | 'q4f16_1' | 'q4f32_1';
      /** The model library (.wasm). Default: WebLLM's stock Llama-3.1-8B library for the variant. */
      modelLibUrl?: string | URL;
      /** Context window to allocate, in tokens. Default 4096. */
      contextWindow?: number;
      id?: string;
    }
  | { record: RuntimeModelRecord };

export interface GuardOptions {
  /** Default: `'aegis-guard-2.0'`, weights under `./models/aegis-guard-2.0-{variant}/` next to the page. */
  model?: ModelOption;
  /** Extra categories (S24, S25, ...) appended to the Aegis taxonomy. */
  categories?: CustomCategory[];
  /** `'closed'` (default): a failed check blocks. `'open'`: a failed check lets the text through. */
  failMode?: 'closed' | 'open';
  /** P(unsafe) at or above which text is blocked when the engine reports it. Default 0.5. */
  threshold?: number;
  /** Category codes that never block on their own, e.g. `['S12']`. */
  ignoreCategories?: string[];
  /**
   * Milliseconds a check may run once started (queue time excluded); 0 disables. It covers the whole check,
   * every window of a long text included. Default: 30000 per started 16,000 characters of the checked texts
   * (a text judged in n windows gets about n times 30 s).
   */
  timeout?: number;
  /**
   * Longest text (prompt or reply, in UTF-16 code units) a check judges; a longer one is not judged and
   * blocks with an `input-too-long` failure, even with `failMode: 'open'`. Default 1,000,000; `Infinity`
   * removes the limit.
   */
  maxInputChars?: number;
  /**
   * Where the worker comes from (it must run `aegis-guard/worker`): the URL of a worker script you built
   * (see README "Bundlers and the worker"; another origin works through a `blob:` module, given CORS), a
   * factory used again after a crash, or one `Worker` (not restartable). Default: the bundled worker.
   */
  worker?: string | URL | Worker | (() => Worker);
  /**
   * Milliseconds the worker may stay silent while calls are pending before it is considered dead (closed,
   * terminated or stuck) and replaced. It is pinged when quiet. Default 10000; three times that before its
   * first message, while its script may still be downloading.
   */
  unresponsiveAfter?: number;
  /** Load the model right away (default) or on the first check. */
  eager?: boolean;
  /**
   * Keep model verdicts on this device (IndexedDB) so the same texts are not judged again on a later visit
   * (default: on, up to 10,000 verdicts). `false` turns it off; `{ maxEntries }` sets the size. Stored: a
   * salted SHA-256 of the request and the model's identity, and the verdict; never the texts. A stored
   * verdict comes back with `source: 'cache'`. See `Guard.clearCache()`.
   */
  persistentCache?: boolean | PersistentCacheOptions;
}

export interface CheckOptions {
  signal?: AbortSignal;
  /** Called as soon as the rating is known, before categories are decoded. */
  onDecision?: (decision: Decision) => void;
  /** Decode categories even for safe text. */
  wantCategories?: boolean;
  /**
   * Which judge answers (an evaluation and diagnostic knob; normal use leaves it out):
   * `'auto'` (default) the fast path when the model allows it, else the JSON path; `'fast'` only the fast
   * path (a check fails closed when the model has none); `'json'` the model writes its whole JSON answer.
   */
  judge?: JudgeChoice;
}

/** See {@link CheckOptions.judge}. */
export type JudgeChoice = 'auto' | 'fast' | 'json';

export interface GuardEventMap {
  progress: LoadProgress;
  ready: ModelInfo;
  error: AegisError;
  verdict: Verdict;
}

export type GuardState = 'idle' | 'loading' | 'ready' | 'failed' | 'disposed';

export interface Guard {
  /** Resolves when the model is loaded; rejects with the load error. Replaced by `reload()`. */
  readonly ready: Promise<ModelInfo>;
  readonly state: GuardState;
  /** Judges a user prompt. Bad input rejects with `AegisInputError`; an abort with `AegisAbortError`. */
  checkPrompt(text: string, options?: CheckOptions): Promise<Verdict>;
  /** Judges an assistant reply to `prompt`. Reads only the model's "Response Safety". */
  checkResponse(prompt: string, reply: string, options?: CheckOptions): Promise<Verdict>;
  /**
   * Guards a streamed assistant reply to `prompt`: text is released chunk by chunk once judged safe, and the
   * upstream is stopped at the first unsafe chunk. Single-use iterable; see `GuardStreamEvent`.
   */
  guardStream(prompt: string, source: StreamSource, options?: GuardStreamOptions): AsyncIterable<GuardStreamEvent>;
  /** Subscribes to guard events; returns the unsubscribe function. */
  on<K extends keyof GuardEventMap>(event: K, listener: (value: GuardEventMap[K]) => void): () => void;
  /** Loads the model again (after a load failure, or to switch models). */
  reload(model?: ModelOption): Promise<ModelInfo>;
  /**
   * Forgets every verdict stored on this device by the guards of this origin (whatever their
   * `persistentCache` setting) and the ones this guard's worker keeps in memory. Checks in flight finish.
   */
  clearCache(): Promise<void>;
  /** Terminates the worker; pending and later calls reject with `GuardDisposedError`. */
  dispose(): void;
}
