/**
 * Verdicts of texts judged in windows (pure core): how window answers combine, how the policy applies per
 * window, the unsafe spans, the length limit's failure, and the limits' validation.
 */
import { describe, expect, test } from 'vitest';
import { AegisInputError, InputTooLongError, errorFromWire, errorToWire } from '../../src/core/errors.js';
import { resolvePolicy } from '../../src/core/policy.js';
import { combineWindows, failureVerdict, mergeSpans, verdictFromJudgement, type ModelJudgement } from '../../src/core/verdict.js';
import { assertWithinInputLimit, scaledTimeoutMs, validateMaxInputChars } from '../../src/windowing/limits.js';
import { validateCheckRequest } from '../../src/worker/validate-request.js';

const judgement = (o: Partial<ModelJudgement> = {}): ModelJudgement => ({
  rating: 'safe',
  categories: [],
  raw: '{"User Safety": "safe',
  prefillMs: 10,
  decodeMs: 1,
  promptTokens: 100,
  completionTokens: 0,
  prefixReused: true,
  ...o,
});
const unsafe = (code: string, name: string, p = 0.9) =>
  judgement({ rating: 'unsafe', categories: [{ code, name }], unsafeProbability: p, raw: `unsafe ${name}`, completionTokens: 8 });
const policy = resolvePolicy();
const timings = { queuedMs: 0, totalMs: 5 };
const verdictOf = (windows: { span: { start: number; end: number }; judgement: ModelJudgement }[], p = policy) =>
  verdictFromJudgement(combineWindows(windows, p), { target: 'prompt', policy: p }, timings, false);

describe('combining windows', () => {
  test('unsafe if any window is; categories merged in order; P(unsafe) the maximum; times and tokens summed', () => {
    const v = verdictOf([
      { span: { start: 0, end: 100 }, judgement: judgement({ unsafeProbability: 0.1 }) },
      { span: { start: 80, end: 200 }, judgement: unsafe('S1', 'Violence', 0.7) },
      { span: { start: 180, end: 300 }, judgement: unsafe('S1', 'Violence', 0.95) },
      { span: { start: 280, end: 400 }, judgement: unsafe('S11', 'Threat', 0.8) },
    ]);
    expect(v).toMatchObject({
      safe: false,
      rating: 'unsafe',
      categories: [{ code: 'S1', name: 'Violence' }, { code: 'S11', name: 'Threat' }],
      unsafeProbability: 0.95,
      raw: 'unsafe Violence',
      source: 'model',
      windows: 4,
      unsafeSpans: [{ start: 80, end: 400 }],
      tokens: { prompt: 400, completion: 24 },
      timings: { prefillMs: 40, decodeMs: 4, prefixReused: true },
    });
  });

  test('an all-safe text: safe, no spans, the first window raw', () => {
    const v = verdictOf([
      { span: { start: 0, end: 10 }, judgement: judgement({ raw: 'first', prefixReused: false }) },
      { span: { start: 5, end: 20 }, judgement: judgement({ raw: 'second' }) },
    ]);
    expect(v).toMatchObject({ safe: true, rating: 'safe', windows: 2, unsafeSpans: [], raw: 'first', timings: { prefixReused: false } });
  });

  test('ignored categories excuse only their own window', () => {
    const ignoring = resolvePolicy({ ignore: ['S12'] });
    const profanity = unsafe('S12', 'Profanity');
    expect(verdictOf([{ span: { start: 0, end: 10 }, judgement: profanity }, { span: { start: 10, end: 20 }, judgement: judgement() }], ignoring)).toMatchObject({
      safe: true,
      rating: 'unsafe',
      unsafeSpans: [],
    });
    // A window unsafe by P(unsafe) alone, with no category named: the other window's ignored category must not excuse it.
    const bare = judgement({ rating: 'unsafe', unsafeProbability: 0.8 });
    const v = verdictOf([{ span: { start: 0, end: 10 }, judgement: profanity }, { span: { start: 10, end: 20 }, judgement: bare }], ignoring);
    expect(v).toMatchObject({ safe: false, unsafeSpans: [{ start: 10, end: 20 }] });
  });

  test('a window whose answer was unreadable: the check fails (closed blocks, open lets through), its span is not called unsafe', () => {
    const windows = [
      { span: { start: 0, end: 10 }, judgement: judgement() },
      { span: { start: 10, end: 20 }, judgement: judgement({ rating: 'unsafe', failure: 'not-json' as const }) },
    ];
    expect(verdictOf(windows)).toMatchObject({ safe: false, source: 'failure', failure: { code: 'unreadable-output:not-json' }, unsafeSpans: [] });
    expect(verdictOf(windows, resolvePolicy({ failMode: 'open' }))).toMatchObject({ safe: true, source: 'failure' });
  });

  test('a cached windowed judgement keeps its windows and spans, at no GPU cost', () => {
    const combined = combineWindows([{ span: { start: 3, end: 9 }, judgement: unsafe('S1', 'Violence') }], policy);
    const v = verdictFromJudgement(combined, { target: 'response', policy }, timings, true);
    expect(v).toMatchObject({ source: 'cache', windows: 1, unsafeSpans: [{ start: 3, end: 9 }], tokens: { prompt: 0 }, timings: { prefillMs: 0 } });
  });

  test('spans merge when they overlap or touch, and stay apart otherwise', () => {
    expect(mergeSpans([{ start: 50, end: 60 }, { start: 0, end: 10 }, { start: 10, end: 20 }, { start: 15, end: 30 }])).toEqual([
      { start: 0, end: 30 },
      { start: 50, end: 60 },
    ]);
    expect(() => combineWindows([], policy)).toThrow(RangeError);
  });
});

