/**
 * Long checks at judge level (no worker): the windowed judge around the fast and JSON judges, over the
 * scripted engines with the real Llama-3 tokenizer. What each window's model call received is read back
 * from the engine (the conversation in its KV cache, or the prompt it completed), never from the judge.
 */
import { beforeAll, describe, expect, test } from 'vitest';
import { AegisAbortError, ContextWindowExceededError } from '../../src/core/errors.js';
import type { CompleteOptions, Completion } from '../../src/engine/engine.js';
import { judgeFast } from '../../src/worker/fast-judge.js';
import type { Judge } from '../../src/worker/judge.js';
import { windowed } from '../../src/worker/windowed-judge.js';
import { PROMPT_ELISION } from '../../src/windowing/prompt-budget.js';
import { delegateSession, fastLongCheck, jsonLongCheck, runCheck } from '../helpers/long-check.js';
import { firstGap, insertAt, longText } from '../helpers/long-text.js';
import { seededRandom } from '../helpers/prng.js';
import { checkRequest, judgeContext } from '../helpers/node-fast-engine.js';
import { ScriptedEngine } from '../helpers/scripted-engine.js';
import { loadLlama3Tokenizer, type Llama3Tokenizer } from './core-llama3-tokenizer.js';

let tk: Llama3Tokenizer;
beforeAll(async () => {
  tk = await loadLlama3Tokenizer();
});

describe('checks that fit', () => {
  test('go to the inner judge unchanged: same answer, same forwards, no window fields', async () => {
    const plain = await fastLongCheck(tk);
    const wrapped = await fastLongCheck(tk);
    for (const text of ['How do I bake bread?', 'bad [[unsafe:Threat]]', longText(9_000, 3)]) {
      const request = checkRequest('prompt', text);
      const direct = await judgeFast(plain.engine, request, judgeContext());
      const { judgement, verdict } = await runCheck(wrapped, request);
      expect({ ...judgement, prefillMs: 0, decodeMs: 0 }).toEqual({ ...direct, prefillMs: 0, decodeMs: 0 });
      expect(verdict.windows).toBeUndefined();
      expect(verdict.unsafeSpans).toBeUndefined();
    }
    expect(wrapped.engine.tokenStats.forwards).toEqual(plain.engine.tokenStats.forwards);
  });

  test('a reply and its prompt that fit together are judged in one check', async () => {
    const t = await fastLongCheck(tk);
    const { verdict } = await runCheck(t, checkRequest('response', 'Tell me a story.', { response: longText(6_000, 5) }));
    expect(verdict).toMatchObject({ safe: true });
    expect(verdict.windows).toBeUndefined();
    expect(t.received).toHaveLength(1);
  });
});

describe('long prompts and replies', () => {
  test.each(['fast', 'json'] as const)('%s path: a 120 kB prompt is judged in windows covering every character', async (path) => {
    const t = path === 'fast' ? await fastLongCheck(tk) : await jsonLongCheck();
    const text = longText(120_000, 11);
    const { verdict, decisions } = await runCheck(t, checkRequest('prompt', text));
    expect(verdict).toMatchObject({ safe: true, rating: 'safe', source: 'model', unsafeSpans: [] });
    expect(verdict.windows).toBe(t.received.length);
    expect(verdict.windows).toBeGreaterThan(6);
    expect(firstGap(text, t.received.map((r) => r.user))).toBeUndefined();
    // One decision, at the end: only then is "safe" known.
    expect(decisions).toEqual([expect.objectContaining({ target: 'prompt', rating: 'safe' })]);
    if (path === 'json') {
      // Every prompt the engine completed fits the 4,096-token context window with room for the answer.
      const engine = t.engine as ScriptedEngine;
      for (const prompt of engine.stats.prompts) expect(tk.encode(prompt).length).toBeLessThanOrEqual(4096 - 96);
    }
  });

  test('a long reply: each window carries the same prompt (head and tail within budget) and the windows cover the reply', async () => {
    const t = await fastLongCheck(tk);
    const prompt = longText(20_000, 12);
    const reply = longText(90_000, 13);
    const { verdict } = await runCheck(t, checkRequest('response', prompt, { response: reply }));
    expect(verdict).toMatchObject({ safe: true, target: 'response' });
    const users = new Set(t.received.map((r) => r.user));
    expect(users.size).toBe(1);
    const [carried] = users;
    expect(carried).toContain(PROMPT_ELISION);
    expect(prompt.startsWith(carried!.split(PROMPT_ELISION)[0]!)).toBe(true);
    expect(prompt.endsWith(carried!.split(PROMPT_ELISION)[1]!)).toBe(true);
    expect(firstGap(reply, t.received.map((r) => r.response!))).toBeUndefined();
  });

  test('a short reply to a prompt too long for one check: one window, with the prompt cut', async () => {
    const t = await fastLongCheck(tk);
    const { verdict } = await runCheck(t, checkRequest('response', longText(200_000, 14), { response: 'Sure, here it is.' }));
    expect(verdict).toMatchObject({ safe: true, windows: 1, unsafeSpans: [] });
    expect(t.received).toEqual([{ user: expect.stringContaining(PROMPT_ELISION), response: 'Sure, here it is.' }]);
    const empty = await runCheck(t, checkRequest('response', longText(200_000, 14), { response: '' }));
    expect(empty.verdict).toMatchObject({ safe: true, windows: 1 });
  });

  test('the template prefix is prefilled once for all windows of all checks', async () => {
    const t = await fastLongCheck(tk);
    await runCheck(t, checkRequest('prompt', longText(60_000, 15)));
    const second = await runCheck(t, checkRequest('prompt', longText(60_000, 16)));
    expect(t.engine.tokenStats.prefillsFromEmpty).toBe(1);
    expect(second.verdict.timings.prefixReused).toBe(true);
    expect(second.verdict.windows).toBeGreaterThan(2);
  });
});

