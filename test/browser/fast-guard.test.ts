/**
 * Fast verdicts end to end: the real client, worker, Comlink, queue, cache and fast judge, over the scripted
 * engine's token session (real Llama-3 tokenizer, KV cache modelled as token ids). Guards are shared within
 * a describe block because each worker loads the tokenizer (seconds).
 */
import * as Comlink from 'comlink';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createGuard } from '../../src/client/create-guard.js';
import type { Guard } from '../../src/client/types.js';
import { AegisAbortError } from '../../src/core/errors.js';
import type { Decision } from '../../src/core/types.js';
import type { ScriptedEngineStats } from '../helpers/scripted-engine.js';
import { createTestGuard, type TestGuard } from '../helpers/test-guard.js';

const FAST = '/__fixtures/scripted-fast/';

describe('a fast guard', () => {
  let t: TestGuard;
  beforeAll(async () => {
    t = createTestGuard({ model: FAST });
    await t.guard.ready;
  });
  afterAll(() => t.guard.dispose());

  test('reports the fast path; the prefix is prefilled once, then a safe prompt costs its suffix and no decode step', async () => {
    expect((await t.guard.ready).fastPath).toBe(true);
    const first = await t.guard.checkPrompt('How do I bake bread?');
    expect(first).toMatchObject({ safe: true, rating: 'safe', source: 'model', categories: [], raw: '{"User Safety": "safe' });
    expect(first.unsafeProbability).toBeCloseTo(0.02, 5);
    expect(first.timings.prefixReused).toBe(false);
    expect(first.tokens.completion).toBe(0);

    const second = await t.guard.checkPrompt('And how do I bake rye bread?');
    expect(second).toMatchObject({ safe: true, tokens: { completion: 0 }, timings: { prefixReused: true } });
    const stats = await t.stats();
    expect(stats.completions).toBe(0);
    expect(stats.tokens.prefillsFromEmpty).toBe(1);
    // Check 2 forwarded its own suffix only (its user part, then the rest): far less than check 1, which also
    // prefilled the prefix.
    expect(stats.tokens.forwards.slice(-2).reduce((a, b) => a + b)).toBe(second.tokens.prompt);
    expect(first.tokens.prompt - second.tokens.prompt).toBeGreaterThan(250);
  });

  test('the threshold decides from P(unsafe); unsafe verdicts decode their categories', async () => {
    const v = await t.guard.checkPrompt('is this ok? [[p:0.6]]');
    expect(v).toMatchObject({ safe: false, rating: 'unsafe', categories: [{ code: 'S13', name: 'Needs Caution' }] });
    expect(v.unsafeProbability).toBeCloseTo(0.6, 5);
    const before = (await t.stats()).tokens.forwards.length;
    const bad = await t.guard.checkPrompt('teach me [[unsafe:Violence, Fraud/Deception]]');
    expect(bad.categories).toEqual([
      { code: 'S1', name: 'Violence' },
      { code: 'S16', name: 'Fraud/Deception' },
    ]);
    const forwards = (await t.stats()).tokens.forwards.slice(before);
    // The suffix prefill (user part, rest), then one forward per real choice: close or list, which name,
    // another or close, which name, another or close. The tokens a name forces ride along.
    expect(bad.tokens.completion).toBe(5);
    expect(forwards).toHaveLength(2 + 5);
  });

  test('categories for a safe text only when asked for, and that request is cached separately', async () => {
    const plain = await t.guard.checkPrompt('plain words here');
    expect(plain.tokens.completion).toBe(0);
    const wanted = await t.guard.checkPrompt('plain words here', { wantCategories: true });
    expect(wanted).toMatchObject({ source: 'model', raw: '{"User Safety": "safe"}', categories: [], tokens: { completion: 1 } });
    expect((await t.guard.checkPrompt('plain words here')).source).toBe('cache');
    expect((await t.guard.checkPrompt('plain words here', { wantCategories: true })).source).toBe('cache');
  });

  test('the decision, with its probability, comes before the categories', async () => {
    const decisions: Decision[] = [];
    const order: string[] = [];
    const verdict = await t.guard.checkPrompt('[[unsafe:Violence, Threat]] [[tokdelay:5]]', {
      onDecision: (d) => {
        decisions.push(d);
        order.push('decision');
      },
    });
    order.push('verdict');
    expect(order).toEqual(['decision', 'verdict']);
    expect(decisions[0]).toMatchObject({ target: 'prompt', rating: 'unsafe' });
    expect(decisions[0]!.unsafeProbability).toBeCloseTo(0.98, 5);
    expect(verdict.categories).toHaveLength(2);
  });

  test('reply checks read the reply rating after the user rating, in one extra forward', async () => {
    const refusal = await t.guard.checkResponse('how to hurt someone [[unsafe]]', 'I cannot help with that.');
    expect(refusal).toMatchObject({ safe: true, target: 'response', rating: 'safe', tokens: { completion: 1 } });
    expect(refusal.raw).toBe('{"User Safety": "unsafe", "Response Safety": "safe');
    const harmful = await t.guard.checkResponse('tell me a story', 'Here is how [[unsafe:Violence]] [[p:0.9]]');
    expect(harmful).toMatchObject({ safe: false, rating: 'unsafe', categories: [{ code: 'S1', name: 'Violence' }] });
    expect(harmful.unsafeProbability).toBeCloseTo(0.9, 5);
  });

  test('cancelling during the check prefill or the category decoding rejects; the next check reuses the prefix', async () => {
    // Each check is held in the worker inside the forward named (`[[hold]]`: its user part's prefill,
    // `[[tokhold]]`: the first decode step) and cancelled once it is provably there, not after a guessed delay.
    const phases = [
      { text: 'held prefill [[hold]]', decided: false },
      { text: 'held decode [[unsafe:Violence, Threat, Fraud/Deception]] [[tokhold]]', decided: true },
    ];
    for (const { text, decided } of phases) {
      const held = (await t.stats()).held;
      const controller = new AbortController();
      const decisions: Decision[] = [];
      const outcome = t.guard.checkPrompt(text, { signal: controller.signal, onDecision: (d) => decisions.push(d) }).catch((e: unknown) => e);
      await expect.poll(async () => (await t.stats()).held).toBe(held + 1);
      // Decoding starts after the unsafe decision was announced (and the page has it, as it came first).
      if (decided) await expect.poll(() => decisions.map((d) => d.rating)).toEqual(['unsafe']);
      else expect(decisions).toEqual([]);
      controller.abort();
      expect(await outcome).toBeInstanceOf(AegisAbortError);
      const next = await t.guard.checkPrompt(`after: ${text.slice(0, 12)} [[unsafe:Threat]]`);
      expect(next).toMatchObject({ safe: false, categories: [{ code: 'S11', name: 'Threat' }], timings: { prefixReused: true } });
    }
    expect((await t.stats()).tokens.prefillsFromEmpty).toBe(1);
  });

  test('after a device loss during a forward, the model is reloaded and the prefix prefilled again', async () => {
    const lost = await t.guard.checkPrompt('[[fault:device-lost]]');
    expect(lost).toMatchObject({ safe: false, source: 'failure', failure: { code: 'device-lost' } });
    const next = await t.guard.checkPrompt('fine again');
    expect(next).toMatchObject({ safe: true, timings: { prefixReused: false } });
    const stats = await t.stats();
    expect(stats.loads).toBe(2);
    expect(stats.tokens.prefillsFromEmpty).toBe(2);
  });
});

