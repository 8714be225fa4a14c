/**
 * Every metric of the evaluation report against an independent, deliberately plain computation on the same
 * verdicts (reference-metrics.ts), over seeded random item sets, plus the edge cases: no positives, one
 * class only, all failures, tied scores, no scores.
 */
import { describe, expect, test } from 'vitest';
import {
  averagePrecision,
  binaryMetrics,
  confusion,
  DEFAULT_SWEEP,
  percentiles,
  precisionRecallCurve,
  thresholdSweep,
} from '../../src/eval/metrics.js';
import { setReport } from '../../src/eval/set-report.js';
import type { BinaryMetrics, CheckSummary, ItemResult } from '../../src/eval/types.js';
import { referenceMetrics, referenceAveragePrecision, referencePercentile } from '../helpers/reference-metrics.js';
import { seededRandom } from '../helpers/prng.js';

/** Counts equal exactly; ratios equal up to floating-point rounding (the two sides use different formulas). */
function expectSameMetrics(actual: BinaryMetrics, expected: BinaryMetrics): void {
  for (const key of Object.keys(expected) as Array<keyof BinaryMetrics>) {
    const e = expected[key];
    if (e === null || ['tp', 'fp', 'tn', 'fn', 'n'].includes(key)) expect(actual[key], key).toBe(e);
    else expect(actual[key], key).toBeCloseTo(e, 12);
  }
}

function check(partial: Partial<CheckSummary> & { safe: boolean }): CheckSummary {
  return {
    rating: partial.safe ? 'safe' : 'unsafe',
    categories: [],
    source: 'model',
    timings: { queuedMs: 0, prefillMs: 5, decodeMs: 1, totalMs: 6 },
    tokens: { prompt: 10, completion: 0 },
    ...partial,
  };
}

/** A random set: labels, guard decisions, scores (some tied, some missing), failures, categories. */
function randomResults(seed: number, n: number): ItemResult[] {
  const rand = seededRandom(seed);
  const positiveRate = rand();
  return Array.from({ length: n }, (_, i) => {
    const label = rand() < positiveRate ? 'unsafe' : 'safe';
    const failed = rand() < 0.08;
    // Scores on a coarse grid so ties are common; some checks have no score (JSON path).
    const score = Math.round(rand() * 20) / 20;
    const scored = rand() < 0.85;
    const threshold = 0.5;
    const annotated = label === 'unsafe' && rand() < 0.7 ? (['S1', 'S8', 'S10'].filter(() => rand() < 0.5) as string[]) : [];
    const named = ['S1', 'S8', 'S3'].filter(() => rand() < 0.4);
    const queuedMs = Math.round(rand() * 50);
    const c: CheckSummary = failed
      ? check({ safe: false, source: 'failure', failure: { code: rand() < 0.5 ? 'timeout' : 'unreadable-output:not-json', message: 'x' } })
      : check({
          safe: scored ? score < threshold : rand() < 0.5,
          ...(scored ? { unsafeProbability: score } : {}),
          categories: named,
          source: rand() < 0.1 ? 'cache' : 'model',
          timings: { queuedMs, prefillMs: Math.round(rand() * 400), decodeMs: Math.round(rand() * 100), totalMs: queuedMs + Math.round(rand() * 900) },
        });
    if (!failed) c.rating = c.safe ? 'safe' : 'unsafe';
    return {
      id: `i${i}`,
      set: 's',
      target: 'prompt',
      label,
      ...(annotated.length ? { categories: annotated } : {}),
      check: c,
    };
  });
}

describe('binary metrics and the sweep against the reference', () => {
  test.each([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12])('seed %i', (seed) => {
    const results = randomResults(seed, 40 + seed * 17);
    const report = setReport('s', results);
    const ref = referenceMetrics(results.map((r) => ({ positive: r.label === 'unsafe', predicted: !r.check.safe })));
    expectSameMetrics(report.metrics, ref);

    const scored = results.filter((r) => r.check.source !== 'failure' && r.check.unsafeProbability !== undefined);
    const pairs = scored.map((r) => ({ positive: r.label === 'unsafe', score: r.check.unsafeProbability! }));
    expect(report.scores.scored).toBe(scored.length);
    expect(report.scores.unscored).toBe(results.length - scored.length);
    const ap = referenceAveragePrecision(pairs);
    if (ap === null) expect(report.scores.auprc).toBeNull();
    else expect(report.scores.auprc).toBeCloseTo(ap, 12);
    for (const point of report.scores.sweep) {
      const r = referenceMetrics(pairs.map((p) => ({ positive: p.positive, predicted: p.score >= point.threshold })));
      expectSameMetrics(point, r);
    }
    expect(report.scores.sweep.map((p) => p.threshold)).toEqual([...DEFAULT_SWEEP]);
  });
});