describe('unsafe windows', () => {
  test('the first unsafe window stops the check and is reported as the unsafe span', async () => {
    const t = await fastLongCheck(tk);
    const text = insertAt(longText(100_000, 21), 40_000, ' [[unsafe:Threat]] ');
    const at = text.indexOf('[[unsafe');
    const { verdict, decisions } = await runCheck(t, checkRequest('prompt', text));
    expect(verdict).toMatchObject({ safe: false, rating: 'unsafe', categories: [{ code: 'S11', name: 'Threat' }] });
    expect(verdict.unsafeSpans).toHaveLength(1);
    const [span] = verdict.unsafeSpans!;
    expect(span!.start).toBeLessThanOrEqual(at);
    expect(span!.end).toBeGreaterThanOrEqual(at + '[[unsafe:Threat]]'.length);
    // Stopped there: the windows after it were never sent.
    expect(t.received.length).toBe(verdict.windows);
    expect(t.received.at(-1)!.user).toContain('[[unsafe:Threat]]');
    expect(firstGap(text.slice(0, span!.end), t.received.map((r) => r.user))).toBeUndefined();
    expect(decisions.filter((d) => d.rating === 'unsafe')).toHaveLength(1);
  });

  test('with wantCategories every window is judged and the categories are merged', async () => {
    const t = await fastLongCheck(tk);
    let text = longText(100_000, 22);
    text = insertAt(text, 99_000, ' [[unsafe:Fraud/Deception]] ');
    text = insertAt(text, 500, ' [[unsafe:Violence]] ');
    const { verdict } = await runCheck(t, checkRequest('prompt', text, { wantCategories: true }));
    expect(verdict.safe).toBe(false);
    expect(verdict.categories).toEqual([{ code: 'S1', name: 'Violence' }, { code: 'S16', name: 'Fraud/Deception' }]);
    expect(verdict.unsafeSpans).toHaveLength(2);
    expect(firstGap(text, t.received.map((r) => r.user))).toBeUndefined();
  });

  test('the policy applies per window: ignored categories and the threshold do not spill over to other windows', async () => {
    const t = await fastLongCheck(tk);
    const base = longText(60_000, 23);
    const ignoredOnly = insertAt(base, 1_000, ' [[unsafe:Profanity]] ');
    const ignored = await runCheck(t, checkRequest('prompt', ignoredOnly, { policy: { ignore: ['S12'] } }));
    expect(ignored.verdict).toMatchObject({ safe: true, rating: 'unsafe', categories: [{ code: 'S12', name: 'Profanity' }], unsafeSpans: [] });
    // An ignored window does not stop the check, and does not excuse a later unsafe window.
    const both = insertAt(ignoredOnly, 50_000, ' [[p:0.7]] ');
    const blocked = await runCheck(t, checkRequest('prompt', both, { policy: { ignore: ['S12'] } }));
    expect(blocked.verdict.safe).toBe(false);
    expect(blocked.verdict.unsafeSpans).toHaveLength(1);
    expect(blocked.verdict.unsafeSpans![0]!.end).toBeGreaterThan(50_000);
    expect(blocked.verdict.unsafeProbability).toBeCloseTo(0.98, 5);
    // A threshold above the window's P(unsafe) lets it through.
    const lenient = await runCheck(t, checkRequest('prompt', insertAt(base, 30_000, ' [[p:0.7]] '), { policy: { threshold: 0.8 } }));
    expect(lenient.verdict.safe).toBe(true);
    expect(lenient.verdict.unsafeProbability).toBeCloseTo(0.7, 5);
  });

  test('unsafe text straddling any cut between windows is seen whole by a window (seeded positions)', async () => {
    const text = longText(70_000, 24);
    const probe = await fastLongCheck(tk);
    await runCheck(probe, checkRequest('prompt', text));
    // Where each window's text starts in the text: the cuts lie just after the previous window's start.
    const starts = probe.received.map((r) => text.indexOf(r.user));
    const cuts = probe.received.slice(0, -1).map((r, i) => starts[i]! + r.user.length);
    expect(cuts.length).toBeGreaterThan(3);
    for (const cut of cuts) {
      for (const before of [1, 6, 12]) {
        const t = await fastLongCheck(tk);
        const marked = insertAt(text, cut - before, '[[unsafe]]');
        const { verdict } = await runCheck(t, checkRequest('prompt', marked));
        expect(verdict.safe, `marker ${before} before cut ${cut}`).toBe(false);
      }
    }
  });
});

