/**
 * evaluate() through the real client, worker, Comlink, queue, cache and fast judge, over the scripted
 * engine answering from a planted answer key (answer-key-engine.ts). Every figure is checked against the
 * reference computation (test/helpers/reference-metrics.ts) on the verdicts the run produced, and the
 * verdicts against the key. Guards are shared per describe block: each worker loads the real tokenizer.
 */
import * as Comlink from 'comlink';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createGuard } from '../../src/client/create-guard.js';
import type { Guard, GuardOptions } from '../../src/client/types.js';
import { AegisAbortError, AegisInputError } from '../../src/core/errors.js';
import { evaluate } from '../../src/eval/evaluate.js';
import type { EvalItem, EvalProgress, ItemResult } from '../../src/eval/types.js';
import type { AnswerKey } from '../helpers/answer-key-engine.js';
import type { ScriptedEngineStats } from '../helpers/scripted-engine.js';
import { referenceAveragePrecision, referenceMetrics } from '../helpers/reference-metrics.js';
import { seededRandom } from '../helpers/prng.js';

interface KeyedGuard {
  guard: Guard;
  plant(key: AnswerKey): Promise<void>;
  stats(): Promise<ScriptedEngineStats>;
  /** Verdicts the client emitted (one per check that reached the worker). */
  verdicts: number;
}

function keyedGuard(options: GuardOptions = {}): KeyedGuard {
  const workers: Worker[] = [];
  const guard = createGuard({
    model: '/__fixtures/scripted-fast/',
    ...options,
    worker: () => {
      const worker = new Worker(new URL('../helpers/answer-key.worker.ts', import.meta.url), { type: 'module' });
      workers.push(worker);
      return worker;
    },
  });
  const remote = () => Comlink.wrap<{ plant(key: AnswerKey): void; stats(): ScriptedEngineStats }>(workers.at(-1)!);
  const t: KeyedGuard = { guard, plant: (key) => remote().plant(key), stats: () => remote().stats(), verdicts: 0 };
  guard.on('verdict', () => t.verdicts++);
  return t;
}

const CATEGORY_NAMES: Record<string, string> = { S1: 'Violence', S8: 'Hate/Identity Hate', S16: 'Fraud/Deception', S10: 'Harassment' };

/** Seeded items over two sets and a key for them: P(unsafe) off the sweep grid (0.02 + 0.05k, so ties). */
function plantedCase(seed: number, count: number) {
  const rand = seededRandom(seed);
  const key: AnswerKey = {};
  const items: EvalItem[] = [];
  for (let i = 0; i < count; i++) {
    const response = i % 3 === 0;
    const text = `${response ? 'reply' : 'prompt'} ${seed}-${i}: ${rand().toString(36).slice(2, 8)}`;
    const label = rand() < 0.45 ? 'unsafe' : 'safe';
    // Mostly right, sometimes wrong, as a model is.
    const leaning = (label === 'unsafe') !== rand() < 0.2;
    const p = Math.round((0.02 + 0.05 * Math.floor(rand() * 10) + (leaning ? 0.5 : 0)) * 100) / 100;
    const codes = ['S1', 'S8', 'S16', 'S10'].filter(() => rand() < 0.4);
    key[text] = { p, categories: codes.length ? codes.map((c) => CATEGORY_NAMES[c]!) : ['Violence'] };
    const annotated = label === 'unsafe' ? ['S1', 'S8'].filter(() => rand() < 0.6) : [];
    items.push({
      id: `i${i}`,
      set: response ? 'replies' : 'prompts',
      target: response ? 'response' : 'prompt',
      prompt: response ? `question ${i}` : text,
      ...(response ? { response: text } : {}),
      label,
      ...(annotated.length ? { categories: annotated } : {}),
    });
  }
  return { key, items };
}

const textOf = (item: EvalItem) => (item.target === 'response' ? item.response! : item.prompt);