describe('the other figures against plain recounts', () => {
  test.each([21, 22, 23, 24, 25])('seed %i: failures, categories, latency', (seed) => {
    const results = randomResults(seed, 120);
    const report = setReport('s', results);
    const failed = results.filter((r) => r.check.source === 'failure');
    expect(report.failures.count).toBe(failed.length);
    const byCode: Record<string, number> = {};
    for (const r of failed) byCode[r.check.failure!.code] = (byCode[r.check.failure!.code] ?? 0) + 1;
    expect(report.failures.byCode).toEqual(byCode);

    const evaluated = results.filter((r) => r.label === 'unsafe' && r.categories && r.check.source !== 'failure' && r.check.rating === 'unsafe');
    const agreed = evaluated.filter((r) => r.categories!.some((c) => r.check.categories.includes(c)));
    expect(report.categories?.evaluated).toBe(evaluated.length);
    expect(report.categories?.agreed).toBe(agreed.length);
    for (const code of ['S1', 'S8', 'S10']) {
      const annotated = evaluated.filter((r) => r.categories!.includes(code));
      if (annotated.length === 0) continue;
      expect(report.categories?.perCategory[code]).toEqual({ annotated: annotated.length, named: annotated.filter((r) => r.check.categories.includes(code)).length });
    }

    const answered = results.filter((r) => r.check.source === 'model');
    expect(report.latency.count).toBe(answered.length);
    const service = answered.map((r) => r.check.timings.totalMs - r.check.timings.queuedMs);
    for (const q of [50, 90, 95, 99] as const) {
      expect(report.latency.serviceMs![`p${q}`]).toBe(referencePercentile(service, q));
      expect(report.latency.prefillMs![`p${q}`]).toBe(referencePercentile(answered.map((r) => r.check.timings.prefillMs), q));
    }
    expect(report.latency.serviceMs!.max).toBe(Math.max(...service));
    expect(report.latency.serviceMs!.mean).toBeCloseTo(service.reduce((a, b) => a + b, 0) / service.length, 9);
  });
});

