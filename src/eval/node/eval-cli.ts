/**
 * `aegis-guard eval`: loads public sets, runs them through the guard in Chromium with WebGPU, resumes an
 * interrupted run, and writes eval-report.json and eval-report.html.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { AegisError } from '../../core/errors.js';
import { DATASETS, datasetById } from '../datasets/catalog.js';
import { loadSet } from '../datasets/load.js';
import { renderReportHtml } from '../report-html.js';
import type { EvalItem, EvalReport, SetInfo } from '../types.js';
import { runEvaluationInBrowser, type BrowserEvalOptions } from './browser-eval.js';
import { BROWSER_HELP, BROWSER_OPTIONS, browserRunOptions, number, parse } from './cli-args.js';
import { CliError } from './cli-error.js';
import { nodeFileSource } from './dataset-files.js';
import { checkModelUrl, locateModel } from './model-location.js';
import { PACKAGE_ROOT, packageVersion } from './package-root.js';
import { progressBar } from './progress-bar.js';
import { openResultsFile, RESULTS_FILE } from './results-file.js';

export const DEFAULT_SETS = ['openai-moderation', 'xstest-response'];

export const EVAL_HELP = `Usage: aegis-guard eval --model <folder URL or path> [options]

Runs labelled public sets through the guard in Chromium with WebGPU and writes eval-report.json and
eval-report.html (our figures beside the published ones). An interrupted run resumes from
eval-results.jsonl in the output folder.

${BROWSER_HELP}
  --sets <id,id,...>             default ${DEFAULT_SETS.join(',')}; known: ${DATASETS.map((d) => d.id).join(', ')}
  --limit <N>                    at most N items per set, evenly spaced through it
  --threshold <t>                P(unsafe) at or above which the guard blocks (default 0.5)
  --compare-json                 also run every item on the JSON path and report disagreements
  --data <folder>                read the sets' files from this folder instead of downloading
  --cache-dir <folder>           download cache (default $AEGIS_GUARD_CACHE or ~/.cache/aegis-guard)
  --offline                      never download (cached or local files only)
  --hf-token <token>             Hugging Face token for gated sets (default $HF_TOKEN)
  --out <folder>                 where the results and reports go (default: the current folder)
  --fresh                        discard saved results and start over
`;

/** Test seams: a scripted worker and extra folders to serve. Not reachable from the command line. */
export interface EvalCliHooks {
  workerPath?: string;
  extraMounts?: BrowserEvalOptions['extraMounts'];
  fetch?: typeof fetch;
}

export interface CliIo {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WriteStream;
  env: NodeJS.ProcessEnv;
  cwd: string;
}

const defaultIo = (): CliIo => ({ stdout: process.stdout, stderr: process.stderr, env: process.env, cwd: process.cwd() });

/** The arguments as recorded in the report: a token given on the command line is left out. */
function withoutSecrets(argv: readonly string[]): string[] {
  return argv.filter((a, i) => !a.startsWith('--hf-token') && argv[i - 1] !== '--hf-token');
}

/** N items evenly spaced through the list (all of them when N >= length). */
export function spread<T>(items: readonly T[], limit: number | undefined): T[] {
  if (limit === undefined || limit >= items.length) return [...items];
  return Array.from({ length: limit }, (_, i) => items[Math.floor((i * items.length) / limit)]!);
}

/** Chart.js's self-contained build, inlined into the HTML report; undefined when it is not installed. */
export function chartJsSource(): string | undefined {
  try {
    const main = createRequire(join(PACKAGE_ROOT, 'package.json')).resolve('chart.js');
    const umd = join(dirname(main), 'chart.umd.min.js');
    return existsSync(umd) ? readFileSync(umd, 'utf8') : undefined;
  } catch {
    return undefined;
  }
}

export function writeReports(report: EvalReport, outDir: string): { json: string; html: string; charts: boolean } {
  const json = join(outDir, 'eval-report.json');
  const html = join(outDir, 'eval-report.html');
  const chartScript = chartJsSource();
  writeFileSync(json, `${JSON.stringify(report, null, 2)}\n`);
  writeFileSync(html, renderReportHtml(report, chartScript ? { chartScript } : {}));
  return { json, html, charts: chartScript !== undefined };
}

function summaryLines(report: EvalReport): string[] {
  return report.sets.map((s) => {
    const goal = s.published?.find((p) => p.goal) ?? s.published?.[0];
    const f1 = s.metrics.f1 === null ? '—' : s.metrics.f1.toFixed(3);
    const vs = goal && goal.difference !== null ? ` (published ${goal.value.toFixed(3)}, ${goal.difference >= 0 ? '+' : ''}${(goal.difference * 100).toFixed(1)} points)` : '';
    const cmp = s.comparison && 'agreement' in s.comparison && s.comparison.agreement !== null ? `, fast=JSON ${(s.comparison.agreement * 100).toFixed(1)}%` : '';
    return `${s.set}: F1 ${f1}${vs}, precision ${s.metrics.precision?.toFixed(3) ?? '—'}, recall ${s.metrics.recall?.toFixed(3) ?? '—'}, AUPRC ${s.scores.auprc?.toFixed(3) ?? '—'}, failures ${s.failures.count}${cmp}`;
  });
}

