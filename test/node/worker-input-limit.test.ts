/**
 * The input-length limit in the guard service: a text over `maxInputChars` is refused before the request
 * key, the verdict cache, flight merging, the queue and the model, so it blocks with `input-too-long`
 * whatever the model's state, the judge or the fail mode, and each request is held to its own limit.
 */
import { afterEach, beforeEach, describe, expect, test, vi } from 'vitest';
import type { Verdict } from '../../src/core/types.js';
import type { Judge } from '../../src/worker/judge.js';
import { GuardService } from '../../src/worker/guard-service.js';
import type { CheckRequest, ModelSource, Result } from '../../src/worker/protocol.js';
import { fakeNavigator } from '../helpers/fake-webllm.js';
import { checkRequest } from '../helpers/node-fast-engine.js';
import { seededRandom } from '../helpers/prng.js';
import { ScriptedEngine } from '../helpers/scripted-engine.js';

const source = (weightsUrl: string): ModelSource => ({ kind: 'aegis', weightsUrl, variant: 'q4f32_1' });

const withLimit = (request: CheckRequest, maxInputChars: number): CheckRequest => ({ ...request, maxInputChars });

function verdictOf(result: Result<Verdict>): Verdict {
  if (!result.ok) throw new Error(`expected a verdict, got ${result.error.name}: ${result.error.message}`);
  return result.value;
}

const refused = { safe: false, rating: 'unsafe', source: 'failure', failure: { code: 'input-too-long' } };

beforeEach(() => {
  vi.stubGlobal('navigator', fakeNavigator());
});
afterEach(() => {
  vi.unstubAllGlobals();
});

describe('a text over maxInputChars', () => {
  test('blocks failing open while no model is loaded (a short text fails open there)', async () => {
    const engine = new ScriptedEngine();
    const service = new GuardService(engine);
    const open = { policy: { failMode: 'open' as const } };
    const short = verdictOf(await service.check(withLimit(checkRequest('prompt', 'x'.repeat(10), open), 10)));
    expect(short).toMatchObject({ safe: true, failure: { code: 'model-not-loaded' } });
    const long = verdictOf(await service.check(withLimit(checkRequest('prompt', 'x'.repeat(11), open), 10)));
    expect(long).toMatchObject({ ...refused, failure: { code: 'input-too-long', details: { length: 11, maxInputChars: 10 } } });
    expect(engine.stats.completions).toBe(0);
  });

  test('blocks at once failing open while the model load hangs, and while the judge would hang', async () => {
    const engine = new ScriptedEngine();
    const hanging: Judge = () => new Promise(() => undefined);
    const service = new GuardService(engine, { selectJudge: () => hanging });
    void service.load(source('http://localhost/hang-load/'));
    const open = { policy: { failMode: 'open' as const } };
    const prompt = verdictOf(await service.check({ ...withLimit(checkRequest('prompt', 'p'.repeat(101), open), 100), timeoutMs: 0 }));
    expect(prompt).toMatchObject(refused);
    const reply = checkRequest('response', 'hi', { ...open, response: 'r'.repeat(1_000_001) });
    expect(verdictOf(await service.check(reply))).toMatchObject({ ...refused, failure: { details: { maxInputChars: 1_000_000 } } });
    await service.unload();
  });

  test('is refused whatever the judge: a custom selectJudge that passes everything never runs', async () => {
    const engine = new ScriptedEngine();
    let judged = 0;
    const passAll: Judge = async () => {
      judged++;
      return { rating: 'safe', categories: [], raw: 'safe', prefillMs: 0, decodeMs: 0, promptTokens: 0, completionTokens: 0 };
    };
    const service = new GuardService(engine, { selectJudge: () => passAll });
    expect(await service.load(source('http://localhost/scripted-model/'))).toMatchObject({ ok: true });
    expect(verdictOf(await service.check(withLimit(checkRequest('prompt', 'y'.repeat(51)), 50)))).toMatchObject(refused);
    expect(verdictOf(await service.check(withLimit(checkRequest('prompt', 'y'.repeat(50)), 50)))).toMatchObject({ safe: true });
    expect(judged).toBe(1);
  });
});

describe('each request is held to its own limit', () => {
  test('requests merged into one flight or answered from the cache, with seeded lengths and limits', async () => {
    const random = seededRandom(20261201);
    const engine = new ScriptedEngine();
    const service = new GuardService(engine);
    expect(await service.load(source('http://localhost/scripted-model/'))).toMatchObject({ ok: true });
    for (let round = 0; round < 12; round++) {
      const length = 20 + Math.floor(random() * 400);
      const text = `Round ${round}: ${'a quiet walk by the river. '.repeat(40)}`.slice(0, length);
      // The same text under limits on both sides of its length, queued together (one flight if merged).
      const limits = [length, length - 1, Infinity, 1 + Math.floor(random() * (length - 1)), length + 1];
      if (random() < 0.5) limits.reverse();
      const results = await Promise.all(limits.map((limit) => service.check(withLimit(checkRequest('prompt', text), limit))));
      results.forEach((result, i) => {
        const expected = length > limits[i]! ? refused : { safe: true, source: 'model' };
        expect(verdictOf(result), `round ${round}, limit ${limits[i]} for ${length} characters`).toMatchObject(expected);
      });
      // Now cached: a tighter limit still refuses it, a wide one reads the cache.
      expect(verdictOf(await service.check(withLimit(checkRequest('prompt', text), length - 1)))).toMatchObject(refused);
      expect(verdictOf(await service.check(withLimit(checkRequest('prompt', text), length)))).toMatchObject({ safe: true, source: 'cache' });
    }
  });
});
