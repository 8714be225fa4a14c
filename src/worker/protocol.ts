/**
 * The worker's Comlink surface. Kept tiny and plain-data: every argument and result is structured-cloneable,
 * callbacks arrive as Comlink proxies, and failures come back as values (`Result`) so typed errors keep
 * their fields (Comlink alone would keep only name, message and stack).
 */
import type { WireError } from '../core/errors.js';
import type {
  CustomCategory,
  Decision,
  LoadProgress,
  ModelInfo,
  Policy,
  Target,
  Verdict,
} from '../core/types.js';

export type Result<T> = { ok: true; value: T } | { ok: false; error: WireError };

/** Which model to load, as the page describes it (URLs already absolute: the page resolved them). */
export type ModelSource =
  | {
      kind: 'aegis';
      /** Weights folder; `{variant}` is replaced by the chosen variant. */
      weightsUrl: string;
      /** 'auto' picks q4f16_1 when the GPU has shader-f16, else q4f32_1. */
      variant: 'auto' | 'q4f16_1' | 'q4f32_1';
      modelLibUrl?: string;
      contextWindow?: number;
      modelId?: string;
    }
  | { kind: 'record'; record: Record<string, unknown> };

export interface CheckRequest {
  /** Unique per call; used by `cancel`. */
  id: string;
  target: Target;
  /** The user's message (for a response check: the prompt the reply answers). */
  user: string;
  /** The assistant's reply; required when target is 'response'. */
  response?: string;
  categories: CustomCategory[];
  policy: Policy;
  /** Milliseconds a check may run once it has left the queue; 0 or absent: no limit. */
  timeoutMs?: number;
  /** Decode the category list even when the verdict is safe (fast path normally stops at the rating). */
  wantCategories?: boolean;
  /** Which judge answers: 'auto' (default, fast when available), 'fast' (fails without it) or 'json'. */
  judge?: 'auto' | 'fast' | 'json';
  /** Longest text (prompt or reply) the check judges; longer fails with `input-too-long`. Default 1,000,000. */
  maxInputChars?: number;
}

export type CheckEvent =
  | { type: 'started'; queuedMs: number }
  | { type: 'decision'; decision: Decision };

/** Events the worker pushes outside any single call. */
export type ServiceEvent =
  | { type: 'progress'; progress: LoadProgress }
  | { type: 'device-lost'; error: WireError }
  /**
   * A check was settled on time, but the engine did not stop working on it within the grace period: it may
   * never come back. The page recycles the worker (the model reloads); waiting checks are sent again.
   */
  | { type: 'engine-stuck'; error: WireError };

export interface GuardServiceApi {
  /** Registers the page's listener for service events (a Comlink proxy). */
  listen(listener: (event: ServiceEvent) => void): Promise<void>;
  /** Loads (or reloads) a model. Progress goes to the listener. */
  load(source: ModelSource): Promise<Result<ModelInfo>>;
  unload(): Promise<void>;
  /** Judges one text. Failures of the check resolve as a verdict with `source: 'failure'`. */
  check(request: CheckRequest, onEvent?: (event: CheckEvent) => void): Promise<Result<Verdict>>;
  /** Cancels a queued or running check; its `check` call resolves with an `AegisAbortError`. */
  cancel(id: string): Promise<void>;
  /** Forgets the verdicts kept in memory for repeats (checks in flight are not affected). */
  clearCache?(): Promise<void>;
}

/**
 * What the page calls over Comlink. Unlike {@link GuardServiceApi} no callback crosses: events come back as
 * {@link WorkerNotice}s on the worker's own port, so they stay in order with the answers (one port, FIFO)
 * and a check costs no extra MessageChannel.
 */
export interface GuardWorkerApi {
  load(source: ModelSource): Promise<Result<ModelInfo>>;
  unload(): Promise<void>;
  /** Its `started` and `decision` events arrive as `check` notices carrying the request's id. */
  check(request: CheckRequest): Promise<Result<Verdict>>;
  cancel(id: string): Promise<void>;
  /** Answers at once: proof of life while other calls are pending. */
  ping(): Promise<true>;
  /** Forgets the verdicts kept in memory for repeats. Optional: a custom worker may predate it. */
  clearCache?(): Promise<void>;
}

/** Marks a notice. Comlink ignores messages without an `id`, so notices and Comlink share the port. */
export const NOTICE = 'aegisGuard';

/** Protocol version in the worker's hello; the page refuses a worker that speaks another. */
export const PROTOCOL_VERSION = 1;

/** Messages the worker posts on its own port outside Comlink's request/answer pairs. */
export type WorkerNotice =
  /** Posted once the worker's script has run: the worker started. `url` is the script's own location. */
  | { [NOTICE]: 'hello'; version: number; url?: string }
  | { [NOTICE]: 'event'; event: ServiceEvent }
  | { [NOTICE]: 'check'; id: string; event: CheckEvent };
