/**
 * How checks settle under faults (see bench/faults.ts for the runner). Real client, worker, Comlink and
 * service; the engine or worker is hostile (test/helpers/hostile-engine.ts, hostile.worker.ts).
 *
 * 1. Timeouts: a check that starts at once on an idle guard, with timeout T, against each way an engine can
 *    fail to finish. Measured: call-to-settle time minus T (the overshoot); the goal is at most 250 ms.
 * 2. Soak: 10,000 checks in bursts, one in 200 carrying a fault. Counted: calls still unsettled when their
 *    burst's watchdog fires (hung), rejections that are not typed, plain checks that did not get a model
 *    verdict (recovery), and the page's heap after GC every 2,000 checks (Chromium has no heap figure
 *    inside a worker; the soak replaces workers anyway, so the page is where a leak would build up).
 * 3. Poison: a message that kills its worker, in a burst of ten others, twenty times on one guard.
 */
import { AegisError } from '../../src/core/errors.js';
import type { Verdict } from '../../src/core/types.js';
import { verdictProblem } from '../../src/core/wire-shapes.js';
import { createHostileGuard, type HostileGuard } from '../../test/helpers/hostile-guard.js';
import { publishBenchResult } from '../page-result.js';
import { summarize } from '../stats.js';
import * as Comlink from 'comlink';

const TIMEOUT_KINDS: Array<[string, string]> = [
  ['honours abort', '[[fault:hang]]'],
  ['ignores abort, never returns', '[[hostile:never]]'],
  ['ignores abort, returns late', '[[hostile:ignore-abort:3000]]'],
  ['blocks the thread 1.5 s', '[[hostile:busy:1500]]'],
  ['blocks the thread for good', '[[hostile:busy:forever]]'],
];
const TIMEOUTS = [100, 300, 1000];
const REPEATS = 5;

const SOAK_CHECKS = 10_000;
const SOAK_BURST = 50;
const FAULT_EVERY = 200;
const SOAK_FAULTS = ['[[fault:crash]]', '[[hostile:close]]', '[[hostile:never]]', '[[hostile:throw:symbol]]', '[[hostile:unclonable:fn]]', '[[fault:engine]]'];
const WATCHDOG_MS = 30_000;

const gc = () => (window as unknown as { gc?: () => void }).gc?.();
const pageHeap = () => {
  gc();
  return (performance as unknown as { memory?: { usedJSHeapSize: number } }).memory?.usedJSHeapSize ?? null;
};

function guardFor(timeout: number): HostileGuard {
  return createHostileGuard({ timeout, unresponsiveAfter: 1000 }, { engineReleaseMs: 200 });
}

async function timeouts() {
  const rows = [];
  for (const [kind, marker] of TIMEOUT_KINDS) {
    for (const timeout of TIMEOUTS) {
      const t = guardFor(timeout);
      const overshoot: number[] = [];
      const outcomes: Record<string, number> = {};
      for (let i = 0; i < REPEATS; i++) {
        // Idle and ready first, so the check starts at once: what is measured is the timeout path only.
        await t.guard.checkPrompt(`warm ${kind} ${timeout} ${i}`);
        const t0 = performance.now();
        const v = await t.guard.checkPrompt(`${marker} ${i}`);
        overshoot.push(performance.now() - t0 - timeout);
        const outcome = v.failure?.code ?? v.source;
        outcomes[outcome] = (outcomes[outcome] ?? 0) + 1;
      }
      rows.push({ kind, timeout, overshootMs: summarize(overshoot), outcomes, workers: t.workers.length });
      console.log(`[progress] timeouts: ${kind}, ${timeout} ms: max overshoot ${Math.max(...overshoot).toFixed(0)} ms`);
      t.guard.dispose();
    }
  }
  return rows;
}

async function soak() {
  const t = guardFor(1000);
  await t.guard.ready;
  let hung = 0;
  let plainErrors = 0;
  let typedRejections = 0;
  let malformed = 0;
  let unrecovered = 0;
  let faults = 0;
  const heap: Array<{ checks: number; pageBytes: number | null }> = [];
  const started = performance.now();
  for (let done = 0; done < SOAK_CHECKS; done += SOAK_BURST) {
    if (done % 2000 === 0) {
      console.log(`[progress] soak: ${done} checks, ${((performance.now() - started) / 1000).toFixed(0)} s`);
      await Comlink.wrap<{ resetStats(): void }>(t.workers.at(-1)!).resetStats().catch(() => undefined);
      heap.push({ checks: done, pageBytes: pageHeap() });
    }
    const calls: Array<{ plain: boolean; promise: Promise<Verdict> }> = [];
    for (let i = done; i < done + SOAK_BURST; i++) {
      const fault = i % FAULT_EVERY === FAULT_EVERY - 1 ? SOAK_FAULTS[Math.floor(i / FAULT_EVERY) % SOAK_FAULTS.length] : undefined;
      if (fault) faults++;
      const text = `soak message ${i} ${fault ?? ''}`;
      calls.push({ plain: !fault, promise: i % 3 ? t.guard.checkPrompt(text) : t.guard.checkResponse('q', text) });
    }
    let timer: ReturnType<typeof setTimeout> | undefined;
    const watchdog = new Promise<'hung'>((resolve) => (timer = setTimeout(() => resolve('hung'), WATCHDOG_MS)));
    const settled = await Promise.all(
      calls.map(({ plain, promise }) =>
        Promise.race([
          promise.then(
            (v) => (verdictProblem(v) ? 'malformed' : plain && v.source !== 'model' ? 'unrecovered' : 'ok'),
            (e: unknown) => (e instanceof AegisError ? 'typed-rejection' : 'plain-error'),
          ),
          watchdog,
        ]),
      ),
    );
    clearTimeout(timer);
    for (const s of settled) {
      if (s === 'hung') hung++;
      else if (s === 'plain-error') plainErrors++;
      else if (s === 'typed-rejection') typedRejections++;
      else if (s === 'malformed') malformed++;
      else if (s === 'unrecovered') unrecovered++;
    }
  }
  heap.push({ checks: SOAK_CHECKS, pageBytes: pageHeap() });
  const result = { checks: SOAK_CHECKS, faults, hung, plainErrors, typedRejections, malformed, unrecovered, workers: t.workers.length, ms: performance.now() - started, heap, finalState: t.guard.state };
  t.guard.dispose();
  return result;
}

async function poison() {
  const t = guardFor(5000);
  await t.guard.ready;
  let innocentsFailed = 0;
  let poisonBlamed = 0;
  let guardFailed = 0;
  for (let trial = 0; trial < 20; trial++) {
    // The poison goes first, so the ten others are waiting behind it when it kills the worker.
    const bad = t.guard.checkPrompt(`trial ${trial} poison [[fault:crash]]`);
    const innocents = Array.from({ length: 10 }, (_, i) => t.guard.checkPrompt(`trial ${trial} innocent ${i}`));
    for (const v of await Promise.all(innocents)) if (v.source !== 'model') innocentsFailed++;
    const v = await bad;
    if (v.failure?.code === 'worker-crashed' && v.failure.details?.duringCheck === true) poisonBlamed++;
    if (t.guard.state === 'failed') guardFailed++;
    console.log(`[progress] poison: trial ${trial + 1}`);
  }
  const result = { trials: 20, poisonBlamed, innocentsFailed, guardFailed, workers: t.workers.length };
  t.guard.dispose();
  return result;
}

publishBenchResult(async () => ({
  userAgent: navigator.userAgent,
  hardwareConcurrency: navigator.hardwareConcurrency,
  timeouts: await timeouts(),
  soak: await soak(),
  poison: await poison(),
}));
