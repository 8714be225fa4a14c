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
  | { type: 'device-lost'; error: WireError };

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
