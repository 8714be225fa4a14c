/**
 * The fast judge against the scripted KV-cache model with the real Llama-3 tokenizer (no worker): what it
 * forwards, when it decodes, how it rolls back, and that it reads the same answers as the JSON judge.
 */
import { beforeAll, describe, expect, test } from 'vitest';
import { AegisAbortError, ContextWindowExceededError } from '../../src/core/errors.js';
import { renderCheckPrefix } from '../../src/core/prompt.js';
import type { CustomCategory } from '../../src/core/types.js';
import { judgeFast } from '../../src/worker/fast-judge.js';
import { CATEGORIES_OPENING } from '../../src/worker/category-decode.js';
import { fastPromptParts } from '../../src/worker/fast-prompt.js';
import { judgeByJson } from '../../src/worker/json-judge.js';
import { AGREEMENT_CASES, COMPETITOR } from '../helpers/agreement-cases.js';
import { NODE_SPEC, NodeFastEngine, checkRequest, judgeContext, type NodeFastEngineOptions } from '../helpers/node-fast-engine.js';
import { scriptedAnswer } from '../helpers/scripted-engine.js';
import { skewedSession, type RollbackSkew } from '../helpers/skewed-session.js';
import { loadLlama3Tokenizer, type Llama3Tokenizer } from './core-llama3-tokenizer.js';

let tk: Llama3Tokenizer;
let prefixLength: number;
beforeAll(async () => {
  tk = await loadLlama3Tokenizer();
  prefixLength = tk.encode(renderCheckPrefix()).length;
});

async function engineWith(options: NodeFastEngineOptions = {}): Promise<NodeFastEngine> {
  const engine = new NodeFastEngine(tk, options);
  await engine.load(NODE_SPEC);
  return engine;
}

const suffixLength = (user: string, response?: string, categories?: CustomCategory[]) =>
  tk.encode(fastPromptParts({ user, response }, { categories }).suffix).length;
/** Tokens of the user part of a check (a space, the user text, the blank line): its own cache level. */
const userPartLength = (user: string) => tk.encode(` ${user}\n\n`).length;
/** Tokens of the template up to the end of the Aegis category lines (the first level of every prefix). */
const taxonomyHeadLength = () => tk.encode(fastPromptParts({ user: '' }).prefixLevels[0]!).length;
/** Tokens a piece of the answer adds after `context` (how the judge's trie tokenizes it). */
const piece = (context: string, text: string) => tk.encode(context + text).length - tk.encode(context).length;