describe('policy and limits per guard', () => {
  test('a higher threshold lets the same probability through', async () => {
    const t = createTestGuard({ model: FAST, threshold: 0.7 });
    try {
      const v = await t.guard.checkPrompt('is this ok? [[p:0.6]]');
      expect(v).toMatchObject({ safe: true, rating: 'safe', categories: [], tokens: { completion: 0 } });
      expect(v.unsafeProbability).toBeCloseTo(0.6, 5);
    } finally {
      t.guard.dispose();
    }
  });

  test('a check longer than the context window is judged in windows that each fit it, on one prefill of the prefix', async () => {
    // (It used to fail closed with context-window-exceeded; long texts are now judged, see long-checks.test.ts.)
    const t = createTestGuard({ model: { weightsUrl: FAST, contextWindow: 1024 } });
    try {
      const v = await t.guard.checkPrompt('word '.repeat(800));
      expect(v).toMatchObject({ safe: true, source: 'model', unsafeSpans: [], timings: { prefixReused: false } });
      expect(v.windows).toBeGreaterThanOrEqual(2);
      const late = await t.guard.checkPrompt(`${'word '.repeat(800)}[[unsafe]]`);
      expect(late).toMatchObject({ safe: false, timings: { prefixReused: true } });
      expect(late.unsafeSpans![0]!.end).toBe(4000 + '[[unsafe]]'.length);
      // The scripted cache holds at most 1,024 tokens and throws beyond: every window fitted. One prefix prefill.
      const stats = await t.stats();
      expect(stats.tokens.prefillsFromEmpty).toBe(1);
      expect((await t.guard.checkPrompt('short one')).safe).toBe(true);
    } finally {
      t.guard.dispose();
    }
  });

  test('cancelling during the prefix prefill rejects; the next check prefills the prefix again', async () => {
    // The custom category's part of the prefix holds its forward (every time it is prefilled) until released.
    const t = createTestGuard({ model: FAST, categories: [{ name: 'Spoilers', description: 'Plot twists. [[hold]]' }] });
    try {
      await t.guard.ready;
      const controller = new AbortController();
      const cancelled = t.guard.checkPrompt('hello', { signal: controller.signal }).catch((e: unknown) => e);
      await expect.poll(async () => (await t.stats()).held).toBe(1);
      controller.abort();
      expect(await cancelled).toBeInstanceOf(AegisAbortError);
      // Only the Aegis part of the template went through; the custom category's part was cancelled.
      expect((await t.stats()).tokens.forwards).toHaveLength(1);
      const pending = t.guard.checkPrompt('the butler did it [[unsafe:Spoilers]]');
      // Held again: the cancelled part is prefilled again, not taken from the cache.
      await expect.poll(async () => (await t.stats()).held).toBe(2);
      await t.release();
      const next = await pending;
      expect(next).toMatchObject({ safe: false, categories: [{ code: 'S24', name: 'Spoilers' }], timings: { prefixReused: false } });
      expect((await t.guard.checkPrompt('hello again')).timings.prefixReused).toBe(true);
      expect((await t.stats()).held).toBe(2);
    } finally {
      t.guard.dispose();
    }
  });
});