describe('the length limit', () => {
  test('a text over maxInputChars blocks even when the policy fails open', () => {
    const error = new InputTooLongError('too long', 12, 10);
    for (const failMode of ['closed', 'open'] as const) {
      const v = failureVerdict(error, { target: 'prompt', policy: resolvePolicy({ failMode }) }, timings);
      expect(v).toMatchObject({ safe: false, source: 'failure', failure: { code: 'input-too-long', message: 'too long' } });
    }
  });

  test('InputTooLongError crosses the worker boundary with its fields', () => {
    const back = errorFromWire(errorToWire(new InputTooLongError('too long', 12, 10)));
    expect(back).toBeInstanceOf(InputTooLongError);
    expect(back).toMatchObject({ code: 'input-too-long', length: 12, maxInputChars: 10 });
  });

  test('assertWithinInputLimit names the longer text; the limit itself is allowed', () => {
    expect(() => assertWithinInputLimit({ user: 'x'.repeat(10) }, 10)).not.toThrow();
    expect(() => assertWithinInputLimit({ user: 'hi', response: 'x'.repeat(11) }, 10)).toThrow(/The reply is 11 characters long, more than maxInputChars \(10\)/);
    expect(() => assertWithinInputLimit({ user: 'x'.repeat(1_000_001) }, 1_000_000)).toThrow(/The prompt is 1,000,001 characters/);
  });

  test.each([0, -1, 1.5, NaN, '10', null])('maxInputChars %s is rejected with AegisInputError', (value) => {
    expect(() => validateMaxInputChars(value)).toThrow(AegisInputError);
    const request = { id: 'a', target: 'prompt' as const, user: 'hi', categories: [], policy: resolvePolicy(), maxInputChars: value as number };
    expect(() => validateCheckRequest(request)).toThrow(AegisInputError);
  });

  test('Infinity and whole numbers are valid limits', () => {
    for (const value of [1, 1_000_000, Infinity]) expect(() => validateMaxInputChars(value)).not.toThrow();
  });

  test('the default timeout scales with the text: one period per started 16,000 characters', () => {
    expect(scaledTimeoutMs(30_000, 0)).toBe(30_000);
    expect(scaledTimeoutMs(30_000, 16_000)).toBe(30_000);
    expect(scaledTimeoutMs(30_000, 16_001)).toBe(60_000);
    expect(scaledTimeoutMs(30_000, 1_000_000)).toBe(63 * 30_000);
    expect(scaledTimeoutMs(0, 1_000_000)).toBe(0);
  });
});
