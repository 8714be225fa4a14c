/**
 * The persistent verdict cache (src/client/persistent-verdicts.ts) in real Chromium with real IndexedDB and
 * Cache Storage, through real guards (client, worker, Comlink) over the scripted engine. A "returning
 * visitor" is a new guard with a new worker on the same origin; the engine's counters show whether the
 * model was asked.
 */
import { afterEach, beforeEach, describe, expect, test, vi } from 'vitest';
import { createGuard } from '../../src/client/create-guard.js';
import { clearStoredVerdicts, storedVerdictsWritten, VERDICT_DB_NAME } from '../../src/client/persistent-verdicts.js';
import type { GuardOptions } from '../../src/client/types.js';
import { AegisInputError } from '../../src/core/errors.js';
import type { Verdict } from '../../src/core/types.js';
import { createTestGuard, type TestGuard } from '../helpers/test-guard.js';

const MODEL_A = '/__fixtures/persist/scripted-a/';
const MODEL_B = '/__fixtures/persist/scripted-b/';
const FAST_A = '/__fixtures/persist/scripted-fast-a/';

const guards: TestGuard[] = [];
function guard(options: GuardOptions = {}): TestGuard {
  const t = createTestGuard({ model: MODEL_A, ...options });
  guards.push(t);
  return t;
}

beforeEach(() => clearStoredVerdicts());
afterEach(async () => {
  for (const t of guards.splice(0)) t.guard.dispose();
  await storedVerdictsWritten();
});