describe('cancellation, and a wrong size guess', () => {
  test('a cancelled long check stops at the next window', async () => {
    const t = await fastLongCheck(tk);
    const controller = new AbortController();
    let calls = 0;
    const counting: Judge = async (engine, request, context) => {
      const result = await judgeFast(engine, request, context);
      if (++calls === 3) controller.abort(new AegisAbortError('The check was cancelled.'));
      return result;
    };
    const judge = windowed(counting);
    const error = await judge(t.engine, checkRequest('prompt', longText(200_000, 31)), judgeContext(controller.signal)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AegisAbortError);
    expect(calls).toBe(3);
  });

  test('a check cancelled while its text is being measured stops tokenizing', async () => {
    const controller = new AbortController();
    let encodes = 0;
    const t = await fastLongCheck(tk, {
      wrap: (session) =>
        delegateSession(session, {
          encode: async (text: string) => {
            if (++encodes === 10) controller.abort(new AegisAbortError('The check was cancelled.'));
            return session.encode(text);
          },
        }),
    });
    const error = await runCheck(t, checkRequest('prompt', longText(300_000, 32)), controller.signal).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AegisAbortError);
    // The abort is seen at the next time slice: a few more units at most, never the whole text (~1,000 units).
    expect(encodes).toBeLessThan(200);
    expect(t.engine.tokenStats.forwards).toEqual([]);
  });

  test('JSON path with a context window smaller than assumed: learned from the engine error, re-planned, every window fits', async () => {
    const strict = new StrictWindowEngine(tk, 2048);
    const t = await jsonLongCheck(strict);
    const text = longText(50_000, 33);
    const { verdict } = await runCheck(t, checkRequest('prompt', text));
    expect(verdict).toMatchObject({ safe: true });
    expect(strict.refused).toBeGreaterThan(0);
    const refusedFirst = strict.refused;
    expect(firstGap(text, t.received.map((r) => r.user))).toBeUndefined();
    // Learned: the next long check plans for 2,048 tokens from the start.
    await runCheck(t, checkRequest('prompt', longText(50_000, 34)));
    expect(strict.refused).toBe(refusedFirst);
  });

  test('JSON path: text the estimate undercounts is re-planned smaller until each window fits', async () => {
    const strict = new StrictWindowEngine(tk, 4096);
    const t = await jsonLongCheck(strict);
    // Rare symbols: several real tokens each, where the estimate counts about half a token.
    const random = seededRandom(35);
    const text = Array.from({ length: 6000 }, () => '⟁⟂⟃⟄⟅⟆⟇⟈'[Math.floor(random() * 8)]! + (random() < 0.15 ? ' ' : '')).join('');
    const { verdict } = await runCheck(t, checkRequest('prompt', text));
    expect(verdict.safe).toBe(true);
    expect(strict.refused).toBeGreaterThan(0);
    expect(firstGap(text, t.received.map((r) => r.user))).toBeUndefined();
  });

  test('a check that surely fits and still overflows is the engine failing: reported, not re-planned', async () => {
    const t = await jsonLongCheck();
    const error = await runCheck(t, checkRequest('prompt', 'short [[fault:context]]')).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ContextWindowExceededError);
    expect(t.received).toHaveLength(1);
  });
});

/** The scripted engine, refusing (as WebLLM does) a prompt longer than its context window, in real tokens. */
class StrictWindowEngine extends ScriptedEngine {
  refused = 0;
  constructor(
    private readonly tokenizer: Llama3Tokenizer,
    private readonly window: number,
  ) {
    super();
  }
  override async complete(prompt: string, options: CompleteOptions): Promise<Completion> {
    const tokens = this.tokenizer.encode(prompt).length;
    if (tokens > this.window) {
      this.refused++;
      throw new ContextWindowExceededError(`Prompt tokens exceed context window size: ${tokens} > ${this.window}`, tokens, this.window);
    }
    return super.complete(prompt, options);
  }
}
