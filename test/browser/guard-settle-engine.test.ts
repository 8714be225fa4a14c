/**
 * Every call settles, whatever the engine behind the port does: ignore its abort signal, never return,
 * block the worker thread, hand back values that cannot cross to the page, throw things that are not
 * errors, call back after settling, resolve twice. Real client, worker, Comlink and service; only the
 * engine is hostile (test/helpers/hostile-engine.ts).
 */
import { describe, expect, test } from 'vitest';
import { AegisError, ModelLoadError, WorkerCrashedError } from '../../src/core/errors.js';
import type { Decision, LoadProgress, Verdict } from '../../src/core/types.js';
import { verdictProblem } from '../../src/core/wire-shapes.js';
import { hostileGuardPerTest } from '../helpers/hostile-guard-per-test.js';

const guardWith = hostileGuardPerTest();

function expectFailure(v: Verdict, code: string) {
  expect(verdictProblem(v)).toBeUndefined();
  expect(v).toMatchObject({ safe: false, rating: 'unsafe', source: 'failure', failure: { code } });
}

describe('an engine that ignores its abort signal', () => {
  test('never returning: the check times out on time, the worker is replaced, and the next check runs', async () => {
    const { guard, workers } = guardWith({ timeout: 150 }, { engineReleaseMs: 100 });
    await guard.ready;
    const errors: AegisError[] = [];
    guard.on('error', (e) => errors.push(e));
    const stuck = guard.checkPrompt('[[hostile:never]]');
    const behind = guard.checkPrompt('queued behind the stuck check');
    expectFailure(await stuck, 'timeout');
    const next = await behind;
    expect(next).toMatchObject({ safe: true, source: 'model' });
    expect(workers).toHaveLength(2);
    expect(errors.some((e) => e instanceof WorkerCrashedError && e.reason === 'unresponsive')).toBe(true);
    expect(guard.state).toBe('ready');
  });

  test('answering late: the check times out, and the engine is waited for before the next check', async () => {
    const { guard, workers, stats } = guardWith({ timeout: 100 }, { engineReleaseMs: 5000 });
    await guard.ready;
    const late = guard.checkPrompt('[[hostile:ignore-abort:300]]');
    const behind = guard.checkPrompt('after the late one');
    expectFailure(await late, 'timeout');
    expect((await behind).source).toBe('model');
    // The engine came back within its grace period: no replacement.
    expect(workers).toHaveLength(1);
    expect((await stats()).completions).toBe(2);
  });

  test('blocking the worker thread: the page settles the check at its deadline', async () => {
    const { guard, workers } = guardWith({ timeout: 100 });
    await guard.ready;
    const blocked = await guard.checkPrompt('[[hostile:busy:1500]]');
    expectFailure(blocked, 'timeout');
    expect(blocked.failure!.message).toMatch(/did not answer in time/);
    // The worker comes back by itself after the loop and keeps serving.
    expect((await guard.checkPrompt('after the loop')).source).toBe('model');
    expect(workers).toHaveLength(1);
  });

  test('blocking the worker thread for good: timeout, then the silent worker is replaced', async () => {
    const { guard, workers } = guardWith({ timeout: 100, unresponsiveAfter: 1000 });
    await guard.ready;
    const blocked = guard.checkPrompt('[[hostile:busy:forever]]');
    const behind = guard.checkPrompt('queued behind the loop');
    expectFailure(await blocked, 'timeout');
    expect(await behind).toMatchObject({ safe: true, source: 'model' });
    expect(workers).toHaveLength(2);
  });
});

describe('what crosses the boundary is checked', () => {
  test.each(['fn', 'symbol', 'proxy', 'getter'])('an unclonable answer (%s) is a typed failure, not a plain TypeError', async (kind) => {
    const { guard } = guardWith();
    const v = await guard.checkPrompt(`[[hostile:unclonable:${kind}]]`);
    expectFailure(v, 'engine-failed');
    expect(v.failure!.message).not.toMatch(/Unserializable/);
    expect((await guard.checkPrompt('next')).source).toBe('model');
  });

  test.each(['string', 'null', 'undefined', 'number', 'object', 'no-proto', 'bad-tostring', 'symbol', 'error-getter'])(
    'a thrown %s is a typed failure with a readable message',
    async (kind) => {
      const { guard } = guardWith();
      const v = await guard.checkPrompt(`[[hostile:throw:${kind}]]`);
      expectFailure(v, 'engine-failed');
      expect(typeof v.failure!.message).toBe('string');
      expect((await guard.checkPrompt('next')).source).toBe('model');
    },
  );

  test('an unclonable load result rejects ready with a ModelLoadError', async () => {
    const { guard } = guardWith({ model: '/__fixtures/hostile-load-result/' });
    const error = await guard.ready.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ModelLoadError);
    expect((error as Error).message).toMatch(/cannot cross to the page/);
    expect(guard.state).toBe('failed');
  });

  test('malformed progress reports are dropped, the rest clamped; none arrive after ready', async () => {
    const { guard } = guardWith({ model: '/__fixtures/hostile-progress/', eager: false });
    const seen: LoadProgress[] = [];
    let readyAt = -1;
    guard.on('progress', (p) => seen.push(p));
    guard.on('ready', () => (readyAt = seen.length));
    await guard.ready;
    // A check round trip: the late report was posted before this answer, so it has been handled by now.
    await guard.checkPrompt('flush');
    expect(seen.every((p) => Number.isFinite(p.progress) && p.progress >= 0 && p.progress <= 1 && typeof p.text === 'string')).toBe(true);
    expect(seen.some((p) => p.text === 'out of range, clamped')).toBe(true);
    expect(seen.some((p) => p.text === 'after the load')).toBe(false);
    expect(seen.length).toBe(readyAt);
  });
});

describe('callbacks after settling', () => {
  test('onText after the answer neither changes the verdict nor reaches onDecision', async () => {
    const { guard, stats } = guardWith();
    const decisions: Decision[] = [];
    const v = await guard.checkPrompt('fine text [[hostile:late-callback]]', { onDecision: (d) => decisions.push(d) });
    expect(v).toMatchObject({ safe: true, rating: 'safe', source: 'model' });
    // The next check's answer comes after the late callbacks ran (they fire on the first worker tick).
    await guard.checkPrompt('another');
    expect((await stats()).hostile.lateCallbacks).toBe(1);
    // The late 'unsafe' announcements never reach the caller.
    expect(decisions.every((d) => d.rating === 'safe')).toBe(true);
  });

  test('a thenable that resolves twice: the first answer counts', async () => {
    const { guard } = guardWith();
    const v = await guard.checkPrompt('fine text [[hostile:twice]]');
    expect(v).toMatchObject({ safe: true, rating: 'safe', source: 'model' });
  });
});

test('failures are typed errors in the verdict, never thrown', async () => {
  const { guard } = guardWith({ timeout: 100 }, { engineReleaseMs: 50 });
  const results = await Promise.allSettled([
    guard.checkPrompt('[[hostile:throw:symbol]]'),
    guard.checkPrompt('[[hostile:unclonable:fn]]'),
    guard.checkPrompt('[[hostile:never]]'),
    guard.checkPrompt('plain'),
  ]);
  expect(results.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled', 'fulfilled', 'fulfilled']);
  const verdicts = results.map((r) => (r as PromiseFulfilledResult<Verdict>).value);
  expect(verdicts.map((v) => v.failure?.code ?? v.source)).toEqual(['engine-failed', 'engine-failed', 'timeout', 'model']);
});
