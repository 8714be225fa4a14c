/**
 * Every call settles, whatever the worker does: closes itself, is terminated, falls silent, answers garbage,
 * crashes mid-check or while its script runs, or is not there at all (a 404). Each check gets a verdict or
 * a typed error, a transient fault is recovered from, and a worker whose script cannot run is not restarted
 * in a loop.
 */
import { describe, expect, test } from 'vitest';
import { type AegisError, WorkerCrashedError } from '../../src/core/errors.js';
import type { Verdict } from '../../src/core/types.js';
import { createGuard } from '../../src/client/create-guard.js';
import type { Guard } from '../../src/client/types.js';
import { hostileGuardPerTest } from '../helpers/hostile-guard-per-test.js';
import type { GarbageKind } from '../helpers/hostile.worker.js';

const guardWith = hostileGuardPerTest();

function crash(v: Verdict) {
  expect(v).toMatchObject({ safe: false, source: 'failure', failure: { code: 'worker-crashed' } });
  return v.failure!.details as { reason: string; workerUrl?: string; duringCheck: boolean };
}

function errorsOf(guard: Guard): AegisError[] {
  const errors: AegisError[] = [];
  guard.on('error', (e) => errors.push(e));
  return errors;
}

describe('a worker that stops answering', () => {
  test('self.close() mid-check: that check fails closed as the likely cause, the others go to a new worker', async () => {
    const { guard, workers } = guardWith({ unresponsiveAfter: 1000, timeout: 0 });
    await guard.ready;
    const closing = guard.checkPrompt('[[hostile:close]]');
    const behind = [guard.checkPrompt('one'), guard.checkResponse('q', 'two')];
    const details = crash(await closing);
    expect(details).toMatchObject({ reason: 'unresponsive', duringCheck: true });
    expect(details.workerUrl).toContain('hostile.worker');
    for (const v of await Promise.all(behind)) expect(v.source).toBe('model');
    expect(workers).toHaveLength(2);
    expect(guard.state).toBe('ready');
  });

  test('terminated from outside while checks wait: they settle and are answered by a new worker', async () => {
    const { guard, workers } = guardWith({ unresponsiveAfter: 1000 });
    await guard.ready;
    workers[0]!.terminate();
    const verdicts = await Promise.all([guard.checkPrompt('a'), guard.checkPrompt('b')]);
    expect(verdicts.map((v) => v.source)).toEqual(['model', 'model']);
    expect(workers).toHaveLength(2);
  });

  test('silent after its hello: given up on and replaced; past the restart budget the guard fails', async () => {
    const { guard, workers } = guardWith({ unresponsiveAfter: 200 }, { mode: 'silent-after-hello' });
    const errors = errorsOf(guard);
    const error = await guard.ready.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WorkerCrashedError);
    // Three restarts, then no more: the fourth failure within a minute stops it.
    expect(workers).toHaveLength(4);
    expect(guard.state).toBe('failed');
    expect(errors.filter((e) => e instanceof WorkerCrashedError).every((e) => (e as WorkerCrashedError).reason === 'unresponsive')).toBe(true);
    const details = crash(await guard.checkPrompt('after'));
    expect(details.reason).toBe('unresponsive');
    // reload() starts over with a fresh budget.
    void guard.reload().catch(() => undefined);
    expect(workers).toHaveLength(5);
  });

  test('recovers after a transient silence: only the first worker is silent', async () => {
    const { guard, workers } = guardWith({ unresponsiveAfter: 1000 }, (attempt) => ({ mode: attempt === 0 ? 'silent-after-hello' : 'serve' }));
    const v = await guard.checkPrompt('hello');
    expect(v.source).toBe('model');
    expect(workers).toHaveLength(2);
    expect(guard.state).toBe('ready');
  });
});

describe('each worker failure is reported once', () => {
  // Four failures within a minute with nobody to blame: three restarts, then the guard gives up. The give-up
  // error is the fourth failure's report, and `ready` rejects with it.
  test.each([
    ['silent during load', { mode: 'silent-after-hello' }, 'unresponsive'],
    ['a malformed load result', { mode: 'garbage', garbage: 'bad-load' }, 'bad-message'],
  ] as const)('%s: one error event per failure', async (_name, config, reason) => {
    const { guard, workers } = guardWith({ unresponsiveAfter: 200 }, config);
    const errors = errorsOf(guard);
    const error = await guard.ready.catch((e: unknown) => e);
    expect(workers).toHaveLength(4);
    expect(guard.state).toBe('failed');
    expect(errors).toHaveLength(4);
    expect(new Set(errors).size).toBe(4);
    for (const e of errors) expect(e).toMatchObject({ reason });
    expect(errors.slice(0, 3).some((e) => e.message.includes('not restarted'))).toBe(false);
    expect(errors[3]!.message).toContain('not restarted');
    expect(error).toBe(errors[3]);
    // A check afterwards fails closed without another report.
    expect(crash(await guard.checkPrompt('after')).reason).toBe(reason);
    expect(errors).toHaveLength(4);
  });
});

