/**
 * Nested prefix reuse (prefix-cache.ts) against the scripted KV-cache model with the real Llama-3
 * tokenizer: what a reply check, a stream's chunk checks and a reply's windows prefill after the checks
 * before them, that they read exactly what a fresh check reads, and that a stale or wrong level changes the
 * outcome (the scripted model computes its answer from the cached ids, so nothing here can pass by luck).
 */
import { beforeAll, describe, expect, test } from 'vitest';
import { defuseUntrustedText } from '../../src/core/sanitize.js';
import { VERDICT_TOKEN_IDS } from '../../src/core/tokens.js';
import type { TokenSession } from '../../src/engine/engine.js';
import { Chunker } from '../../src/stream/chunker.js';
import { STREAM_DEFAULTS } from '../../src/stream/guard-stream.js';
import { judgeFast } from '../../src/worker/fast-judge.js';
import { fastPromptParts, RESPONSE_BRIDGE } from '../../src/worker/fast-prompt.js';
import type { Judgement } from '../../src/worker/judge.js';
import { NODE_SPEC, NodeFastEngine, checkRequest, judgeContext, type NodeFastEngineOptions } from '../helpers/node-fast-engine.js';
import type { TextTokenizer } from '../helpers/scripted-token-session.js';
import { seededRandom } from '../helpers/prng.js';
import { seededText, seededTexts } from '../helpers/seeded-texts.js';
import { skewedSession } from '../helpers/skewed-session.js';
import { loadLlama3Tokenizer, type Llama3Tokenizer } from './core-llama3-tokenizer.js';

let tk: Llama3Tokenizer;
let prefixLength: number;
let bridgeLength: number;
beforeAll(async () => {
  tk = await loadLlama3Tokenizer();
  prefixLength = tk.encode(fastPromptParts({ user: '' }).prefix).length;
  bridgeLength = tk.encode(RESPONSE_BRIDGE).length;
});

async function engineWith(options: NodeFastEngineOptions = {}): Promise<NodeFastEngine> {
  const engine = new NodeFastEngine(tk, { contextWindow: 8192, ...options });
  await engine.load(NODE_SPEC);
  return engine;
}

const suffixLength = (user: string, response?: string) => tk.encode(fastPromptParts({ user, response }).suffix).length;
/** Tokens of ` user\n\n` (level 2) and of ` user\n\nresponse: agent:` (level 3), as the judge places them. */
const userLevel = (user: string) => tk.encode(` ${defuseUntrustedText(user)}\n\n`).length;
const replyLevel = (user: string) => tk.encode(` ${defuseUntrustedText(user)}\n\nresponse: agent:`).length;

const promptCheck = (engine: NodeFastEngine, user: string) => judgeFast(engine, checkRequest('prompt', user), judgeContext());
const replyCheck = (engine: NodeFastEngine, user: string, response: string) =>
  judgeFast(engine, checkRequest('response', user, { response }), judgeContext());

/** What a verdict says, without its timings. */
const reading = (j: Judgement) => ({ rating: j.rating, categories: j.categories, p: j.unsafeProbability, raw: j.raw, failure: j.failure });

/** The forwards a check made (a copy of the session's counters since `from`). */
const forwardsSince = (engine: NodeFastEngine, from: number) => engine.tokenStats.forwards.slice(from);

const MARKERS = ['', '', ' [[unsafe:Violence]]', ' [[p:0.7]]', ' [[unsafe:Threat, Fraud/Deception]]', ' [[p:0.3]]'];

