/**
 * Typed errors of aegis-guard. Every failure the library reports is one of these classes, so callers can
 * branch with `instanceof` or on the stable `code`.
 *
 * Errors cross the worker boundary as {@link WireError} (name, message, details) and are rebuilt on the
 * main thread by {@link errorFromWire}: Comlink alone would keep only name, message and stack.
 */

/** Stable machine-readable error codes. */
export type AegisErrorCode =
  | 'invalid-input'
  | 'webgpu-unavailable'
  | 'model-load-failed'
  | 'model-not-loaded'
  | 'context-window-exceeded'
  | 'input-too-long'
  | 'device-lost'
  | 'aborted'
  | 'timeout'
  | 'worker-crashed'
  | 'disposed'
  | 'engine-failed'
  | 'dataset-failed';

/** Base class of every aegis-guard error. */
export class AegisError extends Error {
  readonly code: AegisErrorCode = 'engine-failed';
  override name = 'AegisError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
  /** Extra fields that must survive the trip to the main thread. */
  details(): Record<string, unknown> {
    return {};
  }
}

/** A caller passed something the API cannot accept (wrong type, unknown option, bad category...). */
export class AegisInputError extends AegisError {
  override readonly code = 'invalid-input';
  override name = 'AegisInputError';
}

/** WebGPU is missing, no adapter was found, or the adapter lacks a feature or limit the model needs. */
export class WebGPUUnavailableError extends AegisError {
  override readonly code = 'webgpu-unavailable';
  override name = 'WebGPUUnavailableError';
  constructor(
    message: string,
    /** What exactly is missing: 'no-navigator-gpu' | 'no-adapter' | 'feature:<name>' | 'limit:<name>'. */
    readonly reason: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
  override details() {
    return { reason: this.reason };
  }
}

/** Downloading or initialising the model failed. `url` names the artifact that failed when known. */
export class ModelLoadError extends AegisError {
  override readonly code = 'model-load-failed';
  override name = 'ModelLoadError';
  constructor(
    message: string,
    readonly url?: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
  override details() {
    return { url: this.url };
  }
}

/** A check ran while no model was loaded (and none could be). */
export class ModelNotLoadedError extends AegisError {
  override readonly code = 'model-not-loaded';
  override name = 'ModelNotLoadedError';
}

/** The rendered prompt does not fit the model's context window. */
export class ContextWindowExceededError extends AegisError {
  override readonly code = 'context-window-exceeded';
  override name = 'ContextWindowExceededError';
  constructor(
    message: string,
    readonly promptTokens?: number,
    readonly contextWindow?: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
  override details() {
    return { promptTokens: this.promptTokens, contextWindow: this.contextWindow };
  }
}

/**
 * A text to check is longer than the guard's `maxInputChars` (default 1,000,000 characters): it is not
 * judged at all, and the check blocks (whatever the fail mode: a padded message must not slip through).
 */
export class InputTooLongError extends AegisError {
  override readonly code = 'input-too-long';
  override name = 'InputTooLongError';
  constructor(
    message: string,
    /** Length of the longest text of the check, in UTF-16 code units (JavaScript string length). */
    readonly length?: number,
    readonly maxInputChars?: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
  override details() {
    return { length: this.length, maxInputChars: this.maxInputChars };
  }
}

/** The GPU device was lost (often out of memory). The guard reloads the model on the next check. */
export class DeviceLostError extends AegisError {
  override readonly code = 'device-lost';
  override name = 'DeviceLostError';
}

/** The check or load was cancelled through an AbortSignal, `cancel()` or `unload()`. */
export class AegisAbortError extends AegisError {
  override readonly code = 'aborted';
  override name = 'AegisAbortError';
}

/** The check did not finish within the configured timeout. */
export class AegisTimeoutError extends AegisError {
  override readonly code = 'timeout';
  override name = 'AegisTimeoutError';
  constructor(
    message: string,
    readonly timeoutMs?: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
  override details() {
    return { timeoutMs: this.timeoutMs };
  }
}

/**
 * Why a guard worker was given up on:
 * - `script-failed`: the script never started (not found, wrong MIME type, a syntax or import error, or the
 *   `Worker` could not be constructed). The guard does not restart it: the same script would fail again.
 * - `never-answered`: the script loaded but never spoke the guard's protocol (it does not run
 *   `aegis-guard/worker`). Not restarted either.
 * - `uncaught-error`: an uncaught error after it started.
 * - `unresponsive`: it stopped answering (it closed itself, was terminated, or is stuck in a loop).
 * - `bad-message`: it sent something that is not the guard's protocol.
 * - `unknown`: the reason did not survive the trip (an older worker).
 */
export type WorkerFailureReason = 'script-failed' | 'never-answered' | 'uncaught-error' | 'unresponsive' | 'bad-message' | 'unknown';

const WORKER_FAILURE_REASONS: readonly string[] = ['script-failed', 'never-answered', 'uncaught-error', 'unresponsive', 'bad-message', 'unknown'];

export interface WorkerCrashedDetails {
  reason?: WorkerFailureReason;
  /** The worker script's URL, when known (see README "Bundlers and the worker"). */
  workerUrl?: string;
  /**
   * The worker stopped while this very check was being judged: the check may be what crashed it, so it is
   * not judged again automatically (check it again to retry).
   */
  duringCheck?: boolean;
  cause?: unknown;
}

/** The worker died, stopped answering or never started while work was in flight. */
export class WorkerCrashedError extends AegisError {
  override readonly code = 'worker-crashed';
  override name = 'WorkerCrashedError';
  readonly reason: WorkerFailureReason;
  readonly workerUrl?: string;
  readonly duringCheck: boolean;
  constructor(message: string, details: WorkerCrashedDetails = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.reason = details.reason ?? 'unknown';
    this.workerUrl = details.workerUrl;
    this.duringCheck = details.duringCheck === true;
  }
  override details() {
    return { reason: this.reason, workerUrl: this.workerUrl, duringCheck: this.duringCheck };
  }
}

/** The guard was disposed; pending and later calls reject with this. */
export class GuardDisposedError extends AegisError {
  override readonly code = 'disposed';
  override name = 'GuardDisposedError';
}

/** The engine failed in a way that has no more specific class (a GPU error during a check, for instance). */
export class EngineError extends AegisError {
  override readonly code = 'engine-failed';
  override name = 'EngineError';
}

/**
 * An evaluation set could not be obtained or read (download refused, gated without a token, a file that is
 * not in the upstream's format). Used by `aegis-guard/eval` only.
 */
export class DatasetError extends AegisError {
  override readonly code = 'dataset-failed';
  override name = 'DatasetError';
  constructor(
    message: string,
    readonly set: string,
    readonly url?: string,
    readonly status?: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
  override details(): Record<string, unknown> {
    return { set: this.set, url: this.url, status: this.status };
  }
}

/** The plain-data form of an error, safe to structured-clone across a worker boundary. */
export interface WireError {
  name: string;
  message: string;
  details?: Record<string, unknown>;
  stack?: string;
}

/**
 * A one-line description of any thrown value, without trusting it: engines can throw strings, `null`,
 * objects without a prototype, or errors whose getters throw. Never throws itself.
 */
export function describeThrown(value: unknown): string {
  try {
    if (value instanceof Error) {
      const name = typeof value.name === 'string' ? value.name : 'Error';
      const message = typeof value.message === 'string' ? value.message : '';
      return message ? `${name}: ${message}` : name;
    }
    if (typeof value === 'string') return value;
    if (value === null || value === undefined || typeof value !== 'object') return String(value);
    const message = (value as { message?: unknown }).message;
    if (typeof message === 'string') return message;
    return Object.prototype.toString.call(value);
  } catch {
    return 'an unreadable error value';
  }
}

/** Copies `details` keeping only values that survive structured cloning as plain data. */
function plainDetails(details: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(details)) {
    if (value === undefined) continue;
    if (value === null || ['string', 'number', 'boolean'].includes(typeof value)) out[key] = value;
  }
  return out;
}

/** Converts any thrown value into its wire form. Non-Aegis errors become `EngineError`. */
export function errorToWire(error: unknown): WireError {
  if (error instanceof AegisError) {
    let details: Record<string, unknown> = {};
    try {
      details = plainDetails(error.details());
    } catch {
      // A subclass whose details() throws still crosses with its name and message.
    }
    return { name: error.name, message: error.message, details, ...(typeof error.stack === 'string' ? { stack: error.stack } : {}) };
  }
  let stack: string | undefined;
  try {
    stack = error instanceof Error && typeof error.stack === 'string' ? error.stack : undefined;
  } catch {
    stack = undefined;
  }
  return { name: 'EngineError', message: describeThrown(error), ...(stack ? { stack } : {}) };
}

const str = (v: unknown) => (typeof v === 'string' ? v : undefined);
const num = (v: unknown) => (typeof v === 'number' ? v : undefined);
const workerReason = (v: unknown): WorkerFailureReason => (typeof v === 'string' && WORKER_FAILURE_REASONS.includes(v) ? (v as WorkerFailureReason) : 'unknown');

/**
 * Rebuilds the typed error a {@link WireError} describes. Unknown names become `EngineError`; a value that is
 * not a wire error at all (from a hostile or broken worker) becomes an `EngineError` saying so.
 */
export function errorFromWire(wire: WireError): AegisError {
  if (typeof wire !== 'object' || wire === null || typeof wire.name !== 'string' || typeof wire.message !== 'string') {
    return new EngineError('The worker reported a failure in an unreadable form.');
  }
  const d = typeof wire.details === 'object' && wire.details !== null ? wire.details : {};
  const error = ((): AegisError => {
    switch (wire.name) {
      case 'AegisInputError':
        return new AegisInputError(wire.message);
      case 'WebGPUUnavailableError':
        return new WebGPUUnavailableError(wire.message, str(d.reason) ?? 'unknown');
      case 'ModelLoadError':
        return new ModelLoadError(wire.message, str(d.url));
      case 'ModelNotLoadedError':
        return new ModelNotLoadedError(wire.message);
      case 'ContextWindowExceededError':
        return new ContextWindowExceededError(wire.message, num(d.promptTokens), num(d.contextWindow));
      case 'InputTooLongError':
        return new InputTooLongError(wire.message, num(d.length), num(d.maxInputChars));
      case 'DeviceLostError':
        return new DeviceLostError(wire.message);
      case 'AegisAbortError':
        return new AegisAbortError(wire.message);
      case 'AegisTimeoutError':
        return new AegisTimeoutError(wire.message, num(d.timeoutMs));
      case 'WorkerCrashedError':
        return new WorkerCrashedError(wire.message, { reason: workerReason(d.reason), workerUrl: str(d.workerUrl), duringCheck: d.duringCheck === true });
      case 'GuardDisposedError':
        return new GuardDisposedError(wire.message);
      default:
        return new EngineError(wire.name === 'EngineError' ? wire.message : `${wire.name}: ${wire.message}`);
    }
  })();
  // Keep the worker-side stack: it is where the failure happened.
  if (typeof wire.stack === 'string' && wire.stack) error.stack = wire.stack;
  return error;
}
