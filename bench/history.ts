/**
 * `npm run bench:history`: a 500-message history on a returning user's second visit, in Chromium (see
 * bench/history/history-bench.ts). Visits in one browser profile, in this order: the first visit (judged and
 * stored), then second visits interleaved: persistent cache on, cache off, and as 500 `<aegis-guard>`
 * elements, three times each.
 */
import { runBrowserVisits } from './browser-runner.js';
import type { VisitResult } from './history/history-bench.js';
import { median } from './stats.js';

const REPEATS = 3;
const paths = ['/bench/history/index.html?visit=first'];
for (let r = 0; r < REPEATS; r++) {
  for (const visit of ['second', 'second-off', 'second-element']) paths.push(`/bench/history/index.html?visit=${visit}&r=${r}`);
}
const results = await runBrowserVisits<VisitResult>('history', paths);
const f = (n: number) => n.toFixed(0).padStart(6);
console.log(`
A 500-message history (250 prompt/reply pairs), scripted engine, Chromium, real client + worker + IndexedDB.
  visit            settled ms (median; runs)          first verdict ms   since navigation ms   sources                 model checks`);
for (const visit of ['first', 'second', 'second-off', 'second-element']) {
  const runs = results.filter((r) => r.visit === visit);
  const s = runs[0]!;
  console.log(
    `  ${visit.padEnd(15)} ${f(median(runs.map((r) => r.settledMs)))} (${runs.map((r) => r.settledMs.toFixed(0)).join(', ')})`.padEnd(52) +
      `${f(median(runs.map((r) => r.firstVerdictMs)))}             ${f(median(runs.map((r) => r.settledSinceNavigationMs)))}         ${JSON.stringify(s.sources).padEnd(24)}${runs.map((r) => r.modelChecks).join(', ')}`,
  );
}
const second = results.filter((r) => r.visit === 'second');
const ok = second.every((r) => r.modelChecks === 0 && r.sources.cache === r.messages && r.settledMs < 1000);
console.log(`  goal (second visit: no model checks, every verdict settled in under 1 s): ${ok ? 'met' : 'NOT met'}`);
