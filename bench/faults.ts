/** `npm run bench:faults`: how checks settle under hostile engines and workers, in Chromium (see bench/faults/faults-bench.ts). */
import { runBrowserBench } from './browser-runner.js';

interface Summary {
  n: number;
  p50: number;
  p95: number;
  max: number;
}
interface FaultsResult {
  hardwareConcurrency: number;
  timeouts: Array<{ kind: string; timeout: number; overshootMs: Summary; outcomes: Record<string, number>; workers: number }>;
  soak: {
    checks: number;
    faults: number;
    hung: number;
    plainErrors: number;
    typedRejections: number;
    malformed: number;
    unrecovered: number;
    workers: number;
    ms: number;
    finalState: string;
    heap: Array<{ checks: number; pageBytes: number | null }>;
  };
  poison: { trials: number; poisonBlamed: number; innocentsFailed: number; guardFailed: number; workers: number };
}

// Precise heap figures and a callable gc() on the page and in workers.
const r = await runBrowserBench<FaultsResult>('faults', '/bench/faults/index.html', 900_000, ['--enable-precise-memory-info', '--js-flags=--expose-gc']);
const f = (n: number) => n.toFixed(0).padStart(5);
const mb = (b: number | null) => (b === null ? '   n/a' : (b / 1e6).toFixed(2).padStart(6));
console.log(`
Timeouts: a check on an idle guard whose engine does not finish, ${r.timeouts[0]?.overshootMs.n ?? 0} runs each, ${r.hardwareConcurrency} cores.
Overshoot = call-to-settle time minus the timeout. Goal: max <= 250 ms.
  engine                          timeout   p50    p95    max   outcomes                 workers used`);
for (const row of r.timeouts) {
  const o = row.overshootMs;
  const outcomes = Object.entries(row.outcomes)
    .map(([k, v]) => `${k} ${v}`)
    .join(', ');
  console.log(`  ${row.kind.padEnd(30)}  ${f(row.timeout)}  ${f(o.p50)}  ${f(o.p95)}  ${f(o.max)}   ${outcomes.padEnd(24)} ${row.workers}`);
}
const worst = Math.max(...r.timeouts.map((row) => row.overshootMs.max));
console.log(`  worst overshoot ${worst.toFixed(0)} ms (goal <= 250)`);
const s = r.soak;
console.log(`
Soak: ${s.checks} checks in bursts of 50, ${s.faults} with a fault (crash, self.close(), never-returning engine, non-Error throw, unclonable answer, engine error), ${(s.ms / 1000).toFixed(1)} s.
  hung ${s.hung} (goal 0)   plain errors ${s.plainErrors} (goal 0)   malformed verdicts ${s.malformed}   plain checks without a model verdict ${s.unrecovered} (goal 0)
  typed rejections ${s.typedRejections}   workers used ${s.workers}   final state ${s.finalState}
  page heap after GC (MB):`);
for (const h of s.heap) console.log(`    after ${String(h.checks).padStart(5)} checks  ${mb(h.pageBytes)}`);
const p = r.poison;
console.log(`
Poison: ${p.trials} trials of a worker-killing message ahead of ten others, one guard.
  poison blamed ${p.poisonBlamed}/${p.trials}   innocent checks failed ${p.innocentsFailed} (goal 0)   guard failed ${p.guardFailed} times (goal 0)   workers used ${p.workers}`);
