/**
 * /demo/eval.html: the evaluation for people without Node. Sets come from their public homes (or files the
 * reader picks), run through a real guard in this page, and the report is the same HTML the CLI writes.
 * Finished items are saved in localStorage per configuration, so a reload or a stopped run resumes.
 */
import { createGuard } from '../src/client/create-guard.js';
import { DATASETS, datasetById } from '../src/eval/datasets/catalog.js';
import type { DatasetDefinition } from '../src/eval/datasets/definition.js';
import { httpFileSource, loadSet, type FileSource } from '../src/eval/datasets/load.js';
import { sha256Hex } from '../src/core/sha256.js';
import { evaluate } from '../src/eval/evaluate.js';
import { renderReportHtml } from '../src/eval/report-html.js';
import type { EvalItem, ItemResult, SetInfo } from '../src/eval/types.js';
// Chart.js's self-contained build, inlined into the report like the CLI does (its exports map hides the path).
import chartScript from '../node_modules/chart.js/dist/chart.umd.min.js?raw';

const form = document.querySelector<HTMLFormElement>('#form')!;
const status = document.querySelector<HTMLElement>('#status')!;
const progress = document.querySelector<HTMLProgressElement>('#progress')!;
const frame = document.querySelector<HTMLIFrameElement>('#report')!;
const downloads = document.querySelector<HTMLElement>('#downloads')!;
const stopButton = document.querySelector<HTMLButtonElement>('#stop')!;

const DEFAULT_SETS = new Set(['openai-moderation', 'xstest-response']);
document.querySelector('#sets')!.append(
  ...DATASETS.map((d) => {
    const label = document.createElement('label');
    const box = Object.assign(document.createElement('input'), { type: 'checkbox', name: 'set', value: d.id, checked: DEFAULT_SETS.has(d.id) });
    label.append(box, ` ${d.title}${d.gated ? ' (gated)' : ''}`);
    return label;
  }),
);

function say(text: string, error = false): void {
  status.textContent = text;
  status.classList.toggle('error', error);
}

const duration = (ms: number) => (ms < 60_000 ? `${Math.round(ms / 1000)} s` : `${Math.floor(ms / 60_000)} min ${Math.round((ms % 60_000) / 1000)} s`);

/** Local files first (matched by the set's file names), else the public home. */
function fileSource(picked: FileList | null, hfToken: string): FileSource {
  const download = httpFileSource(hfToken ? { hfToken } : {});
  const byName = new Map([...(picked ?? [])].map((f) => [f.name, f]));
  return async (set: DatasetDefinition, file) => {
    const local = file.localNames.map((n) => byName.get(n)).find(Boolean);
    if (!local) return download(set, file);
    const bytes = new Uint8Array(await local.arrayBuffer());
    return { bytes, source: { url: local.name, revision: file.revision, licence: set.licence, obtained: 'local', sha256: await sha256Hex(bytes) } };
  };
}

const spread = <T>(items: T[], limit: number | undefined) =>
  limit === undefined || limit >= items.length ? items : Array.from({ length: limit }, (_, i) => items[Math.floor((i * items.length) / limit)]!);

function storageKey(config: Record<string, unknown>): string {
  return `aegis-guard-eval:${JSON.stringify(config)}`;
}

function offerDownload(name: string, type: string, body: string): HTMLAnchorElement {
  return Object.assign(document.createElement('a'), { href: URL.createObjectURL(new Blob([body], { type })), download: name, textContent: name });
}

let running: AbortController | undefined;

form.addEventListener('submit', (event) => {
  event.preventDefault();
  void run();
});
stopButton.addEventListener('click', () => running?.abort());
document.querySelector('#forget')!.addEventListener('click', () => {
  for (const key of Object.keys(localStorage)) if (key.startsWith('aegis-guard-eval:')) localStorage.removeItem(key);
  say('Saved results forgotten.');
});

async function run(): Promise<void> {
  const data = new FormData(form);
  const setIds = data.getAll('set').map(String);
  if (setIds.length === 0) return say('Choose at least one set.', true);
  const limit = data.get('limit') ? Number(data.get('limit')) : undefined;
  const threshold = Number(data.get('threshold') ?? 0.5);
  const compareJson = data.get('compareJson') === 'on';
  const model = String(data.get('model'));
  const modelLib = String(data.get('modelLib') ?? '').trim();
  const source = fileSource(form.querySelector<HTMLInputElement>('input[name=files]')!.files, String(data.get('hfToken') ?? '').trim());

  running = new AbortController();
  stopButton.disabled = false;
  frame.hidden = true;
  downloads.hidden = true;
  const items: EvalItem[] = [];
  const sets: Record<string, SetInfo> = {};
  const guard = createGuard({ model: { weightsUrl: model, ...(modelLib ? { modelLibUrl: modelLib } : {}) }, threshold });
  guard.on('progress', (p) => say(`Loading the model: ${p.phase} ${Math.round(p.progress * 100)}% ${p.text}`));
  try {
    for (const id of setIds) {
      say(`Fetching ${id}…`);
      const loaded = await loadSet(datasetById(id), source);
      items.push(...spread(loaded.items, limit));
      sets[id] = loaded.info;
    }
    const key = storageKey({ model, modelLib, threshold, compareJson });
    const saved = JSON.parse(localStorage.getItem(key) ?? '[]') as ItemResult[];
    progress.hidden = false;
    const report = await evaluate(guard, items, {
      signal: running.signal,
      resume: saved,
      compareJson,
      sets,
      run: { aegisGuardVersion: 'demo', threshold },
      onResult: (r) => {
        saved.push(r);
        try {
          localStorage.setItem(key, JSON.stringify(saved));
        } catch {
          // Storage full: the run goes on, only resuming is lost.
        }
      },
      onProgress: (p) => {
        progress.max = p.total;
        progress.value = p.done;
        say(`${p.done} of ${p.total} checked${p.resumed ? ` (${p.resumed} resumed)` : ''}${p.failures ? `, ${p.failures} failed` : ''}${p.etaMs === undefined ? '' : `, about ${duration(p.etaMs)} left`}`);
      },
    });
    const html = renderReportHtml(report, { chartScript });
    frame.srcdoc = html;
    frame.hidden = false;
    downloads.replaceChildren('Download: ', offerDownload('eval-report.html', 'text/html', html), ' ', offerDownload('eval-report.json', 'application/json', JSON.stringify(report, null, 2)));
    downloads.hidden = false;
    say(`Done: ${report.sets.map((s) => `${s.set} F1 ${s.metrics.f1 === null ? '—' : s.metrics.f1.toFixed(3)}`).join(', ')}.`);
  } catch (error) {
    say(error instanceof Error ? `${error.name}: ${error.message}` : String(error), true);
  } finally {
    guard.dispose();
    stopButton.disabled = true;
    running = undefined;
  }
}