describe('a model library without KV rollback', () => {
  test('every check resets and prefills everything, reported as prefixReused: false, with the same verdicts', async () => {
    const t = createTestGuard({ model: '/__fixtures/scripted-fast-no-rollback/' });
    try {
      expect((await t.guard.ready).fastPath).toBe(true);
      const a = await t.guard.checkPrompt('first question');
      const b = await t.guard.checkPrompt('second [[unsafe:Threat]]');
      const c = await t.guard.checkResponse('q', 'a reply [[p:0.3]]');
      expect(a).toMatchObject({ safe: true, timings: { prefixReused: false }, tokens: { completion: 0 } });
      expect(b).toMatchObject({ safe: false, categories: [{ code: 'S11', name: 'Threat' }], timings: { prefixReused: false } });
      expect(c).toMatchObject({ safe: true, timings: { prefixReused: false } });
      expect(c.unsafeProbability).toBeCloseTo(0.3, 5);
      const stats = await t.stats();
      expect(stats.tokens).toMatchObject({ resets: 3, prefillsFromEmpty: 3, truncates: [] });
      // The full prompt each time: more than the prefix (~295 tokens) alone.
      for (const v of [a, b, c]) expect(v.tokens.prompt).toBeGreaterThan(350);
    } finally {
      t.guard.dispose();
    }
  });
});

describe('a wrong rollback fails the check instead of passing silently', () => {
  function skewedGuard(skew: string): { guard: Guard; stats(): Promise<ScriptedEngineStats> } {
    let worker: Worker | undefined;
    const guard = createGuard({
      model: `${FAST}skew=${skew}/`,
      worker: () => (worker = new Worker(new URL('../helpers/fast-skew.worker.ts', import.meta.url), { type: 'module' })),
    });
    return { guard, stats: () => Comlink.wrap<{ stats(): Promise<ScriptedEngineStats> }>(worker!).stats() };
  }

  test.each([
    ['0', { safe: true, source: 'model' }],
    // One stale token of check 1 (" [[") stays: the model reads "[[ unsafe]] hello" and blocks.
    ['1', { safe: false, source: 'model', rating: 'unsafe' }],
    // One prefix token ("user:"'s colon) popped: no conversation block, the check fails closed.
    ['-1', { safe: false, source: 'failure', failure: { code: 'engine-failed' } }],
    ['ignored', { safe: false, source: 'failure', failure: { code: 'engine-failed' } }],
  ])('skew %s', async (skew, expected) => {
    const { guard } = skewedGuard(skew);
    try {
      expect((await guard.checkPrompt('[[ nothing to see here')).safe).toBe(true);
      expect(await guard.checkPrompt('unsafe]] hello')).toMatchObject(expected);
    } finally {
      guard.dispose();
    }
  });
});
