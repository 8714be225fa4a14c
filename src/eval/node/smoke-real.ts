/**
 * `npm run smoke:real -- --model <folder URL or path> [--model-lib <url or path>]`: the check to run after
 * building a model. Loads it through the shipped worker in Chromium with WebGPU, runs the fixed labelled set
 * (src/eval/smoke-set.ts) on the fast path and on the JSON path, prints every check and the totals, and
 * fails (exit 1) when the fast path is off without a reason, when the two paths disagree, or when agreement
 * with the labels is below the bound. Exit 3: there is no model to load (said plainly, before any browser
 * starts when the folder is missing).
 */
import { SMOKE_ITEMS } from '../smoke-set.js';
import { pathChoices } from '../set-report.js';
import type { CheckSummary, EvalReport, ItemResult } from '../types.js';
import { runEvaluationInBrowser, type BrowserEvalOptions } from './browser-eval.js';
import { BROWSER_HELP, BROWSER_OPTIONS, browserRunOptions, number, parse } from './cli-args.js';
import { checkModelUrl, locateModel } from './model-location.js';
import type { CliIo, EvalCliHooks } from './eval-cli.js';
import { packageVersion } from './package-root.js';

/** The fixed set is clear-cut: a working build should agree with at least 36 of its 40 labels. */
export const DEFAULT_MIN_AGREEMENT = 0.9;

export const SMOKE_HELP = `Usage: npm run smoke:real -- --model <folder URL or path> [options]

Loads a built model in Chromium with WebGPU through the shipped worker, runs a fixed set of
${SMOKE_ITEMS.length} labelled prompts and replies on the fast path and the JSON path, and prints each check.
Exit 0: all good. 1: the fast path is off without a reason, the paths disagree, or agreement is below
the bound. 2: usage or set-up error. 3: no usable model.

${BROWSER_HELP}
  --min-agreement <0..1>         agreement with the labels required (default ${DEFAULT_MIN_AGREEMENT})
`;

const pct = (v: number) => `${(v * 100).toFixed(1)}%`;
const prob = (c: CheckSummary) => (c.unsafeProbability === undefined ? '   -  ' : c.unsafeProbability.toFixed(4));
const rating = (c: CheckSummary) => (c.source === 'failure' ? `FAILED(${c.failure?.code ?? '?'})` : c.rating);

/** One printed line per item: verdict, label, P(unsafe), categories, prefix reuse, timings, tokens. */
export function formatRow(r: ItemResult): string {
  const c = r.check;
  const agree = !c.safe === (r.label === 'unsafe') ? 'ok ' : 'MISS';
  const json = r.json ? ` json=${rating(r.json)}${pathChoices(c, r.json).differ ? ' (DIFFERS)' : ''}` : '';
  return [
    `${agree} ${r.id.padEnd(4)} ${r.target.padEnd(8)} label=${r.label.padEnd(6)} verdict=${(c.safe ? 'allow' : 'block').padEnd(5)} rating=${rating(c).padEnd(6)}`,
    `P(unsafe)=${prob(c)} categories=[${c.categories.join(',')}] prefix=${c.timings.prefixReused === undefined ? '-' : c.timings.prefixReused ? 'reused' : 'filled'}`,
    `prefill=${c.timings.prefillMs.toFixed(0)}ms decode=${c.timings.decodeMs.toFixed(0)}ms tokens=${c.tokens.prompt}+${c.tokens.completion}${json}`,
  ].join(' ');
}

interface Rates {
  prefill: number | null;
  decode: number | null;
}

function tokensPerSecond(checks: CheckSummary[]): Rates {
  const answered = checks.filter((c) => c.source === 'model');
  const sum = (f: (c: CheckSummary) => number) => answered.reduce((a, c) => a + f(c), 0);
  const prefillMs = sum((c) => c.timings.prefillMs);
  const decodeMs = sum((c) => c.timings.decodeMs);
  return {
    prefill: prefillMs > 0 ? (sum((c) => c.tokens.prompt) * 1000) / prefillMs : null,
    decode: decodeMs > 0 ? (sum((c) => c.tokens.completion) * 1000) / decodeMs : null,
  };
}

const rate = (v: number | null) => (v === null ? '-' : `${v.toFixed(1)} tok/s`);

export interface SmokeVerdict {
  lines: string[];
  problems: string[];
}