/** Every entry in the verdict database, read directly. */
async function storedEntries(): Promise<{ verdicts: Array<{ key: string; usedAt: number; verdict: unknown }>; meta: unknown[] }> {
  await storedVerdictsWritten();
  const db = await new Promise<IDBDatabase>((resolve, reject) => {
    const request = indexedDB.open(VERDICT_DB_NAME);
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
  try {
    const tx = db.transaction(['verdicts', 'meta']);
    const all = (name: string) =>
      new Promise<unknown[]>((resolve, reject) => {
        const request = tx.objectStore(name).getAll();
        request.onsuccess = () => resolve(request.result);
        request.onerror = () => reject(request.error);
      });
    const [verdicts, meta] = await Promise.all([all('verdicts'), all('meta')]);
    return { verdicts: verdicts as Array<{ key: string; usedAt: number; verdict: unknown }>, meta };
  } finally {
    db.close();
  }
}

/** What a verdict says, without where it came from and what it cost. */
const said = (v: Verdict) => ({ safe: v.safe, target: v.target, rating: v.rating, categories: v.categories, p: v.unsafeProbability, raw: v.raw });

describe('a returning visitor', () => {
  test('gets the stored verdicts of the same texts, as source "cache", without the model being asked', async () => {
    const texts = ['How long should dough rise?', 'how to hurt someone [[unsafe:Violence, Threat]]', 'fine words here'];
    const first = guard();
    const judged = await Promise.all(texts.map((t) => first.guard.checkPrompt(t)));
    const reply = await first.guard.checkResponse('tell me', 'Here is how [[unsafe:Fraud/Deception]]');
    expect([...judged, reply].map((v) => v.source)).toEqual(['model', 'model', 'model', 'model']);
    first.guard.dispose();

    const second = guard();
    const recalled = await Promise.all(texts.map((t) => second.guard.checkPrompt(t)));
    const recalledReply = await second.guard.checkResponse('tell me', 'Here is how [[unsafe:Fraud/Deception]]');
    expect([...recalled, recalledReply].map((v) => v.source)).toEqual(['cache', 'cache', 'cache', 'cache']);
    expect([...recalled, recalledReply].map(said)).toEqual([...judged, reply].map(said));
    expect(recalledReply).toMatchObject({ safe: false, categories: [{ code: 'S16', name: 'Fraud/Deception' }], tokens: { prompt: 0, completion: 0 } });
    await second.guard.ready;
    expect((await second.stats()).completions).toBe(0);
    // A text not seen before still goes to the model.
    expect((await second.guard.checkPrompt('something new')).source).toBe('model');
  });

  test('fast-path verdicts keep their probability', async () => {
    const first = guard({ model: FAST_A });
    const judged = await first.guard.checkPrompt('is this ok? [[p:0.6]]');
    expect(judged).toMatchObject({ source: 'model', safe: false });
    const second = guard({ model: FAST_A });
    const recalled = await second.guard.checkPrompt('is this ok? [[p:0.6]]');
    expect(recalled).toMatchObject({ source: 'cache', safe: false, rating: 'unsafe', categories: [{ code: 'S13', name: 'Needs Caution' }] });
    expect(recalled.unsafeProbability).toBeCloseTo(0.6, 5);
    await second.guard.ready;
    expect((await second.stats()).tokens.forwards).toEqual([]);
  });

  test('a long text judged in windows comes back with its windows and unsafe spans; another context window is another key', async () => {
    const text = `${'word '.repeat(40_000)}[[unsafe]]`;
    const small = { model: { weightsUrl: MODEL_A, contextWindow: 1024 } };
    const judged = await guard(small).guard.checkPrompt(text);
    expect(judged).toMatchObject({ source: 'model', safe: false });
    expect(judged.windows).toBeGreaterThanOrEqual(2);
    const recalled = await guard(small).guard.checkPrompt(text);
    expect(recalled).toMatchObject({ source: 'cache', safe: false, windows: judged.windows, unsafeSpans: judged.unsafeSpans });
    expect((await guard({ model: { weightsUrl: MODEL_A, contextWindow: 2048 } }).guard.checkPrompt(text)).source).toBe('model');
  });
});

describe('what is stored', () => {
  test('a salted SHA-256 digest and the model’s answer; never the texts', async () => {
    const t = guard();
    await t.guard.checkPrompt('my secret question about tulips');
    await t.guard.checkResponse('my secret question about tulips', 'a secret answer about roses [[unsafe:Threat]]');
    const { verdicts, meta } = await storedEntries();
    expect(verdicts).toHaveLength(2);
    const text = JSON.stringify({ verdicts, meta });
    for (const word of ['secret', 'tulips', 'roses']) expect(text).not.toContain(word);
    for (const entry of verdicts) expect(entry.key).toMatch(/^[0-9a-f]{64}$/);
    expect(verdicts.map((e) => e.verdict)).toContainEqual({
      safe: false,
      target: 'response',
      rating: 'unsafe',
      categories: [{ code: 'S11', name: 'Threat' }],
      raw: '{"User Safety": "safe", "Response Safety": "unsafe", "Safety Categories": "Threat"}',
    });
    expect(meta).toEqual([expect.stringMatching(/^[0-9a-f]{32}$/)]);
  });

  test('a check hashes its texts once: the key of the lookup is the key its verdict is stored under', async () => {
    const t = guard();
    await t.guard.ready;
    // Hashes of a whole request are the only digests longer than the text; identity and format are shorter.
    const text = `${'a long text about bread '.repeat(2_000)}`;
    const reply = `${'and a long reply about ovens '.repeat(2_000)}`;
    const lengths: number[] = [];
    const digest = crypto.subtle.digest.bind(crypto.subtle);
    const spy = vi.spyOn(crypto.subtle, 'digest').mockImplementation((algorithm, data) => {
      lengths.push((data as ArrayBufferView).byteLength);
      return digest(algorithm, data);
    });
    try {
      expect((await t.guard.checkPrompt(text)).source).toBe('model');
      expect((await t.guard.checkResponse(text, reply)).source).toBe('model');
      await storedVerdictsWritten();
    } finally {
      spy.mockRestore();
    }
    expect(lengths.filter((n) => n > text.length)).toHaveLength(2);
    expect((await storedEntries()).verdicts).toHaveLength(2);
    expect((await t.guard.checkPrompt(text)).source).toBe('cache');
  });

  test('a streamed reply’s chunk checks are judged by the model but not stored; a whole-reply check is', async () => {
    const t = guard();
    const reply = Array.from({ length: 60 }, (_, i) => `word${i}`).join(' ');
    const words = reply.split(/(?= )/);
    const events = [];
    for await (const event of t.guard.guardStream('tell me about words', (async function* () {
      yield* words;
    })(), { chunkTokens: 20, contextTokens: 4 })) events.push(event);
    const chunkVerdicts = events.filter((e) => e.type === 'verdict');
    expect(chunkVerdicts.length).toBeGreaterThan(2);
    expect(chunkVerdicts.every((e) => e.type === 'verdict' && e.verdict.source === 'model')).toBe(true);
    expect(events.at(-1)).toMatchObject({ type: 'end', outcome: 'allowed', text: reply });
    expect((await t.stats()).completions).toBe(chunkVerdicts.length);
    expect((await storedEntries()).verdicts).toHaveLength(0);
    // The same guard still stores an ordinary check.
    await t.guard.checkResponse('tell me about words', reply);
    expect((await storedEntries()).verdicts).toHaveLength(1);
  });

  test('only model verdicts: failures and unreadable answers are judged again next time', async () => {
    const first = guard();
    const failed = await first.guard.checkPrompt('boom [[fault:engine]]');
    const unreadable = await first.guard.checkPrompt('[[raw:{"User Safety": "maybe"}]]');
    expect([failed.source, unreadable.source]).toEqual(['failure', 'failure']);
    expect((await storedEntries()).verdicts).toEqual([]);
    const second = guard();
    expect((await second.guard.checkPrompt('boom [[fault:engine]]')).source).toBe('failure');
    expect((await second.guard.checkPrompt('[[raw:{"User Safety": "maybe"}]]')).source).toBe('failure');
    await second.guard.ready;
    expect((await second.stats()).completions).toBe(2);
  });
});

describe('what the key covers', () => {
  test('policy, custom categories, target and wantCategories each give another key', async () => {
    const text = 'a borderline text [[p:0.6]]';
    expect((await guard().guard.checkPrompt(text)).source).toBe('model');
    const variants: GuardOptions[] = [{ threshold: 0.7 }, { categories: [{ name: 'Spoilers' }] }, { ignoreCategories: ['S13'] }, { failMode: 'open' }];
    for (const options of variants) expect((await guard(options).guard.checkPrompt(text)).source, JSON.stringify(options)).toBe('model');
    const t = guard();
    expect((await t.guard.checkPrompt(text, { wantCategories: true })).source).toBe('model');
    expect((await t.guard.checkResponse(text, 'ok')).source).toBe('model');
    expect((await guard().guard.checkPrompt(text)).source).toBe('cache');
  });

  test('new weights at the same folder (another tensor-cache.json) find nothing; the old ones are found again', async () => {
    const text = 'hello weights';
    expect((await guard().guard.checkPrompt(text)).source).toBe('model');
    // The identity reads Cache Storage first, where WebLLM keeps the files it loaded.
    const url = new URL(`${MODEL_A}tensor-cache.json`, location.href).href;
    const cache = await caches.open('webllm/model');
    const other = await (await fetch(`${MODEL_B}tensor-cache.json`)).arrayBuffer();
    await cache.put(url, new Response(other, { headers: { 'content-type': 'application/json' } }));
    try {
      expect((await guard().guard.checkPrompt(text)).source).toBe('model');
    } finally {
      await cache.delete(url);
    }
    expect((await guard().guard.checkPrompt(text)).source).toBe('cache');
  });

  test('another model folder is another model', async () => {
    expect((await guard().guard.checkPrompt('same text')).source).toBe('model');
    expect((await guard({ model: MODEL_B }).guard.checkPrompt('same text')).source).toBe('model');
  });

  test('reload() to another model looks under that model’s identity', async () => {
    const t = guard();
    expect((await t.guard.checkPrompt('switching models')).source).toBe('model');
    await t.guard.reload(MODEL_B);
    expect((await t.guard.checkPrompt('switching models')).source).toBe('model');
    await t.guard.reload(MODEL_A);
    expect((await t.guard.checkPrompt('switching models')).source).toBe('cache');
  });

  test('no identity (the weight index cannot be read): nothing is stored or looked up', async () => {
    const t = guard({ model: '/__fixtures/scripted-model/' });
    await t.guard.checkPrompt('no identity here');
    expect((await storedEntries()).verdicts).toEqual([]);
  });
});

describe('the user’s controls', () => {
  test('persistentCache: false reads and writes nothing', async () => {
    await guard().guard.checkPrompt('stored once');
    const off = guard({ persistentCache: false });
    expect((await off.guard.checkPrompt('stored once')).source).toBe('model');
    expect((await off.guard.checkPrompt('never stored')).source).toBe('model');
    expect((await storedEntries()).verdicts).toHaveLength(1);
  });

  test('clearCache() forgets what this origin stored and what the worker keeps in memory', async () => {
    const t = guard();
    await t.guard.checkPrompt('remember me');
    expect((await t.guard.checkPrompt('remember me')).source).toBe('cache');
    await t.guard.clearCache();
    expect((await storedEntries()).verdicts).toEqual([]);
    expect((await storedEntries()).meta).toEqual([]);
    expect((await t.guard.checkPrompt('remember me')).source).toBe('model');
    await t.guard.clearCache();
    expect((await guard().guard.checkPrompt('remember me')).source).toBe('model');
  });

  test('a guard with the cache off can still clear it', async () => {
    await guard().guard.checkPrompt('to be cleared');
    await guard({ persistentCache: false }).guard.clearCache();
    expect((await storedEntries()).verdicts).toEqual([]);
  });

  test('maxEntries: the least recently used verdicts are deleted first', async () => {
    const first = guard({ persistentCache: { maxEntries: 3 } });
    for (const text of ['one', 'two', 'three']) await first.guard.checkPrompt(text);
    await storedVerdictsWritten();
    // "one" is used again (from the store, by a new guard), so "two" is now the least recently used.
    expect((await guard({ persistentCache: { maxEntries: 3 } }).guard.checkPrompt('one')).source).toBe('cache');
    // Recency is written a little later than the lookup (in a batch): wait for it.
    await storedVerdictsWritten();
    await first.guard.checkPrompt('four');
    const { verdicts } = await storedEntries();
    expect(verdicts).toHaveLength(3);
    const later = guard({ persistentCache: { maxEntries: 3 } });
    const sources = [];
    for (const text of ['one', 'three', 'four', 'two']) sources.push((await later.guard.checkPrompt(text)).source);
    expect(sources).toEqual(['cache', 'cache', 'cache', 'model']);
  });

  test.each([
    [{ maxEntries: 0 }],
    [{ maxEntries: 1.5 }],
    [{ maxEntries: '10' }],
    [{ size: 10 }],
    ['yes'],
    [null],
  ])('persistentCache %j is refused with AegisInputError', (value) => {
    expect(() => createGuard({ model: MODEL_A, persistentCache: value as never, eager: false })).toThrow(AegisInputError);
  });

  test('a cancelled check rejects while it looks in the store', async () => {
    const t = guard();
    const controller = new AbortController();
    const pending = t.guard.checkPrompt('cancel me', { signal: controller.signal });
    controller.abort();
    await expect(pending).rejects.toMatchObject({ code: 'aborted' });
  });
});