describe('prompt checks', () => {
  test('the prefix is prefilled once; a safe check then costs one suffix prefill and no decode step', async () => {
    const engine = await engineWith();
    const ctx = judgeContext();
    const first = await judgeFast(engine, checkRequest('prompt', 'How do I bake bread?'), ctx);
    expect(first).toMatchObject({ rating: 'safe', categories: [], raw: '{"User Safety": "safe', prefixReused: false, completionTokens: 0 });
    expect(first.unsafeProbability).toBeCloseTo(0.02, 6);
    expect(first.promptTokens).toBe(prefixLength + suffixLength('How do I bake bread?'));
    expect(ctx.decisions).toHaveLength(1);
    expect(ctx.decisions[0]).toMatchObject({ target: 'prompt', rating: 'safe' });

    const second = await judgeFast(engine, checkRequest('prompt', 'And rye bread?'), judgeContext());
    expect(second).toMatchObject({ rating: 'safe', prefixReused: true, completionTokens: 0 });
    expect(second.promptTokens).toBe(suffixLength('And rye bread?'));

    const s = engine.tokenStats;
    // Forwarded in the same segments every time, ending at the cache levels: the Aegis part of the
    // template, the rest of the prefix, the user part, the rest.
    const head = taxonomyHeadLength();
    const user1 = userPartLength('How do I bake bread?');
    const user2 = userPartLength('And rye bread?');
    expect(s.forwards).toEqual([
      head,
      prefixLength - head,
      user1,
      suffixLength('How do I bake bread?') - user1,
      user2,
      suffixLength('And rye bread?') - user2,
    ]);
    expect(s.prefillsFromEmpty).toBe(1);
    // Check 2 rolled back only what it does not share; its own tokens stay for the next check to compare.
    expect(s.truncates).toEqual([prefixLength]);
    expect(engine.scriptedSession.kvLength()).toBe(prefixLength + suffixLength('And rye bread?'));
  });

  test('an unsafe prompt decodes its categories, jumping over the tokens a listed name forces', async () => {
    const engine = await engineWith();
    const user = 'teach me [[unsafe:Violence, Fraud/Deception, Made Up Thing]]';
    const j = await judgeFast(engine, checkRequest('prompt', user), judgeContext());
    const answer = scriptedAnswer(user, undefined);
    expect(j.raw).toBe(answer);
    expect(j.rating).toBe('unsafe');
    expect(j.unsafeProbability).toBeCloseTo(0.98, 6);
    expect(j.categories).toEqual([
      { code: 'S1', name: 'Violence' },
      { code: 'S16', name: 'Fraud/Deception' },
      { code: null, name: 'Made Up Thing' },
    ]);
    const list = '{"User Safety": "unsafe' + CATEGORIES_OPENING;
    expect(engine.tokenStats.forwards.slice(-9)).toEqual([
      1, // the rating word: then close, or list?
      piece('{"User Safety": "unsafe', CATEGORIES_OPENING), // `",` chosen, the rest of `", "Safety Categories": "` forced: which name?
      piece(list, 'Violence'), // "Viol" chosen, "ence" forced: another or close?
      1, // "," chosen: which name?
      piece(`${list}Violence,`, ' Fraud/Deception'), // " Fraud" chosen, "/Deception" forced: another or close?
      1, // "," chosen: which name? " Made" is not listed: plain greedy decoding from here,
      1, // " Made"
      1, // " Up"
      1, // " Thing" (then `"}` ends the answer without being forwarded)
    ]);
    expect(j.completionTokens).toBe(9);
  });

  test('wantCategories decodes a safe answer too (one step: the model closes the object)', async () => {
    const engine = await engineWith();
    const j = await judgeFast(engine, checkRequest('prompt', 'hello there', { wantCategories: true }), judgeContext());
    expect(j).toMatchObject({ rating: 'safe', categories: [], raw: '{"User Safety": "safe"}', completionTokens: 1 });
  });

  test('a safe rating is announced early only once nothing more is read: an unreadable rest fails closed unannounced', async () => {
    const engine = await engineWith();
    const good = judgeContext();
    const j = await judgeFast(engine, checkRequest('prompt', 'hello there', { wantCategories: true }), good);
    expect(j.rating).toBe('safe');
    expect(good.decisions).toEqual([expect.objectContaining({ rating: 'safe' })]);

    // The model rates safe, then its answer breaks off inside the list: the parser refuses the whole answer.
    const user = 'hi [[raw:{"User Safety": "safe", "Safety Categories": "Violence]]';
    const bad = judgeContext();
    const k = await judgeFast(engine, checkRequest('prompt', user, { wantCategories: true }), bad);
    expect(k).toMatchObject({ rating: 'unsafe', failure: 'truncated' });
    expect(bad.decisions.filter((d) => d.rating === 'safe')).toEqual([]);
  });

  test.each([
    // text, threshold, expected rating, categories decoded
    ['maybe [[p:0.6]]', 0.5, 'unsafe', ['Needs Caution']],
    ['maybe [[p:0.6]]', 0.7, 'safe', []],
    // Below the model's own choice: the threshold forces 'unsafe' and the model goes on from there.
    ['borderline [[p:0.4]] [[unsafe:Threat]]', 0.3, 'unsafe', ['Threat']],
    ['borderline [[p:0.4]] [[unsafe:Threat]]', 0.5, 'safe', []],
    ['clearly bad [[unsafe]]', 0.99, 'safe', []],
    ['clearly bad [[unsafe]]', 0.95, 'unsafe', ['Violence']],
  ] as const)('threshold policy: %s at threshold %s is %s', async (text, threshold, rating, names) => {
    const engine = await engineWith();
    const j = await judgeFast(engine, checkRequest('prompt', text, { policy: { threshold } }), judgeContext());
    expect(j.rating).toBe(rating);
    expect(j.categories.map((c) => c.name)).toEqual(names);
    expect(j.completionTokens > 0).toBe(rating === 'unsafe');
  });
});

describe('reply checks', () => {
  test('the user rating, the reply field and the reply rating follow the model’s order in one extra forward', async () => {
    const engine = await engineWith();
    const j = await judgeFast(engine, checkRequest('response', 'Which phone?', { response: 'Ours is nice. [[p:0.3]]' }), judgeContext());
    expect(j).toMatchObject({ rating: 'safe', completionTokens: 1, raw: '{"User Safety": "safe", "Response Safety": "safe' });
    expect(j.unsafeProbability).toBeCloseTo(0.3, 6);
    expect(j.promptTokens).toBe(prefixLength + suffixLength('Which phone?', 'Ours is nice. [[p:0.3]]') + 6);
    expect(engine.tokenStats.forwards.at(-1)).toBe(7);
  });

  test('an unsafe user turn does not block a safe reply; an unsafe reply decodes its categories', async () => {
    const engine = await engineWith();
    const refusal = await judgeFast(engine, checkRequest('response', 'hurt someone [[unsafe]]', { response: 'I cannot help.' }), judgeContext());
    expect(refusal).toMatchObject({ rating: 'safe', categories: [], raw: '{"User Safety": "unsafe", "Response Safety": "safe' });
    const user = 'tell me a story';
    const reply = 'Here is how [[unsafe:Violence]]';
    const harmful = await judgeFast(engine, checkRequest('response', user, { response: reply }), judgeContext());
    expect(harmful).toMatchObject({ rating: 'unsafe', categories: [{ code: 'S1', name: 'Violence' }], raw: scriptedAnswer(user, reply) });
    // The bridge forward, then: close or list, which name, another or close.
    expect(harmful.completionTokens).toBe(1 + 3);
  });
});

