/**
 * Turns what went wrong in a check (a fail-closed verdict's `failure`, or a thrown value) into the typed
 * error the `aegis-error` event carries, and into the plain-words reason the placeholder shows.
 */
import { AegisError, EngineError, errorFromWire, type AegisErrorCode } from '../core/errors.js';
import type { Verdict } from '../core/types.js';
import type { AegisGuardLabels } from './labels.js';

const NAME_BY_CODE: Record<AegisErrorCode, string> = {
  'invalid-input': 'AegisInputError',
  'webgpu-unavailable': 'WebGPUUnavailableError',
  'model-load-failed': 'ModelLoadError',
  'model-not-loaded': 'ModelNotLoadedError',
  'context-window-exceeded': 'ContextWindowExceededError',
  'input-too-long': 'InputTooLongError',
  'device-lost': 'DeviceLostError',
  aborted: 'AegisAbortError',
  timeout: 'AegisTimeoutError',
  'worker-crashed': 'WorkerCrashedError',
  disposed: 'GuardDisposedError',
  'engine-failed': 'EngineError',
  'dataset-failed': 'DatasetError',
};

/** The typed error behind a fail-closed verdict, with its fields (unreadable model output becomes an `EngineError`). */
export function errorFromFailure(failure: NonNullable<Verdict['failure']>): AegisError {
  const name = NAME_BY_CODE[failure.code as AegisErrorCode];
  if (!name) return new EngineError(failure.message);
  return errorFromWire(failure.details ? { name, message: failure.message, details: failure.details } : { name, message: failure.message });
}

export function toAegisError(error: unknown): AegisError {
  if (error instanceof AegisError) return error;
  return new EngineError(error instanceof Error ? `${error.name}: ${error.message}` : String(error));
}

/**
 * Codes that mean the model was not there when the message was checked: once a load succeeds, the message is
 * judged again by itself. A crashed worker or a lost GPU is not among them, though the guard recovers from both:
 * the message's own check may be what crashed the worker or lost the device, and re-running it after every
 * recovery would loop. Those wait for `retry()`.
 */
export const RECHECK_WHEN_READY_CODES = new Set<string>(['webgpu-unavailable', 'model-load-failed', 'model-not-loaded']);

/** The plain-words reason for a failure code (e.g. 'unreadable-output:not-json' reads as 'unreadable-output'). */
export function reasonFor(code: string, message: string, labels: AegisGuardLabels): string {
  const reasons = labels.errorReasons as Record<string, string | undefined>;
  return reasons[code] ?? reasons[code.split(':')[0]!] ?? message;
}
