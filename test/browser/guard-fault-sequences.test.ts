/**
 * Seeded sequences of faults through one guard: engine failures, values that cannot cross, non-Error
 * throws, hangs that honour or ignore the abort signal, crashes and self.close() mid-check, aborts, plain
 * messages, issued in bursts. Every call must settle with the result its fault calls for (a verdict, or an
 * AegisAbortError for an abort), never a plain error, and the guard must still work at the end.
 */
import { describe, expect, test } from 'vitest';
import { AegisAbortError } from '../../src/core/errors.js';
import type { Verdict } from '../../src/core/types.js';
import { verdictProblem } from '../../src/core/wire-shapes.js';
import { hostileGuardPerTest } from '../helpers/hostile-guard-per-test.js';
import { seededRandom } from '../helpers/prng.js';

const guardWith = hostileGuardPerTest();

/** What a fault must produce: a verdict's source or failure code, or 'aborted' (a rejection). */
interface Fault {
  marker: string;
  expect: string;
  weight: number;
  abort?: boolean;
}

const FAULTS: Fault[] = [
  { marker: '', expect: 'model', weight: 10 },
  { marker: '[[unsafe:Violence]]', expect: 'model', weight: 3 },
  { marker: '[[hostile:busy:200]]', expect: 'model', weight: 1 },
  { marker: '[[fault:engine]]', expect: 'engine-failed', weight: 1 },
  { marker: '[[raw:no json here]]', expect: 'unreadable-output:not-json', weight: 1 },
  { marker: '[[hostile:throw:no-proto]]', expect: 'engine-failed', weight: 1 },
  { marker: '[[hostile:throw:string]]', expect: 'engine-failed', weight: 1 },
  { marker: '[[hostile:unclonable:fn]]', expect: 'engine-failed', weight: 1 },
  { marker: '[[hostile:unclonable:proxy]]', expect: 'engine-failed', weight: 1 },
  { marker: '[[fault:hang]]', expect: 'timeout', weight: 1 },
  { marker: '[[hostile:never]]', expect: 'timeout', weight: 1 },
  { marker: '[[fault:crash]]', expect: 'worker-crashed', weight: 1 },
  { marker: '[[hostile:close]]', expect: 'worker-crashed', weight: 1 },
  { marker: '[[delay:100]]', expect: 'aborted', weight: 1, abort: true },
];

function pick(next: () => number): Fault {
  const total = FAULTS.reduce((sum, f) => sum + f.weight, 0);
  let at = next() * total;
  for (const fault of FAULTS) {
    at -= fault.weight;
    if (at < 0) return fault;
  }
  return FAULTS[0]!;
}

function outcomeOf(result: PromiseSettledResult<Verdict>): string {
  if (result.status === 'rejected') return result.reason instanceof AegisAbortError ? 'aborted' : `plain error: ${String(result.reason)}`;
  const v = result.value;
  if (verdictProblem(v)) return `malformed verdict: ${verdictProblem(v)}`;
  return v.source === 'failure' ? v.failure!.code : v.source;
}

describe('seeded fault sequences', () => {
  test.each([11, 23, 37, 41])('seed %i: every call settles as its fault calls for; the guard still works', async (seed) => {
    const next = seededRandom(seed);
    // The silence limit is well under the timeout, so a worker that closed itself mid-check is found out
    // (worker-crashed) before the check's own deadline would settle it as a timeout.
    const { guard, workers } = guardWith({ timeout: 2500, unresponsiveAfter: 1000 }, { engineReleaseMs: 200 });
    await guard.ready;
    const expected: string[] = [];
    const actual: string[] = [];
    for (let burst = 0; burst < 6; burst++) {
      const size = 1 + Math.floor(next() * 4);
      const faults = Array.from({ length: size }, () => pick(next));
      const calls = faults.map((fault, i) => {
        const text = `seed ${seed} burst ${burst} message ${i} ${fault.marker}`;
        const controller = new AbortController();
        const call = next() < 0.5 ? guard.checkPrompt(text, { signal: controller.signal }) : guard.checkResponse('a question', text, { signal: controller.signal });
        if (fault.abort) controller.abort();
        return call;
      });
      expected.push(...faults.map((f) => f.expect));
      actual.push(...(await Promise.allSettled(calls)).map(outcomeOf));
    }
    expect(actual).toEqual(expected);
    // A fault in the last burst may have left a new worker loading; the guard never gave up.
    expect(guard.state).not.toBe('failed');
    expect((await guard.checkPrompt(`seed ${seed}: after the faults`)).source).toBe('model');
    expect(guard.state).toBe('ready');
    // One new worker per fault that ends one (a crash, self.close(), an engine that never returns).
    const ending = expected.filter((e, i) => e === 'worker-crashed' || (e === 'timeout' && actual[i] === 'timeout')).length;
    expect(workers.length).toBeLessThanOrEqual(1 + ending);
  });
});