describe('the fast path and the JSON path read the same answers', () => {
  test.each(AGREEMENT_CASES)('$name', async ({ target, user, response, leavesListFormat }) => {
    const engine = await engineWith();
    for (const wantCategories of [true, false]) {
      const request = checkRequest(target, user, { response, categories: COMPETITOR, wantCategories });
      const json = await judgeByJson(engine, request, judgeContext());
      if (leavesListFormat) {
        expect(json).toMatchObject({ rating: 'unsafe', failure: expect.any(String) });
        await expect(judgeFast(engine, request, judgeContext())).rejects.toThrow('would not write');
        continue;
      }
      const fast = await judgeFast(engine, request, judgeContext());
      expect(fast.failure).toBe(json.failure);
      expect(fast.rating).toBe(json.rating);
      // Without wantCategories a safe verdict stops before the categories.
      if (wantCategories || fast.rating === 'unsafe') expect(fast.categories).toEqual(json.categories);
      if (!json.failure && (wantCategories || fast.rating === 'unsafe')) expect(fast.raw).toBe(json.raw);
    }
  });
});

describe('prefix reuse', () => {
  test('without truncate every check resets and prefills prefix + suffix in one forward, with the same verdicts', async () => {
    const withRollback = await engineWith();
    const without = await engineWith({ rollback: false });
    const texts = ['first question', 'bad one [[unsafe:Threat]]', 'third [[p:0.3]]'];
    for (const text of texts) {
      const a = await judgeFast(withRollback, checkRequest('prompt', text), judgeContext());
      const before = without.tokenStats.forwards.length;
      const b = await judgeFast(without, checkRequest('prompt', text), judgeContext());
      expect(b).toMatchObject({ rating: a.rating, categories: a.categories, raw: a.raw, prefixReused: false, completionTokens: a.completionTokens });
      expect(b.unsafeProbability).toBe(a.unsafeProbability);
      // One forward of the whole prompt, then the same decode steps.
      expect(without.tokenStats.forwards[before]).toBe(prefixLength + suffixLength(text));
      expect(without.tokenStats.forwards.length - before).toBe(1 + b.completionTokens);
    }
    expect(without.tokenStats.resets).toBe(3);
    expect(without.tokenStats.prefillsFromEmpty).toBe(3);
    expect(without.tokenStats.truncates).toEqual([]);
  });

  test('a different custom-category set re-prefills only the part of the prefix that differs', async () => {
    const engine = await engineWith();
    const a = [{ name: 'Spoilers', description: 'Plot twists.' }];
    const b = [{ name: 'Medical Advice' }];
    const prefixB = tk.encode(renderCheckPrefix({ categories: b }));
    const head = taxonomyHeadLength();
    // The two prefixes agree on the Aegis category lines, where the first cache level ends.
    expect(tk.encode(renderCheckPrefix({ categories: a })).slice(0, head)).toEqual(prefixB.slice(0, head));
    await judgeFast(engine, checkRequest('prompt', 'x', { categories: a }), judgeContext());
    const text = 'the butler did it [[unsafe:Spoilers]]';
    const before = engine.tokenStats.forwards.length;
    const j = await judgeFast(engine, checkRequest('prompt', text, { categories: b }), judgeContext());
    expect(j.prefixReused).toBe(false);
    expect(engine.tokenStats.truncates).toContain(head);
    expect(engine.tokenStats.forwards.slice(before, before + 3)).toEqual([
      prefixB.length - head,
      userPartLength(text),
      suffixLength(text, undefined, b) - userPartLength(text),
    ]);
    // 'Spoilers' is not a category of this prompt any more: the name is kept, with no code.
    expect(j.categories).toEqual([{ code: null, name: 'Spoilers' }]);
    const back = await judgeFast(engine, checkRequest('prompt', text, { categories: a }), judgeContext());
    expect(back.categories).toEqual([{ code: 'S24', name: 'Spoilers' }]);
    expect(engine.tokenStats.prefillsFromEmpty).toBe(1);
  });

  test('a cache changed behind the judge’s back is detected and the prefix prefilled again', async () => {
    const engine = await engineWith();
    await judgeFast(engine, checkRequest('prompt', 'one'), judgeContext());
    await engine.scriptedSession.reset();
    const j = await judgeFast(engine, checkRequest('prompt', 'two [[unsafe]]'), judgeContext());
    expect(j).toMatchObject({ rating: 'unsafe', prefixReused: false });
    expect(engine.tokenStats.prefillsFromEmpty).toBe(2);
  });

  describe('a wrong rollback is caught by the KV model', () => {
    // After check 1 the cache should hold exactly the prefix. Check 2 is judged on top of whatever is left.
    const check1 = '[[ nothing to see here';
    const check2 = 'unsafe]] hello';
    async function secondCheck(skew: RollbackSkew) {
      const engine = await engineWith({ wrap: (s) => skewedSession(s, skew) });
      await judgeFast(engine, checkRequest('prompt', check1), judgeContext());
      return judgeFast(engine, checkRequest('prompt', check2), judgeContext()).then(
        (j) => ({ rating: j.rating, judged: engine.tokenStats.judgedUsers.at(-1) }),
        (e: unknown) => ({ error: String(e) }),
      );
    }

    test('the exact rollback judges check 2 alone', async () => {
      expect(await secondCheck(0)).toEqual({ rating: 'safe', judged: check2 });
    });
    test('one stale token kept: the model sees "[[ unsafe]]" and the verdict flips', async () => {
      expect(tk.encode(` ${check1}`)[0]).toBe(tk.encode(' [[')[0]);
      expect(await secondCheck(1)).toEqual({ rating: 'unsafe', judged: `[[ ${check2}` });
    });
    test('one prefix token popped: the conversation block is broken and the check fails', async () => {
      expect(await secondCheck(-1)).toEqual({ error: expect.stringContaining('no well-formed conversation block') });
    });
    test('no rollback at all: check 1 is still in the cache and the check fails', async () => {
      expect(await secondCheck('ignored')).toEqual({ error: expect.stringContaining('would not write') });
    });
  });
});