describe('a reply check after the prompt check of the same message', () => {
  test('prefills only the reply part and the tail, and reads exactly what a fresh check reads', async () => {
    const user = 'Which phone should I buy?';
    const reply = 'Ours is nice. [[p:0.3]]';
    const warm = await engineWith();
    await promptCheck(warm, user);
    const before = warm.tokenStats.forwards.length;
    const j = await replyCheck(warm, user, reply);
    const fresh = await replyCheck(await engineWith(), user, reply);

    expect(reading(j)).toEqual(reading(fresh));
    expect(j.prefixReused).toBe(true);
    expect(forwardsSince(warm, before)).toEqual([
      replyLevel(user) - userLevel(user), // `response: agent:`: level 3, for later chunk checks
      suffixLength(user, reply) - replyLevel(user), // the reply, the closing template, the answer opening
      1 + bridgeLength, // the user rating and `", "Response Safety": "`
    ]);
    expect(j.promptTokens).toBe(suffixLength(user, reply) - userLevel(user) + bridgeLength);
    expect(fresh.promptTokens - j.promptTokens).toBe(prefixLength + userLevel(user));
    expect(warm.tokenStats.truncates.at(-1)).toBe(prefixLength + userLevel(user));
  });

  test('for seeded texts (special-token spellings, turn labels, odd whitespace): same readings, the user part never prefilled twice', async () => {
    const random = seededRandom(14);
    const warm = await engineWith();
    const fresh = await engineWith();
    for (let i = 0; i < 40; i++) {
      const user = seededText(random, 3 + Math.floor(random() * 20)) + MARKERS[i % MARKERS.length];
      const reply = seededText(random, 3 + Math.floor(random() * 40)) + MARKERS[(i * 5 + 1) % MARKERS.length];
      const asPrompt = await promptCheck(warm, user);
      expect(reading(asPrompt)).toEqual(reading(await promptCheck(fresh, user)));
      const asReply = await replyCheck(warm, user, reply);
      await fresh.scriptedSession.reset();
      const freshReply = await replyCheck(fresh, user, reply);
      expect(reading(asReply), JSON.stringify({ user, reply })).toEqual(reading(freshReply));
      expect(freshReply.promptTokens - asReply.promptTokens).toBe(prefixLength + userLevel(user));
    }
  });
});

describe('a streamed reply', () => {
  const random = seededRandom(7);
  const prompt = seededTexts(70, 1, 300)[0]!;
  const reply = Array.from({ length: 12 }, (_, i) => seededText(random, 60, 0.1) + (i === 9 ? ' [[p:0.4]].' : '.')).join(' ');

  function chunkTexts(): string[] {
    const chunker = new Chunker(STREAM_DEFAULTS);
    const chunks = [];
    for (const word of reply.match(/\s*\S+|\s+/g) ?? []) chunks.push(...chunker.push(word));
    chunks.push(...chunker.finish());
    return chunks.filter((c) => !c.blank).map((c) => c.checkText);
  }

  test('keeps [prefix + prompt + response: agent:] for every chunk check after the first, with the prompt sent whole', async () => {
    const texts = chunkTexts();
    expect(texts.length).toBeGreaterThan(3);
    const warm = await engineWith();
    await promptCheck(warm, prompt);
    for (const [k, text] of texts.entries()) {
      const before = warm.tokenStats.forwards.length;
      const j = await replyCheck(warm, prompt, text);
      const kept = k === 0 ? userLevel(prompt) : replyLevel(prompt);
      expect(j.promptTokens, `chunk ${k}`).toBe(suffixLength(prompt, text) - kept + bridgeLength);
      expect(forwardsSince(warm, before).at(-2)).toBe(suffixLength(prompt, text) - replyLevel(prompt));
      // Every few chunks: the same reading as a fresh check of the same chunk.
      if (k % 3 === 0 || k === texts.length - 1) expect(reading(j)).toEqual(reading(await replyCheck(await engineWith(), prompt, text)));
    }
    // The long prompt was prefilled once, by its prompt check.
    expect(warm.tokenStats.prefillsFromEmpty).toBe(1);
  });

  test('windows of one reply (each a normal judge call) reuse the same level', async () => {
    const warm = await engineWith();
    const windows = ['first window of the reply', 'second window [[unsafe:Threat]]', 'third window'];
    const results = [];
    for (const w of windows) {
      const before = warm.tokenStats.forwards.length;
      const j = await replyCheck(warm, prompt, w);
      // Only the window itself, the closing template and the answer opening are prefilled after the first.
      if (results.length > 0) expect(forwardsSince(warm, before)[0]).toBe(suffixLength(prompt, w) - replyLevel(prompt));
      results.push(j);
    }
    expect(results.map((j) => j.prefixReused)).toEqual([false, true, true]);
    expect(results.map((j) => j.rating)).toEqual(['safe', 'unsafe', 'safe']);
    expect(results[1]!.categories).toEqual([{ code: 'S11', name: 'Threat' }]);
  });
});

