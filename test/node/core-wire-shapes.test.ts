/**
 * Shape checks at the worker boundary for the long-check and fast-path fields: a hostile worker's
 * `windows`, `unsafeSpans`, `prefixReuse` and `fastPathOff` are named as the wrong field, and every verdict
 * and model info the library itself builds passes.
 */
import { describe, expect, test } from 'vitest';
import { resolvePolicy } from '../../src/core/policy.js';
import type { ModelInfo } from '../../src/core/types.js';
import { combineWindows, verdictFromJudgement, type ModelJudgement } from '../../src/core/verdict.js';
import { isTextSpan, modelInfoProblem, verdictProblem } from '../../src/core/wire-shapes.js';
import { fastPathStatusOf } from '../../src/engine/fast-path-status.js';
import { seededRandom } from '../helpers/prng.js';

const policy = resolvePolicy();
const judgement = (o: Partial<ModelJudgement> = {}): ModelJudgement => ({
  rating: 'safe',
  categories: [],
  raw: '{"User Safety": "safe"}',
  prefillMs: 1,
  decodeMs: 1,
  promptTokens: 10,
  completionTokens: 4,
  ...o,
});
const unsafe = judgement({ rating: 'unsafe', categories: [{ code: 'S1', name: 'Violence' }], unsafeProbability: 0.9 });

/** A windowed verdict as the worker builds it: two windows, the second unsafe. */
const windowedVerdict = () =>
  verdictFromJudgement(
    combineWindows([{ span: { start: 0, end: 100 }, judgement: judgement() }, { span: { start: 90, end: 200 }, judgement: unsafe }], policy),
    { target: 'prompt', policy },
    { queuedMs: 0, totalMs: 3 },
    false,
  );

const modelInfo = (): ModelInfo => ({
  modelId: 'aegis-guard-2',
  variant: 'q4f16_1',
  weightsUrl: 'https://example.test/w/',
  modelLibUrl: 'https://example.test/lib.wasm',
  contextWindow: 4096,
  gpu: {
    vendor: 'v',
    architecture: 'a',
    description: 'd',
    shaderF16: true,
    isFallbackAdapter: false,
    maxBufferSize: 2 ** 30,
    maxStorageBufferBindingSize: 2 ** 30,
    maxComputeWorkgroupStorageSize: 32_768,
    maxStorageBuffersPerShaderStage: 10,
  },
  fastPath: true,
  prefixReuse: true,
  loadMs: 5,
});

const notCounts = [0, -1, 1.5, Number.NaN, Infinity, -Infinity, 2 ** 53, '2', null, true, {}, [], 1n];
const notOffsets = [-1, 0.5, Number.NaN, Infinity, 2 ** 53, '3', null, undefined, {}, 1n];

describe('isTextSpan', () => {
  test('whole offsets with 0 <= start < end only', () => {
    expect(isTextSpan({ start: 0, end: 1 })).toBe(true);
    expect(isTextSpan({ start: 5, end: 9, extra: 'ok' })).toBe(true);
    for (const bad of [null, undefined, 'span', [0, 1], { start: 3, end: 3 }, { start: 4, end: 3 }, { start: 0 }, { end: 1 }]) {
      expect(isTextSpan(bad), JSON.stringify(bad) ?? String(bad)).toBe(false);
    }
    for (const v of notOffsets) {
      expect(isTextSpan({ start: v, end: 10 }), `start ${String(v)}`).toBe(false);
      expect(isTextSpan({ start: 0, end: v }), `end ${String(v)}`).toBe(false);
    }
  });
});