export async function runEvalCli(argv: string[], io: CliIo = defaultIo(), hooks: EvalCliHooks = {}): Promise<number> {
  const args = parse(argv, {
    ...BROWSER_OPTIONS,
    sets: { type: 'string' },
    limit: { type: 'string' },
    threshold: { type: 'string' },
    'compare-json': { type: 'boolean' },
    data: { type: 'string' },
    'cache-dir': { type: 'string' },
    offline: { type: 'boolean' },
    'hf-token': { type: 'string' },
    out: { type: 'string' },
    fresh: { type: 'boolean' },
  });
  if (args.help) {
    io.stdout.write(EVAL_HELP);
    return 0;
  }
  const limit = number(args.limit, 'limit', (n) => Number.isInteger(n) && n >= 1, 'a positive integer');
  const threshold = number(args.threshold, 'threshold', (n) => n >= 0 && n <= 1, 'a number from 0 to 1');
  const timeout = number(args.timeout, 'timeout', (n) => Number.isInteger(n) && n >= 0, 'a whole number of milliseconds');
  const setIds = (args.sets ?? DEFAULT_SETS.join(',')).split(',').map((s) => s.trim()).filter(Boolean);
  let definitions;
  try {
    definitions = setIds.map(datasetById);
  } catch (error) {
    throw new CliError((error as Error).message, 2);
  }
  const model = locateModel(args.model, args['model-lib'], io.cwd);
  await checkModelUrl(model, hooks.fetch);
  const outDir = resolve(io.cwd, args.out ?? '.');

  const source = nodeFileSource({
    ...(args.data ? { dataDir: resolve(io.cwd, args.data) } : {}),
    ...(args['cache-dir'] ? { cacheDir: resolve(io.cwd, args['cache-dir']) } : {}),
    offline: args.offline === true,
    ...((args['hf-token'] ?? io.env.HF_TOKEN) ? { hfToken: args['hf-token'] ?? io.env.HF_TOKEN } : {}),
    ...(io.env.HF_ENDPOINT ? { hfEndpoint: io.env.HF_ENDPOINT } : {}),
    ...(hooks.fetch ? { fetch: hooks.fetch } : {}),
  });
  const items: EvalItem[] = [];
  const sets: Record<string, SetInfo> = {};
  for (const definition of definitions) {
    try {
      const loaded = await loadSet(definition, source);
      const chosen = spread(loaded.items, limit);
      items.push(...chosen);
      sets[definition.id] = loaded.info;
      const from = [...new Set(loaded.info.sources?.map((s) => s.obtained))].join('/');
      io.stderr.write(`${definition.id}: ${chosen.length}${chosen.length < loaded.items.length ? ` of ${loaded.items.length}` : ''} items (${from})\n`);
    } catch (error) {
      if (error instanceof AegisError) throw new CliError(error.message, 2);
      throw error;
    }
  }

  const results = openResultsFile(
    join(outDir, RESULTS_FILE),
    {
      model: model.described,
      modelLib: args['model-lib'] ?? null,
      variant: args.variant ?? 'auto',
      threshold: threshold ?? 0.5,
      compareJson: args['compare-json'] === true,
    },
    args.fresh === true,
  );
  if (results.saved.length) io.stderr.write(`resuming: ${results.saved.length} results saved in ${join(outDir, RESULTS_FILE)}\n`);

  const bar = progressBar(io.stderr);
  let browser = '';
  let report: EvalReport;
  try {
    report = await runEvaluationInBrowser({
      model,
      ...browserRunOptions(args, io.env, hooks),
      ...(threshold === undefined ? {} : { threshold }),
      ...(timeout === undefined ? {} : { timeout }),
      items,
      resume: results.saved,
      compareJson: args['compare-json'] === true,
      sets,
      run: { aegisGuardVersion: packageVersion(), command: ['eval', ...withoutSecrets(argv)].join(' '), threshold: threshold ?? 0.5 },
      onBrowser: (d) => (browser = `${d.executable} ${d.flags.join(' ')}`),
      onResult: (r) => results.append(r),
      onProgress: (p) => bar.update(p),
      onLoadProgress: (p) => bar.load(p),
    });
  } finally {
    bar.end();
  }
  report.run.browser = browser;
  const written = writeReports(report, outDir);
  for (const line of summaryLines(report)) io.stdout.write(`${line}\n`);
  io.stdout.write(`wrote ${written.json} and ${written.html}${written.charts ? '' : ' (no charts: install chart.js to draw them)'}\n`);
  return 0;
}