describe('a stale or wrong level changes the outcome', () => {
  // The user text carries the model's whole answer, reply rating included: one token of it decides.
  const user = 'q [[raw:{"User Safety": "safe", "Response Safety": "safe"}]]';
  const reply = 'a harmless reply';

  /** Index of the last cached `safe` token of the user text (inside the level a reply check keeps). */
  function lastSafeInUserLevel(engine: NodeFastEngine): number {
    const ids = engine.scriptedSession.contents();
    const end = prefixLength + userLevel(user);
    const index = ids.lastIndexOf(VERDICT_TOKEN_IDS.safe, end - 1);
    expect(index).toBeGreaterThan(prefixLength);
    return index;
  }

  test('the exact level: the reply is safe', async () => {
    const engine = await engineWith();
    await promptCheck(engine, user);
    expect(await replyCheck(engine, user, reply)).toMatchObject({ rating: 'safe', prefixReused: true });
  });

  test('one stale token in the kept level, unnoticed by the engine: the model reads "unsafe" and the verdict flips', async () => {
    const engine = await engineWith();
    await promptCheck(engine, user);
    engine.scriptedSession.replaceAt(lastSafeInUserLevel(engine), VERDICT_TOKEN_IDS.unsafe);
    expect(await replyCheck(engine, user, reply)).toMatchObject({ rating: 'unsafe', prefixReused: true });
  });

  test('the same stale token with the engine’s epoch changed: no level is trusted, the reply is safe again', async () => {
    const engine = await engineWith();
    await promptCheck(engine, user);
    engine.scriptedSession.replaceAt(lastSafeInUserLevel(engine), VERDICT_TOKEN_IDS.unsafe, true);
    expect(await replyCheck(engine, user, reply)).toMatchObject({ rating: 'safe', prefixReused: false });
    expect(engine.tokenStats.prefillsFromEmpty).toBe(2);
  });

  test('a cache refilled with the same ids in a new epoch is not reused', async () => {
    const engine = await engineWith();
    await promptCheck(engine, user);
    const ids = [...engine.scriptedSession.contents()];
    await engine.scriptedSession.reset();
    await engine.scriptedSession.forward(ids);
    const before = engine.tokenStats.forwards.length;
    expect(await replyCheck(engine, user, reply)).toMatchObject({ rating: 'safe', prefixReused: false });
    expect(forwardsSince(engine, before)[0]).toBeLessThan(prefixLength);
  });

  describe('a rollback to the user level that is off by one', () => {
    async function replyAfterPrompt(skew: number) {
      const engine = await engineWith({ wrap: (s) => skewedSession(s, skew) });
      await promptCheck(engine, user);
      return replyCheck(engine, user, reply).then(
        (j) => ({ rating: j.rating, judged: engine.tokenStats.judgedUsers.at(-1) }),
        (e: unknown) => ({ error: String(e) }),
      );
    }
    test('exact', async () => {
      expect(await replyAfterPrompt(0)).toEqual({ rating: 'safe', judged: user });
    });
    test('one token of the prompt check’s tail kept ("<" of <END CONVERSATION>): the model reads no reply at all', async () => {
      // "…\n\n<response: agent: …" is no reply label: the whole rest is read as the user's text.
      expect(await replyAfterPrompt(1)).toEqual({ rating: 'safe', judged: `${user}\n\n<response: agent: ${reply}` });
    });
    test('the blank line after the user text popped: the model reads another conversation', async () => {
      const result = await replyAfterPrompt(-1);
      expect(result).not.toEqual({ rating: 'safe', judged: user });
    });
  });

  test('a reply check on another prompt keeps only the template prefix and judges its own prompt', async () => {
    const engine = await engineWith();
    await promptCheck(engine, 'tell me about cats');
    const j = await replyCheck(engine, 'tell me about cats [[unsafe]]', 'Sure. [[unsafe:Violence]]');
    expect(j).toMatchObject({ rating: 'unsafe', prefixReused: true, raw: '{"User Safety": "unsafe", "Response Safety": "unsafe", "Safety Categories": "Violence' + '"}' });
    expect(engine.tokenStats.judgedUsers.at(-1)).toBe('tell me about cats [[unsafe]]');
    expect(engine.tokenStats.truncates.at(-1)).toBe(prefixLength);
  });

  test('a level where the tokenizer does not split is not used: the check falls back to the template prefix', async () => {
    // A tokenizer that tokenizes a text ending in a blank line differently on its own than inside a longer
    // text: the user level is then not a token boundary.
    const splitting: TextTokenizer = {
      encode: (text) => (text.endsWith('\n\n') ? [...tk.encode(text.slice(0, -2)), ...tk.encode('\n'), ...tk.encode('\n')] : tk.encode(text)),
      decode: (ids) => tk.decode(ids),
    };
    const engine = new NodeFastEngine(splitting, { contextWindow: 8192 });
    await engine.load(NODE_SPEC);
    const session: TokenSession = engine.tokens()!;
    expect(await session.encode(' hello\n\n')).not.toEqual((await session.encode(' hello\n\nresponse: agent: hi')).slice(0, 3));
    await promptCheck(engine, 'hello');
    const j = await replyCheck(engine, 'hello', 'hi [[p:0.2]]');
    expect(j).toMatchObject({ rating: 'safe', prefixReused: true });
    expect(j.unsafeProbability).toBeCloseTo(0.2, 6);
    expect(engine.tokenStats.truncates.at(-1)).toBe(prefixLength);
    expect(j.promptTokens).toBe(suffixLength('hello', 'hi [[p:0.2]]') + bridgeLength);
  });
});