describe('a worker that answers garbage', () => {
  const KINDS: Array<[GarbageKind, 'blamed' | 'retried' | 'ignored']> = [
    ['bad-type', 'retried'],
    ['bad-handler', 'retried'],
    ['bad-result', 'blamed'],
    ['bad-verdict', 'blamed'],
    ['bad-notice', 'retried'],
    ['stray', 'ignored'],
  ];

  test.each(KINDS)('%s: a typed result, and the next worker serves', async (garbage, outcome) => {
    const { guard, workers } = guardWith({}, (attempt) => ({ mode: attempt === 0 ? 'garbage' : 'serve', garbage }));
    await guard.ready;
    const v = await guard.checkPrompt('judge me');
    if (outcome === 'ignored') {
      expect(v.source).toBe('model');
      expect(workers).toHaveLength(1);
      return;
    }
    if (outcome === 'blamed') {
      expect(crash(v)).toMatchObject({ reason: 'bad-message', duringCheck: true });
    } else {
      // The connection broke before the check started: nobody to blame, so it is sent to the next worker.
      expect(v.source).toBe('model');
    }
    expect(workers).toHaveLength(2);
    expect((await guard.checkPrompt('next')).source).toBe('model');
  });

  test('a worker of another protocol version is refused and not restarted', async () => {
    const { guard, workers } = guardWith({}, { mode: 'old-protocol' });
    const details = crash(await guard.checkPrompt('x'));
    expect(details.reason).toBe('bad-message');
    expect(workers).toHaveLength(1);
    expect(guard.state).toBe('failed');
  });
});

describe('a worker whose script cannot run', () => {
  test('crash while the script runs: script-failed, the URL named, never restarted', async () => {
    const { guard, workers } = guardWith({}, { mode: 'crash-on-load' });
    const errors = errorsOf(guard);
    const error = await guard.ready.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WorkerCrashedError);
    expect(error).toMatchObject({ reason: 'script-failed' });
    expect((error as WorkerCrashedError).workerUrl).toBeUndefined(); // a factory: the URL is not known
    const v = await guard.checkPrompt('x');
    expect(crash(v).reason).toBe('script-failed');
    expect(workers).toHaveLength(1);
    expect(guard.state).toBe('failed');
    expect(errors.filter((e) => e instanceof WorkerCrashedError)).toHaveLength(1);
  });

  test('a worker URL that 404s: the error names the URL, one attempt only, checks fail closed', async () => {
    const url = new URL('/__fixtures/__status/404/aegis/guard.worker.js', location.href).href;
    const guard = createGuard({ model: '/__fixtures/scripted-model/', worker: url });
    try {
      const error = await guard.ready.catch((e: unknown) => e);
      expect(error).toBeInstanceOf(WorkerCrashedError);
      expect(error).toMatchObject({ reason: 'script-failed', workerUrl: url });
      expect((error as Error).message).toContain(url);
      const details = crash(await guard.checkPrompt('x'));
      expect(details).toMatchObject({ reason: 'script-failed', workerUrl: url });
      expect(guard.state).toBe('failed');
    } finally {
      guard.dispose();
    }
  });

  test('a silent script (not a guard worker): never-answered, not restarted', async () => {
    const { guard, workers } = guardWith({ unresponsiveAfter: 100 }, { mode: 'silent' });
    const details = crash(await guard.checkPrompt('x'));
    expect(details.reason).toBe('never-answered');
    expect(workers).toHaveLength(1);
    expect(guard.state).toBe('failed');
  });

  test('the URL option starts a working worker (the recipe for apps that bundle the worker themselves)', async () => {
    const url = new URL('../helpers/hostile.worker.ts', import.meta.url);
    const guard = createGuard({ model: '/__fixtures/scripted-model/', worker: url });
    try {
      expect((await guard.checkPrompt('hello')).source).toBe('model');
    } finally {
      guard.dispose();
    }
  });
});
