/**
 * The guard stack's own cost per check: page -> client -> Comlink -> worker queue -> engine -> back, with an
 * engine that answers instantly (the scripted test engine), so what is measured is our code and the worker
 * boundary, not a model. Also watches for main-thread long tasks (> 50 ms) during load and checks.
 */
import { createTestGuard } from '../../test/helpers/test-guard.js';
import { summarize } from '../stats.js';
import { publishBenchResult } from '../page-result.js';

const SEQUENTIAL = 2000;
const BURST = 5000;
const BURST_SLICE = 500;
const WARMUP = 200;

const longTasks: { phase: string; ms: number }[] = [];
let phase = 'page-start';
new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) longTasks.push({ phase, ms: entry.duration });
}).observe({ type: 'longtask', buffered: true });

async function run() {
  phase = 'load';
  const loadStart = performance.now();
  const { guard } = createTestGuard({ timeout: 0 });
  await guard.ready;
  const loadMs = performance.now() - loadStart;

  phase = 'sequential';
  for (let i = 0; i < WARMUP; i++) await guard.checkPrompt(`warm-up message ${i}`);

  // One at a time: the round trip a single message pays. Distinct texts so the cache never answers.
  const latencies: number[] = [];
  for (let i = 0; i < SEQUENTIAL; i++) {
    const t0 = performance.now();
    await guard.checkPrompt(`sequential message number ${i}`);
    latencies.push(performance.now() - t0);
  }

  // Many at once: throughput of the queue and the boundary.
  phase = 'burst';
  const burstStart = performance.now();
  // Issued 500 per task, as when a 500-message chat history mounts at once; one synchronous loop of 5000
  // would itself be a long task of the page's making (5000 x the per-check cost below).
  const pending: Promise<unknown>[] = [];
  let issueMs = 0;
  for (let slice = 0; slice < BURST; slice += BURST_SLICE) {
    const t0 = performance.now();
    for (let i = slice; i < Math.min(BURST, slice + BURST_SLICE); i++) pending.push(guard.checkPrompt(`burst message number ${i}`));
    issueMs += performance.now() - t0;
    await new Promise((r) => setTimeout(r, 0));
  }
  await Promise.all(pending);
  const burstMs = performance.now() - burstStart;

  // Cached repeats: the path a re-rendered chat history takes.
  phase = 'cached';
  const cached: number[] = [];
  for (let i = 0; i < 500; i++) {
    const t0 = performance.now();
    await guard.checkPrompt(`sequential message number ${i}`);
    cached.push(performance.now() - t0);
  }
  guard.dispose();
  await new Promise((r) => setTimeout(r, 100));
  return {
    userAgent: navigator.userAgent,
    loadMs,
    sequentialMs: summarize(latencies),
    cachedMs: summarize(cached),
    burst: { checks: BURST, ms: burstMs, checksPerSecond: (BURST / burstMs) * 1000, issueMsPerCheck: issueMs / BURST },
    longTasks: { count: longTasks.length, maxMs: Math.max(0, ...longTasks.map((t) => t.ms)), all: longTasks },
  };
}

publishBenchResult(run);