describe('after a failed forward', () => {
  test('one that failed before touching the cache (same length, same epoch) keeps what the cache holds', async () => {
    const engine = await engineWith();
    await promptCheck(engine, 'first');
    await expect(promptCheck(engine, 'boom [[fault:engine]]')).rejects.toThrow('Scripted engine failure');
    expect(await promptCheck(engine, 'after')).toMatchObject({ rating: 'safe', prefixReused: true });
    expect(engine.tokenStats.prefillsFromEmpty).toBe(1);
  });

  test('one that failed after appending (the engine changes its epoch): the next check starts from an empty cache', async () => {
    const engine = await engineWith();
    await promptCheck(engine, 'first');
    // An answer the scripted model cannot continue after the forced category opening: its forward fails
    // once the tokens are in the cache.
    await expect(promptCheck(engine, '[[raw:{"User Safety": "unsafe", "User Safety": "safe"}]]')).rejects.toThrow('would not write');
    const j = await promptCheck(engine, 'after [[unsafe:Threat]]');
    expect(j).toMatchObject({ rating: 'unsafe', categories: [{ code: 'S11', name: 'Threat' }], prefixReused: false });
    expect(engine.tokenStats.prefillsFromEmpty).toBe(2);
  });

  test('a forward cancelled as it reaches the session is refused there and leaves the cache trusted', async () => {
    const controller = new AbortController();
    // Cancels the check while its user part is being handed to the session (which then refuses it unapplied).
    const cancelSlow = (inner: TokenSession): TokenSession => ({
      contextWindow: inner.contextWindow,
      encode: (t) => inner.encode(t),
      decode: (ids) => inner.decode(ids),
      kvLength: () => inner.kvLength(),
      cacheEpoch: () => inner.cacheEpoch(),
      reset: () => inner.reset(),
      truncate: (n) => inner.truncate!(n),
      forward: (ids, signal) => {
        if (tk.decode(ids).includes('slow')) controller.abort(new Error('cancelled'));
        return inner.forward(ids, signal);
      },
    });
    const engine = await engineWith({ wrap: cancelSlow });
    await promptCheck(engine, 'first');
    const forwards = engine.tokenStats.forwards.length;
    await expect(judgeFast(engine, checkRequest('prompt', 'slow one'), judgeContext(controller.signal))).rejects.toThrow('cancelled');
    expect(engine.tokenStats.forwards.length).toBe(forwards);
    expect(await promptCheck(engine, 'after the cancel')).toMatchObject({ prefixReused: true });
    expect(engine.tokenStats.prefillsFromEmpty).toBe(1);
  });
});
