/**
 * One poison message cannot disable a shared guard. A message whose check kills the worker (an uncaught
 * error, self.close(), a thread blocked for good) fails closed as the likely cause, is never judged again
 * by itself, and the messages waiting behind it are answered by the next worker. The guard stays usable
 * however many times the poison is retried by hand.
 */
import { afterEach, describe, expect, test } from 'vitest';
import { WorkerCrashedError } from '../../src/core/errors.js';
import type { Verdict } from '../../src/core/types.js';
import type { AegisGuardElement } from '../../src/element/aegis-guard.js';
import { disposeSharedGuards, setSharedGuardOptions, sharedGuard } from '../../src/element/shared-guard.js';
import { hostileWorker } from '../helpers/hostile-guard.js';
import { hostileGuardPerTest } from '../helpers/hostile-guard-per-test.js';
import { seededRandom, type Random } from '../helpers/prng.js';
import { mount, part, settledAs } from './element-fixtures.js';

const guardWith = hostileGuardPerTest();

/** Fisher-Yates, seeded, so a failing order can be replayed. */
function shuffle<T>(items: T[], next: Random): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(next() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

function expectBlamed(v: Verdict) {
  expect(v).toMatchObject({ safe: false, source: 'failure', failure: { code: 'worker-crashed', details: { duringCheck: true } } });
}

const POISONS: Array<[string, string]> = [
  ['an uncaught error', '[[fault:crash]]'],
  ['self.close()', '[[hostile:close]]'],
  ['a thread blocked for good', '[[hostile:busy:forever]]'],
];

describe.each(POISONS)('a message that kills the worker with %s', (_, poison) => {
  test.each([1, 2, 3])('fails alone, the others are served (seed %i)', async (seed) => {
    const { guard, workers } = guardWith({ unresponsiveAfter: 1000, timeout: 5000 });
    await guard.ready;
    const texts = shuffle([`poison ${poison}`, ...Array.from({ length: 8 }, (_, i) => `innocent message ${i}`)], seededRandom(seed));
    const verdicts = await Promise.all(texts.map((t, i) => (i % 2 ? guard.checkResponse('q', t) : guard.checkPrompt(t))));
    texts.forEach((text, i) => {
      if (text.startsWith('poison')) expectBlamed(verdicts[i]!);
      else expect(verdicts[i]).toMatchObject({ source: 'model', safe: true });
    });
    expect(workers).toHaveLength(2);
    expect(guard.state).toBe('ready');
  });

  test('retried by hand five times: each retry fails closed, the guard never gives up', async () => {
    const { guard, workers } = guardWith({ unresponsiveAfter: 1000, timeout: 5000 });
    for (let i = 1; i <= 5; i++) {
      expectBlamed(await guard.checkPrompt(`poison ${poison}`));
      expect((await guard.checkPrompt(`innocent after retry ${i}`)).source).toBe('model');
      expect(guard.state).toBe('ready');
      expect(workers).toHaveLength(i + 1);
    }
  });
});

describe('the page-wide shared guard of <aegis-guard> elements', () => {
  const workers: Worker[] = [];
  afterEach(() => {
    disposeSharedGuards();
    setSharedGuardOptions({});
    workers.length = 0;
  });

  test('a poison message shows its error with Retry; the others are allowed; it is not re-judged by itself', async () => {
    setSharedGuardOptions({
      unresponsiveAfter: 1000,
      worker: () => {
        const worker = hostileWorker();
        workers.push(worker);
        return worker;
      },
    });
    const poison = mount({ text: 'POISON [[fault:crash]]' });
    const others: AegisGuardElement[] = Array.from({ length: 5 }, (_, i) => mount({ text: `an ordinary message ${i}` }));
    await settledAs(poison, 'error');
    for (const el of others) await settledAs(el, 'allowed');
    expect(poison.error).toBeInstanceOf(WorkerCrashedError);
    expect((poison.error as WorkerCrashedError).duringCheck).toBe(true);
    const guard = sharedGuard();
    // A probe sent now is queued behind anything the elements sent meanwhile (same lane, FIFO): had the
    // poison been judged again by itself, it would have crashed the worker before the probe is answered.
    expect((await guard.checkPrompt('probe')).source).toBe('model');
    expect(workers).toHaveLength(2);
    expect(poison.state).toBe('error');

    for (let i = 0; i < 4; i++) {
      part(poison, 'retry-button')!.click();
      await poison.updateComplete;
      await settledAs(poison, 'error');
      expect((await guard.checkPrompt(`probe ${i}`)).source).toBe('model');
    }
    expect(guard.state).toBe('ready');
    expect(workers).toHaveLength(6);
    for (const el of others) expect(el.state).toBe('allowed');
  });
});