describe('edge cases', () => {
  const item = (label: 'safe' | 'unsafe', c: CheckSummary, id = Math.random().toString(36)): ItemResult => ({ id, set: 's', target: 'prompt', label, check: c });

  test('no positives: recall, F1 with no positive call and AUPRC are undefined, FPR is defined', () => {
    const results = [item('safe', check({ safe: true, unsafeProbability: 0.1 })), item('safe', check({ safe: true, unsafeProbability: 0.2 }))];
    const r = setReport('s', results);
    expect(r.metrics).toMatchObject({ tp: 0, fp: 0, tn: 2, fn: 0, precision: null, recall: null, f1: null, accuracy: 1, falsePositiveRate: 0 });
    expect(r.scores.auprc).toBeNull();
    expect(r.scores.prCurve).toEqual([]);
    // At threshold 0 everything is called unsafe: precision 0, F1 0 (defined: there are false positives).
    expect(r.scores.sweep[0]).toMatchObject({ threshold: 0, fp: 2, precision: 0, recall: null, f1: 0, falsePositiveRate: 1 });
    expect(r.scores.bestF1).toEqual({ threshold: 0, f1: 0 });
  });

  test('one class only (all unsafe, as SimpleSafetyTests): FPR undefined, precision 1 or undefined', () => {
    const all = [item('unsafe', check({ safe: false, unsafeProbability: 0.9 })), item('unsafe', check({ safe: true, unsafeProbability: 0.3 }))];
    const r = setReport('s', all);
    expect(r.metrics).toMatchObject({ tp: 1, fn: 1, precision: 1, recall: 0.5, falsePositiveRate: null, accuracy: 0.5 });
    expect(r.metrics.f1).toBeCloseTo(2 / 3, 12);
    expect(r.scores.auprc).toBe(1);
    const none = setReport('s', [item('unsafe', check({ safe: true })), item('unsafe', check({ safe: true }))]);
    expect(none.metrics).toMatchObject({ precision: null, recall: 0, f1: 0, falsePositiveRate: null });
  });

  test('all failures: counted as unsafe decisions when failing closed, no scores, no latency', () => {
    const failure = (code: string) => check({ safe: false, source: 'failure', failure: { code, message: `${code} happened` } });
    const results = [item('safe', failure('timeout')), item('unsafe', failure('timeout')), item('safe', failure('engine-failed'))];
    const r = setReport('s', results);
    expect(r.metrics).toMatchObject({ tp: 1, fp: 2, tn: 0, fn: 0, precision: 1 / 3, recall: 1, falsePositiveRate: 1 });
    expect(r.failures).toMatchObject({ count: 3, byCode: { timeout: 2, 'engine-failed': 1 } });
    expect(r.failures.examples.map((e) => e.code)).toEqual(['timeout', 'timeout', 'engine-failed']);
    expect(r.scores).toMatchObject({ scored: 0, unscored: 3, auprc: null, prCurve: [] });
    expect(r.scores.bestF1).toBeUndefined();
    expect(r.latency).toEqual({ count: 0, serviceMs: null, prefillMs: null, decodeMs: null });
  });

  test('tied scores form one threshold: a tie of a positive and a negative is one step, not two', () => {
    const pairs = [
      { positive: true, score: 0.9 },
      { positive: true, score: 0.5 },
      { positive: false, score: 0.5 },
      { positive: false, score: 0.1 },
    ];
    // Step 1: {0.9} P=1 R=.5; step 2: {0.9,0.5,0.5} P=2/3 R=1 -> AP = .5*1 + .5*(2/3).
    expect(averagePrecision(pairs)).toBeCloseTo(0.5 + 1 / 3, 12);
    expect(averagePrecision([...pairs].reverse())).toBeCloseTo(0.5 + 1 / 3, 12);
    expect(precisionRecallCurve(pairs)).toEqual([
      { threshold: 0.9, precision: 1, recall: 0.5 },
      { threshold: 0.5, precision: 2 / 3, recall: 1 },
      { threshold: 0.1, precision: 0.5, recall: 1 },
    ]);
    // All scores tied: AP is the positive rate.
    expect(averagePrecision([{ positive: true, score: 0.5 }, { positive: false, score: 0.5 }, { positive: false, score: 0.5 }])).toBeCloseTo(1 / 3, 12);
  });

  test('the threshold is inclusive, as the guard decides (P >= t blocks)', () => {
    const [point] = thresholdSweep([{ positive: true, score: 0.5 }], [0.5]);
    expect(point).toMatchObject({ threshold: 0.5, tp: 1, fn: 0 });
  });

  test('empty input', () => {
    expect(binaryMetrics(confusion([]))).toMatchObject({ n: 0, precision: null, recall: null, f1: null, accuracy: null, falsePositiveRate: null });
    expect(percentiles([])).toBeNull();
    expect(averagePrecision([])).toBeNull();
  });

  test('the PR curve is thinned evenly to at most 1000 points, keeping both ends', () => {
    const pairs = Array.from({ length: 5000 }, (_, i) => ({ positive: i % 3 === 0, score: i / 5000 }));
    const curve = precisionRecallCurve(pairs);
    expect(curve).toHaveLength(1000);
    expect(curve[0]!.threshold).toBe(4999 / 5000);
    expect(curve.at(-1)!.threshold).toBe(0);
    expect(curve.at(-1)!.recall).toBe(1);
  });

  test('the fast/JSON comparison counts agreements, and a one-sided failure as a disagreement', () => {
    const both = (id: string, label: 'safe' | 'unsafe', fast: CheckSummary, json: CheckSummary): ItemResult => ({ id, set: 's', target: 'prompt', label, check: fast, json });
    const failure = check({ safe: false, source: 'failure', failure: { code: 'timeout', message: '' } });
    const r = setReport('s', [
      both('a', 'unsafe', check({ safe: false, unsafeProbability: 0.9 }), check({ safe: false })),
      both('b', 'safe', check({ safe: true, unsafeProbability: 0.4 }), check({ safe: false })),
      both('c', 'safe', check({ safe: true, unsafeProbability: 0.1 }), failure),
      both('d', 'safe', failure, failure),
      // A guard threshold of 0.7 makes the fast rating 'safe' at P 0.6; the model's own choice is still unsafe.
      both('e', 'unsafe', check({ safe: true, rating: 'safe', unsafeProbability: 0.6 }), check({ safe: false })),
    ]);
    const cmp = r.comparison as Exclude<typeof r.comparison, { skipped: string } | undefined>;
    expect(cmp).toMatchObject({ compared: 3, agreed: 2, agreement: 2 / 3 });
    expect(cmp.disagreements).toEqual([
      { id: 'b', fast: 'safe', json: 'unsafe', unsafeProbability: 0.4 },
      { id: 'c', fast: 'safe', json: 'failure', unsafeProbability: 0.1 },
    ]);
    expectSameMetrics(cmp.jsonMetrics, referenceMetrics([
      { positive: true, predicted: true },
      { positive: false, predicted: true },
      { positive: false, predicted: true },
      { positive: false, predicted: true },
      { positive: true, predicted: true },
    ]));
  });

  test('published figures carry our difference', () => {
    const r = setReport('s', [item('unsafe', check({ safe: false })), item('safe', check({ safe: true }))], {
      info: { published: [{ metric: 'f1', value: 0.81, source: 'paper' }] },
    });
    expect(r.published![0]!.difference).toBeCloseTo(1 - 0.81, 12);
  });
});