describe('evaluate on the fast path', () => {
  let t: KeyedGuard;
  beforeAll(async () => {
    t = keyedGuard();
    await t.guard.ready;
  });
  afterAll(() => t.guard.dispose());

  test.each([7, 8])('seed %i: verdicts follow the key; every figure equals the reference on those verdicts', async (seed) => {
    const { key, items } = plantedCase(seed, 45);
    await t.plant(key);
    const results: ItemResult[] = [];
    const report = await evaluate(t.guard, items, { onResult: (r) => void results.push(r) });
    expect(results).toHaveLength(items.length);

    for (const item of items) {
      const r = results.find((x) => x.id === item.id)!;
      const planted = key[textOf(item)]!;
      expect(r.check.unsafeProbability).toBeCloseTo(planted.p, 6);
      expect(r.check.rating).toBe(planted.p >= 0.5 ? 'unsafe' : 'safe');
      if (planted.p >= 0.5) expect(r.check.categories).toEqual(planted.categories!.map((n) => Object.keys(CATEGORY_NAMES).find((c) => CATEGORY_NAMES[c] === n)));
    }

    expect(report.sets.map((s) => s.set).sort()).toEqual(['prompts', 'replies']);
    for (const set of report.sets) {
      const mine = results.filter((r) => r.set === set.set);
      expect(set.target).toBe(set.set === 'replies' ? 'response' : 'prompt');
      const ref = referenceMetrics(mine.map((r) => ({ positive: r.label === 'unsafe', predicted: !r.check.safe })));
      expect({ tp: set.metrics.tp, fp: set.metrics.fp, tn: set.metrics.tn, fn: set.metrics.fn }).toEqual({ tp: ref.tp, fp: ref.fp, tn: ref.tn, fn: ref.fn });
      for (const k of ['precision', 'recall', 'f1', 'accuracy', 'falsePositiveRate'] as const) {
        if (ref[k] === null) expect(set.metrics[k]).toBeNull();
        else expect(set.metrics[k]).toBeCloseTo(ref[k]!, 12);
      }
      const pairs = mine.map((r) => ({ positive: r.label === 'unsafe', score: r.check.unsafeProbability! }));
      expect(set.scores.auprc).toBeCloseTo(referenceAveragePrecision(pairs)!, 12);
      // The planted probabilities give the same answer: nothing was lost on the way through the worker.
      const plantedPairs = mine.map((r) => ({ positive: r.label === 'unsafe', score: key[textOf(items.find((i) => i.id === r.id)!)]!.p }));
      expect(set.scores.auprc).toBeCloseTo(referenceAveragePrecision(plantedPairs)!, 12);
      for (const point of set.scores.sweep) {
        const r = referenceMetrics(pairs.map((p) => ({ positive: p.positive, predicted: p.score >= point.threshold })));
        expect([point.tp, point.fp, point.tn, point.fn]).toEqual([r.tp, r.fp, r.tn, r.fn]);
      }
      const annotated = mine.filter((r) => r.categories && r.check.rating === 'unsafe');
      expect(set.categories?.evaluated ?? 0).toBe(annotated.length);
      expect(set.categories?.agreed ?? 0).toBe(annotated.filter((r) => r.categories!.some((c) => r.check.categories.includes(c))).length);
      expect(set.latency.count).toBe(mine.filter((r) => r.check.source === 'model').length);
      expect(set.failures.count).toBe(0);
    }
    expect(report.run.model).toMatchObject({ fastPath: true, variant: 'q4f32_1' });
    expect(report.run.webllmVersion).toBe('0.2.86');
  });

  test('progress: done climbs to the total, ETA from the second report on', async () => {
    const { key, items } = plantedCase(3, 8);
    await t.plant(key);
    const seen: EvalProgress[] = [];
    await evaluate(t.guard, items, { onProgress: (p) => seen.push(p) });
    expect(seen.map((p) => p.done)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8]);
    expect(seen[0]!.etaMs).toBeUndefined();
    expect(seen.slice(1).every((p) => typeof p.etaMs === 'number' && p.total === 8 && p.last !== undefined)).toBe(true);
    expect(seen.at(-1)!.etaMs).toBe(0);
  });

  test('resume: an interrupted run resumes from its saved results and checks only the rest', async () => {
    const { key, items } = plantedCase(11, 12);
    await t.plant(key);
    const saved: ItemResult[] = [];
    const controller = new AbortController();
    const interrupted = evaluate(t.guard, items, {
      signal: controller.signal,
      onResult: (r) => {
        saved.push(r);
        if (saved.length === 5) controller.abort();
      },
    });
    await expect(interrupted).rejects.toBeInstanceOf(AegisAbortError);
    expect(saved).toHaveLength(5);

    const before = t.verdicts;
    const checkedAgain: string[] = [];
    const resumed = await evaluate(t.guard, items, { resume: saved, onResult: (r) => void checkedAgain.push(r.id) });
    expect(t.verdicts - before).toBe(items.length - 5);
    expect(checkedAgain).toEqual(items.slice(5).map((i) => i.id));
    expect(resumed.run.resumed).toBe(5);

    // The same figures as one uninterrupted run.
    const whole = await evaluate(t.guard, items);
    expect(resumed.sets.map((s) => s.metrics)).toEqual(whole.sets.map((s) => s.metrics));
    expect(resumed.sets.map((s) => s.scores.auprc)).toEqual(whole.sets.map((s) => s.scores.auprc));

    // A saved result whose label no longer matches the item is checked again, not trusted.
    const relabelled = items.map((i, n) => (n === 0 ? { ...i, label: i.label === 'safe' ? ('unsafe' as const) : ('safe' as const) } : i));
    const again: string[] = [];
    await evaluate(t.guard, relabelled, { resume: saved, onResult: (r) => void again.push(r.id) });
    expect(again).toEqual([items[0]!.id, ...items.slice(5).map((i) => i.id)]);
  });

  test('fast path vs JSON path side by side: planted disagreements are reported, the JSON path really ran', async () => {
    const { key, items } = plantedCase(5, 10);
    const disagreeing = items.slice(0, 2).map((i) => i.id);
    for (const item of items.slice(0, 2)) {
      const planted = key[textOf(item)]!;
      planted.jsonP = planted.p >= 0.5 ? 0.1 : 0.9;
    }
    await t.plant(key);
    const completionsBefore = (await t.stats()).completions;
    const report = await evaluate(t.guard, items, { compareJson: true });
    expect((await t.stats()).completions - completionsBefore).toBe(items.length);
    expect(report.run.compareJson).toBe(true);
    const all = report.sets.flatMap((s) => ('disagreements' in (s.comparison ?? {}) ? (s.comparison as { disagreements: Array<{ id: string }> }).disagreements : []));
    expect(all.map((d) => d.id).sort()).toEqual(disagreeing.sort());
    const compared = report.sets.reduce((n, s) => n + (s.comparison && 'compared' in s.comparison ? s.comparison.compared : 0), 0);
    expect(compared).toBe(items.length);
    for (const s of report.sets) {
      const cmp = s.comparison as { agreed: number; compared: number; agreement: number };
      expect(cmp.agreement).toBeCloseTo(cmp.agreed / cmp.compared, 12);
    }
  });

  test('all failures: every check fails closed, by reason; no scores', async () => {
    const items: EvalItem[] = [
      { id: 'f1', target: 'prompt', prompt: 'boom [[fault:engine]]', label: 'safe' },
      { id: 'f2', target: 'prompt', prompt: 'boom again [[fault:engine]]', label: 'unsafe' },
      { id: 'f3', target: 'response', prompt: 'q', response: 'r [[fault:engine]]', label: 'safe' },
    ];
    const report = await evaluate(t.guard, items);
    const [set] = report.sets;
    expect(set).toMatchObject({ set: 'default', target: 'mixed', items: 3 });
    expect(set!.failures).toMatchObject({ count: 3, byCode: { 'engine-failed': 3 } });
    expect(set!.metrics).toMatchObject({ tp: 1, fp: 2, tn: 0, fn: 0 });
    expect(set!.scores).toMatchObject({ scored: 0, auprc: null });
  });

  test('bad items are refused before anything runs', async () => {
    const before = t.verdicts;
    await expect(evaluate(t.guard, [{ id: 'a', target: 'response', prompt: 'q', label: 'safe' } as EvalItem])).rejects.toThrow(AegisInputError);
    await expect(
      evaluate(t.guard, [
        { id: 'a', target: 'prompt', prompt: 'q', label: 'safe' },
        { id: 'a', target: 'prompt', prompt: 'q2', label: 'safe' },
      ]),
    ).rejects.toThrow(/used twice/);
    await expect(evaluate(t.guard, [{ id: 'a', target: 'prompt', prompt: 'q', label: 'bad' as 'safe' }])).rejects.toThrow(/label/);
    expect(t.verdicts).toBe(before);
  });
});