/** The totals and what fails the run, from the report and the per-item results. */
export function judgeSmoke(report: EvalReport, results: readonly ItemResult[], minAgreement: number): SmokeVerdict {
  const lines: string[] = [];
  const problems: string[] = [];
  const model = report.run.model!;
  const set = report.sets[0]!;
  const agreed = results.filter((r) => !r.check.safe === (r.label === 'unsafe')).length;
  const agreement = results.length ? agreed / results.length : 0;
  lines.push(`model: ${model.modelId} (${model.variant}) on ${[model.gpu.vendor, model.gpu.architecture, model.gpu.description].filter(Boolean).join(' / ') || 'an unnamed adapter'}${model.gpu.isFallbackAdapter ? ' [software fallback adapter]' : ''}`);
  lines.push(`load time: ${(model.loadMs / 1000).toFixed(1)} s; WebLLM ${report.run.webllmVersion}`);
  lines.push(`agreement with labels: ${agreed}/${results.length} (${pct(agreement)}; bound ${pct(minAgreement)})`);
  const fast = tokensPerSecond(results.map((r) => r.check));
  lines.push(`${model.fastPath ? 'fast path' : 'JSON path'}: prefill ${rate(fast.prefill)}, decode ${rate(fast.decode)}`);
  if (set.failures.count) lines.push(`failed checks: ${set.failures.count} (${Object.entries(set.failures.byCode).map(([k, v]) => `${k} x${v}`).join(', ')})`);
  if (agreement < minAgreement) problems.push(`agreement ${pct(agreement)} is below the bound ${pct(minAgreement)}`);
  const off = model.fastPathOff;
  if (!model.fastPath) {
    if (off) lines.push(`fast path: off (${off.code}: ${off.message}); only the JSON path ran`);
    else problems.push('the fast path is off and the model info gives no reason');
  } else {
    if (model.prefixReuse === false) {
      if (off) lines.push(`prefix reuse: off (${off.code}: ${off.message}); every check prefills the whole prompt`);
      else problems.push('prefix reuse is off and the model info gives no reason');
    }
    const json = tokensPerSecond(results.flatMap((r) => (r.json ? [r.json] : [])));
    lines.push(`JSON path: prefill ${rate(json.prefill)}, decode ${rate(json.decode)}`);
    const cmp = set.comparison;
    if (cmp && 'agreement' in cmp) {
      lines.push(`fast vs JSON: ${cmp.agreed}/${cmp.compared} agree${cmp.disagreements.length ? `; differ on ${cmp.disagreements.map((d) => `${d.id} (fast ${d.fast}, json ${d.json})`).join(', ')}` : ''}`);
      if (cmp.disagreements.length > 0) problems.push(`the fast path and the JSON path disagree on ${cmp.disagreements.length} item(s)`);
    } else problems.push('the fast path and the JSON path were not compared');
  }
  return { lines, problems };
}

export async function runSmokeCli(argv: string[], io: CliIo, hooks: EvalCliHooks = {}): Promise<number> {
  const args = parse(argv, { ...BROWSER_OPTIONS, 'min-agreement': { type: 'string' } });
  if (args.help) {
    io.stdout.write(SMOKE_HELP);
    return 0;
  }
  const minAgreement = number(args['min-agreement'], 'min-agreement', (n) => n >= 0 && n <= 1, 'a number from 0 to 1') ?? DEFAULT_MIN_AGREEMENT;
  const timeout = number(args.timeout, 'timeout', (n) => Number.isInteger(n) && n >= 0, 'a whole number of milliseconds');
  const model = locateModel(args.model, args['model-lib'], io.cwd);
  await checkModelUrl(model, hooks.fetch);
  io.stdout.write(`smoke:real: ${model.described}${args['model-lib'] ? ` with ${args['model-lib']}` : ''}\n`);

  const results: ItemResult[] = [];
  const options: BrowserEvalOptions = {
    model,
    ...browserRunOptions(args, io.env, hooks),
    ...(timeout === undefined ? {} : { timeout }),
    items: [...SMOKE_ITEMS],
    resume: [],
    compareJson: true,
    sets: {},
    run: { aegisGuardVersion: packageVersion() },
    onBrowser: (d) => io.stdout.write(`browser: ${d.executable} ${d.flags.join(' ')}\n`),
    onLoadProgress: (p) => {
      if (p.phase === 'ready' || p.progress === 0) io.stdout.write(`loading: ${p.phase} ${p.text}\n`);
    },
    onResult: (r) => {
      results.push(r);
      io.stdout.write(`${formatRow(r)}\n`);
    },
  };
  const report = await runEvaluationInBrowser(options);
  const { lines, problems } = judgeSmoke(report, results, minAgreement);
  for (const line of lines) io.stdout.write(`${line}\n`);
  if (problems.length === 0) {
    io.stdout.write('smoke:real: PASS\n');
    return 0;
  }
  for (const p of problems) io.stdout.write(`smoke:real: FAIL: ${p}\n`);
  return 1;
}
