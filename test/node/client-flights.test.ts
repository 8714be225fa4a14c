/**
 * Flights (src/client/flights.ts) on their own: a check whose signal is already aborted is refused before
 * anything is sent or settled. (Through a guard only a microtask separates check()'s own guard from send().)
 */
import { describe, expect, test } from 'vitest';
import { Flights } from '../../src/client/flights.js';
import { AegisAbortError, WorkerCrashedError } from '../../src/core/errors.js';
import { resolvePolicy } from '../../src/core/policy.js';
import type { Verdict } from '../../src/core/types.js';
import type { CheckRequest } from '../../src/worker/protocol.js';

function request(id: string): CheckRequest {
  return { id, target: 'prompt', user: 'hello', categories: [], policy: resolvePolicy({}), timeoutMs: 1000, maxInputChars: 1000 };
}

/** A host with no worker: a check that gets as far as dispatch settles with a worker-crashed failure. */
function flightsWithoutWorker() {
  const verdicts: Verdict[] = [];
  const flights = new Flights({
    connection: () => undefined,
    unavailable: () => new WorkerCrashedError('The guard worker stopped.', { reason: 'script-failed' }),
    onVerdict: (v) => verdicts.push(v),
  });
  return { flights, verdicts };
}

const abortedSignals: Array<[string, () => AbortSignal]> = [
  ['controller.abort()', () => {
    const c = new AbortController();
    c.abort();
    return c.signal;
  }],
  ['abort with a reason', () => {
    const c = new AbortController();
    c.abort(new Error('user left'));
    return c.signal;
  }],
  ['AbortSignal.abort()', () => AbortSignal.abort()],
  ['AbortSignal.any of an aborted one', () => AbortSignal.any([new AbortController().signal, AbortSignal.abort()])],
];

describe('Flights.send with an already-aborted signal', () => {
  test.each(abortedSignals)('%s: rejects with AegisAbortError, nothing dispatched or reported', async (_name, make) => {
    const { flights, verdicts } = flightsWithoutWorker();
    await expect(flights.send(request('a'), { signal: make() })).rejects.toBeInstanceOf(AegisAbortError);
    expect(verdicts).toHaveLength(0);
    expect(flights.size).toBe(0);
  });

  test('a live signal is dispatched as usual (here: fails closed, no worker)', async () => {
    const { flights, verdicts } = flightsWithoutWorker();
    const v = await flights.send(request('b'), { signal: new AbortController().signal });
    expect(v).toMatchObject({ safe: false, source: 'failure', failure: { code: 'worker-crashed' } });
    expect(verdicts).toEqual([v]);
  });
});