describe('the judge choice, end to end', () => {
  let fast: KeyedGuard;
  let plain: KeyedGuard;
  beforeAll(async () => {
    fast = keyedGuard();
    plain = keyedGuard({ model: '/__fixtures/scripted-model/' });
    await Promise.all([fast.guard.ready, plain.guard.ready]);
  });
  afterAll(() => {
    fast.guard.dispose();
    plain.guard.dispose();
  });

  test("'json' runs the JSON path on a fast model, cached apart from the fast verdict", async () => {
    const viaFast = await fast.guard.checkPrompt('judge me [[p:0.7]]');
    expect(viaFast.unsafeProbability).toBeCloseTo(0.7, 6);
    const before = (await fast.stats()).completions;
    const viaJson = await fast.guard.checkPrompt('judge me [[p:0.7]]', { judge: 'json' });
    expect(viaJson).toMatchObject({ source: 'model', rating: 'unsafe', raw: expect.stringContaining('"User Safety": "unsafe"') });
    expect(viaJson.unsafeProbability).toBeUndefined();
    expect((await fast.stats()).completions).toBe(before + 1);
    expect((await fast.guard.checkPrompt('judge me [[p:0.7]]', { judge: 'json' })).source).toBe('cache');
    expect((await fast.guard.checkPrompt('judge me [[p:0.7]]', { judge: 'fast' })).unsafeProbability).toBeCloseTo(0.7, 6);
  });

  test("'fast' on a model without a fast path fails closed and says why; 'auto' falls back to JSON", async () => {
    const v = await plain.guard.checkPrompt('hello', { judge: 'fast' });
    expect(v).toMatchObject({ safe: false, source: 'failure', failure: { code: 'engine-failed', message: expect.stringMatching(/fast path was requested/) } });
    expect(await plain.guard.checkPrompt('hello', { judge: 'auto' })).toMatchObject({ safe: true, source: 'model' });
  });

  test('an unknown judge is bad input', async () => {
    await expect(fast.guard.checkPrompt('x', { judge: 'quick' as 'fast' })).rejects.toBeInstanceOf(AegisInputError);
  });

  test('compareJson on a model without a fast path: the comparison says why it was skipped; no scores', async () => {
    const report = await evaluate(plain.guard, [
      { id: 'a', target: 'prompt', prompt: 'fine', label: 'safe' },
      { id: 'b', target: 'prompt', prompt: 'bad [[unsafe]]', label: 'unsafe' },
    ], { compareJson: true });
    expect(report.run.compareJson).toBe(false);
    expect(report.sets[0]!.comparison).toEqual({ skipped: expect.stringMatching(/no fast path/) });
    expect(report.sets[0]!.scores).toMatchObject({ scored: 0, unscored: 2, auprc: null });
    expect(report.sets[0]!.metrics).toMatchObject({ tp: 1, tn: 1 });
  });
});
