/** `npm run bench:stack`: the stack-overhead benchmark in Chromium (see bench/stack/stack-bench.ts). */
import { runBrowserBench } from './browser-runner.js';

interface StackResult {
  loadMs: number;
  sequentialMs: { n: number; p50: number; p95: number; p99: number; max: number };
  cachedMs: { n: number; p50: number; p95: number };
  burst: { checks: number; ms: number; checksPerSecond: number; issueMsPerCheck: number };
  longTasks: { count: number; maxMs: number };
}

const r = await runBrowserBench<StackResult>('stack', '/bench/stack/index.html');
const f = (n: number) => n.toFixed(3);
console.log(`
Stack overhead per check (instant engine, real client + worker + Comlink + queue), Chromium:
  sequential round trip  p50 ${f(r.sequentialMs.p50)} ms  p95 ${f(r.sequentialMs.p95)} ms  p99 ${f(r.sequentialMs.p99)} ms  (n=${r.sequentialMs.n}; goal p50 <= 1 ms)
  cached repeat          p50 ${f(r.cachedMs.p50)} ms  p95 ${f(r.cachedMs.p95)} ms
  burst throughput       ${r.burst.checksPerSecond.toFixed(0)} checks/s (${r.burst.checks} checks in ${r.burst.ms.toFixed(0)} ms; goal >= 2000/s)
  main-thread cost to issue one check  ${(r.burst.issueMsPerCheck * 1000).toFixed(1)} µs
  main-thread long tasks ${r.longTasks.count} (max ${r.longTasks.maxMs.toFixed(0)} ms) during load and all checks; goal 0
  load (preflight + scripted load) ${r.loadMs.toFixed(0)} ms`);