describe('limits and cancellation', () => {
  test('a check that does not fit the context window fails before forwarding, and the prefix survives', async () => {
    const engine = await engineWith({ contextWindow: 512 });
    await judgeFast(engine, checkRequest('prompt', 'short'), judgeContext());
    const forwards = engine.tokenStats.forwards.length;
    const long = 'word '.repeat(200);
    const error = await judgeFast(engine, checkRequest('prompt', long), judgeContext()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ContextWindowExceededError);
    expect((error as ContextWindowExceededError).promptTokens).toBe(prefixLength + suffixLength(long));
    expect(engine.tokenStats.forwards.length).toBe(forwards);
    expect(await judgeFast(engine, checkRequest('prompt', 'short again'), judgeContext())).toMatchObject({ prefixReused: true });
  });

  // Each check is held inside the forward of the phase named (`[[hold]]`: that chunk's forward, `[[tokhold]]`:
  // every decode step) and cancelled only once it is provably there, whatever the machine's speed.
  const heldPrefix = [{ name: 'Spoilers', description: 'Plot twists. [[hold]]' }];
  test.each([
    // Held in the second forward (the custom category's part of the prefix); only the Aegis part went through.
    ['prefix prefill', 'hello', heldPrefix, 1, false],
    // Held in the user part's forward: the whole prefix went through.
    ['check prefill', 'hello [[hold]]', undefined, 2, true],
    // Held in the first decode step after the whole prompt (4 forwards), the decision already announced.
    ['category decoding', 'bad [[unsafe:Violence, Threat, Fraud/Deception]] [[tokhold]]', undefined, 4, true],
  ] as const)('cancelling during the %s rejects, and the next check is right', async (phase, text, categories, forwardsDone, prefixSurvives) => {
    const engine = await engineWith();
    const controller = new AbortController();
    const ctx = judgeContext(controller.signal);
    const request = checkRequest('prompt', text, { categories: categories ? [...categories] : undefined });
    const outcome = judgeFast(engine, request, ctx).then(() => 'resolved', (e: unknown) => e);
    await expect.poll(() => engine.stats.held).toBe(1);
    expect(engine.tokenStats.forwards).toHaveLength(forwardsDone);
    expect(ctx.decisions).toEqual(phase === 'category decoding' ? [expect.objectContaining({ rating: 'unsafe' })] : []);
    controller.abort(new AegisAbortError('The check was cancelled.'));
    expect(await outcome).toBeInstanceOf(AegisAbortError);
    expect(engine.tokenStats.forwards).toHaveLength(forwardsDone);
    const next = await judgeFast(engine, checkRequest('prompt', 'after [[unsafe:Threat]]'), judgeContext());
    expect(next).toMatchObject({ rating: 'unsafe', categories: [{ code: 'S11', name: 'Threat' }] });
    // The plain prefix was cached by the first check unless its own prefill was the one cancelled.
    expect(next.prefixReused).toBe(prefixSurvives);
  });
});
