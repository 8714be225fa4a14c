/**
 * A fail-closed verdict carries the fields of the error behind it, and the element rebuilds that error with
 * them (a ModelLoadError keeps its url, a WebGPUUnavailableError its reason, ...), for every error class.
 */
import { describe, expect, test } from 'vitest';
import {
  AegisAbortError,
  AegisError,
  AegisInputError,
  AegisTimeoutError,
  ContextWindowExceededError,
  DeviceLostError,
  EngineError,
  GuardDisposedError,
  InputTooLongError,
  ModelLoadError,
  ModelNotLoadedError,
  WebGPUUnavailableError,
  WorkerCrashedError,
} from '../../src/core/errors.js';
import { DEFAULT_POLICY } from '../../src/core/policy.js';
import { failureVerdict } from '../../src/core/verdict.js';
import { errorFromFailure } from '../../src/element/failure.js';

const ERRORS: AegisError[] = [
  new AegisInputError('bad input'),
  new WebGPUUnavailableError('no shader-f16', 'feature:shader-f16'),
  new ModelLoadError('Could not fetch https://models.example/x/mlc-chat-config.json (HTTP 404).', 'https://models.example/x/mlc-chat-config.json'),
  new ModelLoadError('no url known'),
  new ModelNotLoadedError('not loaded'),
  new ContextWindowExceededError('too long', 5000, 4096),
  new InputTooLongError('far too long', 2_000_000, 1_000_000),
  new DeviceLostError('lost'),
  new AegisAbortError('cancelled'),
  new AegisTimeoutError('too slow', 30_000),
  new WorkerCrashedError('crashed'),
  new GuardDisposedError('disposed'),
  new EngineError('engine broke'),
];

describe('failure verdicts keep the error fields', () => {
  test.each(ERRORS.map((e) => [e.name, e] as const))('%s survives verdict and rebuild with its class and fields', (_name, error) => {
    const verdict = failureVerdict(error, { target: 'prompt', policy: DEFAULT_POLICY }, { queuedMs: 0, totalMs: 1 });
    // The verdict crosses the worker boundary by structured clone: it must be plain data.
    const cloned = structuredClone(verdict);
    const rebuilt = errorFromFailure(cloned.failure!);
    expect(rebuilt).toBeInstanceOf(error.constructor);
    expect(rebuilt.code).toBe(error.code);
    expect(rebuilt.message).toBe(error.message);
    expect(rebuilt.details()).toEqual(error.details());
  });

  test('a ModelLoadError keeps the url that failed; fields that are unset are left out', () => {
    const verdict = failureVerdict(ERRORS[2]!, { target: 'response', policy: DEFAULT_POLICY }, { queuedMs: 0, totalMs: 1 });
    expect(verdict.failure).toEqual({ code: 'model-load-failed', message: ERRORS[2]!.message, details: { url: 'https://models.example/x/mlc-chat-config.json' } });
    expect((errorFromFailure(verdict.failure!) as ModelLoadError).url).toBe('https://models.example/x/mlc-chat-config.json');
    expect(failureVerdict(new ModelLoadError('x'), { target: 'prompt', policy: DEFAULT_POLICY }, { queuedMs: 0, totalMs: 1 }).failure).toEqual({
      code: 'model-load-failed',
      message: 'x',
    });
  });

  test('an unknown failure code becomes an EngineError with the message', () => {
    const rebuilt = errorFromFailure({ code: 'unreadable-output:not-json', message: 'unreadable' });
    expect(rebuilt).toBeInstanceOf(EngineError);
    expect(rebuilt.message).toBe('unreadable');
  });
});
