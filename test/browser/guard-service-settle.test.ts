/**
 * The guard service on its own (no client, no worker: it runs in the test page), over the hostile engine.
 * Without a page to replace its worker, a service whose engine got stuck must still settle every check and
 * recover by reloading the model; late engine callbacks and malformed engine values never reach callers.
 */
import { describe, expect, test } from 'vitest';
import { DEFAULT_POLICY } from '../../src/core/policy.js';
import { verdictProblem } from '../../src/core/wire-shapes.js';
import type { CheckEvent, CheckRequest, ServiceEvent } from '../../src/worker/protocol.js';
import { GuardService } from '../../src/worker/guard-service.js';
import { HostileEngine } from '../helpers/hostile-engine.js';

let sequence = 0;
function request(user: string, timeoutMs = 0): CheckRequest {
  return { id: `r${++sequence}`, target: 'prompt', user, categories: [], policy: DEFAULT_POLICY, timeoutMs };
}

async function loadedService(engineReleaseMs: number) {
  const engine = new HostileEngine();
  const service = new GuardService(engine, { engineReleaseMs });
  const events: ServiceEvent[] = [];
  await service.listen((e) => events.push(e));
  const loaded = await service.load({ kind: 'aegis', weightsUrl: new URL('/__fixtures/scripted-model/', location.href).href, variant: 'auto' });
  expect(loaded.ok).toBe(true);
  return { engine, service, events };
}

describe('GuardService with a stuck engine', () => {
  test('the timed-out check settles, engine-stuck is reported, and the next check reloads the model', async () => {
    const { engine, service, events } = await loadedService(50);
    const stuck = service.check(request('[[hostile:never]]', 80));
    const next = service.check(request('queued behind it', 5000));
    const first = await stuck;
    expect(first.ok && first.value.failure?.code).toBe('timeout');
    const second = await next;
    expect(second.ok && second.value.source).toBe('model');
    expect(events.some((e) => e.type === 'engine-stuck')).toBe(true);
    expect(engine.stats.loads).toBe(2);
  });

  test('an engine that comes back within the grace period is waited for, not reloaded', async () => {
    const { engine, service, events } = await loadedService(5000);
    const late = await service.check(request('[[hostile:ignore-abort:150]]', 50));
    expect(late.ok && late.value.failure?.code).toBe('timeout');
    const next = await service.check(request('after the late one', 5000));
    expect(next.ok && next.value.source).toBe('model');
    expect(events.some((e) => e.type === 'engine-stuck')).toBe(false);
    expect(engine.stats.loads).toBe(1);
  });
});

describe('GuardService and what the engine hands back', () => {
  test('check events stop at the verdict, even when the engine calls back later', async () => {
    const { service } = await loadedService(1000);
    const seen: string[] = [];
    const result = await service.check(request('fine [[hostile:late-callback]]'), (e: CheckEvent) =>
      seen.push(e.type === 'decision' ? `decision:${e.decision.rating}` : e.type),
    );
    seen.push('verdict');
    // A later check's answer comes after the late callbacks have run.
    await service.check(request('another'));
    expect(result.ok && result.value.rating).toBe('safe');
    // The late 'unsafe' announcements never arrive (a safe decision may or may not come before the verdict).
    expect(seen[0]).toBe('started');
    expect(seen.at(-1)).toBe('verdict');
    expect(seen.filter((e) => e !== 'started' && e !== 'verdict').every((e) => e === 'decision:safe')).toBe(true);
  });

  test.each(['fn', 'symbol', 'proxy', 'getter'])('an unclonable answer (%s) becomes a cloneable failure verdict', async (kind) => {
    const { service } = await loadedService(1000);
    const result = await service.check(request(`[[hostile:unclonable:${kind}]]`));
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(verdictProblem(result.value)).toBeUndefined();
    expect(result.value.failure?.code).toBe('engine-failed');
    expect(() => structuredClone(result)).not.toThrow();
  });
});
