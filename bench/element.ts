/** `npm run bench:element`: 500 `<aegis-guard>` messages in Chromium, main-thread long tasks (see bench/element/element-bench.ts). */
import { runBrowserBench } from './browser-runner.js';
import type { ScenarioResult } from './element/element-bench.js';


const r = await runBrowserBench<{ userAgent: string; hardwareConcurrency: number; repeats: number; runs: ScenarioResult[][] }>(
  'element',
  '/bench/element/index.html',
);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const f = (n: number) => n.toFixed(0).padStart(6);
console.log(`
500 messages, scripted engine (real client + worker + Comlink + queue), Chromium, ${r.hardwareConcurrency} cores, ${r.repeats} interleaved runs each.
Long tasks are main-thread tasks over 50 ms (PerformanceObserver 'longtask'), counted from the append until every message settled.
  scenario              mount task ms (median)   settled ms (median)   judged  blocked   long tasks per run   longest ms`);
for (const runs of r.runs) {
  const s = runs[0]!;
  const counts = runs.map((x) => x.longTasks.count).join(', ');
  const longest = Math.max(...runs.map((x) => x.longTasks.maxMs));
  console.log(
    `  ${s.name.padEnd(20)}  ${f(median(runs.map((x) => x.mountTaskMs)))}                   ${f(median(runs.map((x) => x.settleMs)))}                ${String(s.settled).padStart(4)}    ${String(s.blocked).padStart(4)}     ${counts.padEnd(18)} ${longest.toFixed(0)}`,
  );
}
console.log('  goal: no long task while a 500-message history mounts and settles; plain-divs-control is the same history without the element');