describe('verdictProblem: windows and unsafeSpans', () => {
  test('the verdicts the library builds pass, windowed or not, including an unsafe empty-reply window', () => {
    expect(verdictProblem(windowedVerdict())).toBeUndefined();
    const single = verdictFromJudgement(judgement(), { target: 'prompt', policy }, { queuedMs: 0, totalMs: 1 }, false);
    expect(single).not.toHaveProperty('windows');
    expect(verdictProblem(single)).toBeUndefined();
    // A reply of '' with a prompt too long for one check is judged once, in an empty window: no span to report.
    const empty = verdictFromJudgement(
      combineWindows([{ span: { start: 0, end: 0 }, judgement: unsafe }], policy),
      { target: 'response', policy },
      { queuedMs: 0, totalMs: 1 },
      false,
    );
    expect(empty).toMatchObject({ safe: false, windows: 1, unsafeSpans: [] });
    expect(verdictProblem(empty)).toBeUndefined();
  });

  test('windows must be a whole number >= 1 when present', () => {
    for (const windows of notCounts) expect(verdictProblem({ ...windowedVerdict(), windows }), String(windows)).toBe('windows');
  });

  test('unsafeSpans must be an array of well-formed spans when present', () => {
    const hostile: unknown[] = [
      null,
      'spans',
      { start: 0, end: 1 },
      [null],
      [{ start: 2, end: 1 }],
      [{ start: 1, end: 1 }],
      [{ start: 0, end: 10 }, 'x'],
      // A hole: the array's length says a span is there.
      [{ start: 0, end: 10 }, , { start: 20, end: 30 }],
      ...notOffsets.map((start) => [{ start, end: 10 }]),
      ...notOffsets.map((end) => [{ start: 0, end }]),
    ];
    for (const unsafeSpans of hostile) expect(verdictProblem({ ...windowedVerdict(), unsafeSpans }), String(unsafeSpans)).toBe('unsafeSpans');
  });

  test('seeded spans: accepted exactly when every one is whole with 0 <= start < end', () => {
    const random = seededRandom(31);
    const values = [0, 1, 7, 100, -3, 2.5, Number.NaN, Infinity, '4', null];
    const pick = () => values[Math.floor(random() * values.length)];
    for (let i = 0; i < 500; i++) {
      const spans = Array.from({ length: 1 + Math.floor(random() * 4) }, () => ({ start: pick(), end: pick() }));
      const valid = spans.every(
        (s) => typeof s.start === 'number' && typeof s.end === 'number' && Number.isInteger(s.start) && Number.isInteger(s.end) && s.start >= 0 && s.start < s.end,
      );
      expect(verdictProblem({ ...windowedVerdict(), unsafeSpans: spans }), JSON.stringify(spans)).toBe(valid ? undefined : 'unsafeSpans');
    }
  });
});

describe('modelInfoProblem: prefixReuse and fastPathOff', () => {
  test('the fast-path statuses the engines report pass', () => {
    expect(modelInfoProblem(modelInfo())).toBeUndefined();
    const off = { ...modelInfo(), ...fastPathStatusOf({ tokens: () => undefined } as never) };
    expect(off.fastPathOff).toBeDefined();
    expect(modelInfoProblem(off)).toBeUndefined();
    // A code this page does not know yet (a newer worker) still passes: it stays a string.
    expect(modelInfoProblem({ ...modelInfo(), prefixReuse: false, fastPathOff: { code: 'future-reason', message: 'Why.' } })).toBeUndefined();
  });

  test('prefixReuse must be a boolean', () => {
    const { prefixReuse: _, ...without } = modelInfo();
    expect(modelInfoProblem(without)).toBe('prefixReuse');
    for (const prefixReuse of ['true', 1, 0, null, {}]) expect(modelInfoProblem({ ...modelInfo(), prefixReuse }), String(prefixReuse)).toBe('prefixReuse');
  });

  test('fastPathOff must be absent or { code: string, message: string }', () => {
    const hostile: unknown[] = [null, 'no-forward', 3, [], {}, { code: 'no-forward' }, { message: 'm' }, { code: 4, message: 'm' }, { code: 'no-forward', message: null }];
    for (const fastPathOff of hostile) expect(modelInfoProblem({ ...modelInfo(), fastPathOff }), JSON.stringify(fastPathOff)).toBe('fastPathOff');
  });
});
