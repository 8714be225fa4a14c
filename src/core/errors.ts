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

/** The worker died (an uncaught error, or it was terminated) while work was in flight. */
export class WorkerCrashedError extends AegisError {
  override readonly code = 'worker-crashed';
  override name = 'WorkerCrashedError';
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

/** Converts any thrown value into its wire form. Non-Aegis errors become `EngineError`. */
export function errorToWire(error: unknown): WireError {
  if (error instanceof AegisError) {
    return { name: error.name, message: error.message, details: error.details(), stack: error.stack };
  }
  if (error instanceof Error) {
    return { name: 'EngineError', message: `${error.name}: ${error.message}`, stack: error.stack };
  }
  return { name: 'EngineError', message: String(error) };
}

const str = (v: unknown) => (typeof v === 'string' ? v : undefined);
const num = (v: unknown) => (typeof v === 'number' ? v : undefined);

/** Rebuilds the typed error a {@link WireError} describes. Unknown names become `EngineError`. */
export function errorFromWire(wire: WireError): AegisError {
  const d = wire.details ?? {};
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
        return new WorkerCrashedError(wire.message);
      case 'GuardDisposedError':
        return new GuardDisposedError(wire.message);
      default:
        return new EngineError(wire.name === 'EngineError' ? wire.message : `${wire.name}: ${wire.message}`);
    }
  })();
  // Keep the worker-side stack: it is where the failure happened.
  if (wire.stack) error.stack = wire.stack;
  return error;
}
