/**
 * The evaluation report as one self-contained HTML page: our figures beside the published ones with the
 * difference, a precision-recall curve and a threshold sweep per set, and the run's model, variant, GPU
 * and WebLLM version. Charts are drawn by Chart.js when its UMD build is passed in (inlined, so the page
 * works offline); without it the page keeps every number in tables.
 */
import type { EvalReport, Percentiles, SetReport } from './types.js';

export interface ReportHtmlOptions {
  /** The source of Chart.js's UMD build (`chart.js/dist/chart.umd.min.js`), inlined into the page. */
  chartScript?: string;
}

const escapeHtml = (value: unknown) =>
  String(value).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

const fixed = (v: number | null | undefined, digits = 3) => (v === null || v === undefined ? '—' : v.toFixed(digits));
const ms = (v: number | undefined) => (v === undefined ? '—' : v < 10 ? v.toFixed(1) : Math.round(v).toString());
/** A difference of two F1 values in points (x100), signed. */
const points = (v: number | null) => (v === null ? '—' : `${v >= 0 ? '+' : '−'}${Math.abs(v * 100).toFixed(1)}`);

const inlineScript = (source: string) => source.replace(/<\/(script)/gi, '<\\/$1');
const jsonForScript = (value: unknown) => JSON.stringify(value).replace(/</g, '\\u003c');

function table(headers: string[], rows: string[][], className = ''): string {
  return `<table${className ? ` class="${className}"` : ''}><thead><tr>${headers.map((h) => `<th>${h}</th>`).join('')}</tr></thead><tbody>${rows
    .map((r) => `<tr>${r.map((c) => `<td>${c}</td>`).join('')}</tr>`)
    .join('')}</tbody></table>`;
}

function runSection(report: EvalReport): string {
  const { run } = report;
  const m = run.model;
  const rows: Array<[string, string]> = [
    ['Model', m ? `${escapeHtml(m.modelId)} (${escapeHtml(m.variant)})` : '—'],
    ['Weights', m ? escapeHtml(m.weightsUrl) : '—'],
    ['Model library', m ? escapeHtml(m.modelLibUrl) : '—'],
    [
      'GPU',
      m
        ? `${escapeHtml([m.gpu.vendor, m.gpu.architecture, m.gpu.description].filter(Boolean).join(' / ') || 'unnamed adapter')}${
            m.gpu.isFallbackAdapter ? ' <strong class="warn">(software fallback adapter)</strong>' : ''
          }${m.gpu.shaderF16 ? ', shader-f16' : ', no shader-f16'}`
        : '—',
    ],
    [
      'Fast path',
      m
        ? `${m.fastPath ? 'on' : 'off'}${m.fastPath && m.prefixReuse === false ? ', prefix not reused' : ''}${m.fastPathOff ? `: ${escapeHtml(m.fastPathOff.message)}` : ''}`
        : '—',
    ],
    ['Model load', m ? `${(m.loadMs / 1000).toFixed(1)} s` : '—'],
    ['WebLLM', escapeHtml(run.webllmVersion)],
    ['aegis-guard', escapeHtml(run.aegisGuardVersion)],
    ['Fast vs JSON compared', run.compareJson ? 'yes' : 'no'],
    ['Run', `${escapeHtml(run.startedAt)} to ${escapeHtml(run.finishedAt)}; ${(run.durationMs / 1000).toFixed(1)} s checking; ${run.resumed} items resumed`],
  ];
  if (typeof run.browser === 'string') rows.push(['Browser', escapeHtml(run.browser)]);
  if (run.userAgent) rows.push(['User agent', escapeHtml(run.userAgent)]);
  return `<section><h2>Run</h2><table class="facts"><tbody>${rows.map(([k, v]) => `<tr><th>${k}</th><td>${v}</td></tr>`).join('')}</tbody></table></section>`;
}

function goalFigure(set: SetReport) {
  return set.published?.find((p) => p.goal) ?? set.published?.[0];
}

function summarySection(report: EvalReport): string {
  const rows = report.sets.map((s) => {
    const published = goalFigure(s);
    return [
      `<a href="#set-${escapeHtml(s.set)}">${escapeHtml(s.title ?? s.set)}</a>`,
      s.target,
      `${s.items} (${s.positives} unsafe)`,
      `<strong>${fixed(s.metrics.f1)}</strong>`,
      published ? `${fixed(published.value)}` : '—',
      published ? points(published.difference) : '—',
      fixed(s.metrics.precision),
      fixed(s.metrics.recall),
      fixed(s.metrics.falsePositiveRate),
      fixed(s.scores.auprc),
      String(s.failures.count),
      s.comparison && 'agreement' in s.comparison ? fixed(s.comparison.agreement) : '—',
    ];
  });
  return `<section><h2>Summary</h2>${table(
    ['Set', 'Target', 'Items', 'F1 (ours)', 'F1 (published)', 'Δ points', 'Precision', 'Recall', 'FPR', 'AUPRC', 'Failures', 'Fast = JSON'],
    rows,
    'summary',
  )}<p class="note">Unsafe is the positive class. A failed check counts as the guard's decision (unsafe when it fails closed). "—": undefined (e.g. no positives).</p></section>`;
}

const latencyRow = (name: string, p: Percentiles | null) =>
  p ? [name, ms(p.p50), ms(p.p90), ms(p.p95), ms(p.p99), ms(p.max), ms(p.mean)] : [name, '—', '—', '—', '—', '—', '—'];

function setSection(set: SetReport, index: number): string {
  const m = set.metrics;
  const parts: string[] = [`<section id="set-${escapeHtml(set.set)}"><h2>${escapeHtml(set.title ?? set.set)} <small>${escapeHtml(set.set)}</small></h2>`];
  parts.push(
    table(
      ['Items', 'Unsafe', 'Safe', 'TP', 'FP', 'TN', 'FN', 'Precision', 'Recall', 'F1', 'Accuracy', 'FPR', 'AUPRC'],
      [[set.items, set.positives, set.negatives, m.tp, m.fp, m.tn, m.fn, fixed(m.precision), fixed(m.recall), fixed(m.f1), fixed(m.accuracy), fixed(m.falsePositiveRate), fixed(set.scores.auprc)].map(String)],
    ),
  );
  if (set.published?.length) {
    parts.push('<h3>Published figures</h3>');
    parts.push(
      table(
        ['Source', 'F1', 'Ours', 'Δ points', 'Note'],
        set.published.map((p) => [
          p.url ? `<a href="${escapeHtml(p.url)}">${escapeHtml(p.source)}</a>` : escapeHtml(p.source),
          fixed(p.value),
          fixed(m.f1),
          points(p.difference),
          escapeHtml([p.goal ? 'goal: within 1 point' : '', p.note ?? ''].filter(Boolean).join('; ')),
        ]),
      ),
    );
  }
  const best = set.scores.bestF1;
  parts.push(
    `<h3>Scores</h3><p>${set.scores.scored} items with P(unsafe)${set.scores.unscored ? `, ${set.scores.unscored} without (failures or the JSON path)` : ''}${
      best ? `; best F1 on the sweep ${fixed(best.f1)} at threshold ${best.threshold}` : ''
    }.</p>`,
  );
  if (set.scores.scored > 0) {
    parts.push(
      `<div class="charts"><figure><canvas id="pr-${index}" width="480" height="320" aria-label="Precision-recall curve"></canvas><figcaption>Precision-recall curve (AUPRC ${fixed(set.scores.auprc)})</figcaption></figure>` +
        `<figure><canvas id="sweep-${index}" width="480" height="320" aria-label="Threshold sweep"></canvas><figcaption>Threshold sweep over P(unsafe)</figcaption></figure></div>`,
    );
    parts.push(
      `<details><summary>Threshold sweep table</summary>${table(
        ['Threshold', 'Precision', 'Recall', 'F1', 'FPR', 'Accuracy'],
        set.scores.sweep.map((p) => [String(p.threshold), fixed(p.precision), fixed(p.recall), fixed(p.f1), fixed(p.falsePositiveRate), fixed(p.accuracy)]),
      )}</details>`,
    );
  }
  if (set.categories) {
    const c = set.categories;
    parts.push(
      `<h3>Category agreement</h3><p>${c.agreed} of ${c.evaluated} unsafe items the model also called unsafe named an annotated category (${fixed(c.rate)}).</p>`,
    );
    parts.push(
      table(
        ['Annotated', 'Items', 'Named by the model', 'Rate'],
        Object.entries(c.perCategory)
          .sort(([a], [b]) => Number(a.slice(1)) - Number(b.slice(1)))
          .map(([code, v]) => [escapeHtml(code), String(v.annotated), String(v.named), fixed(v.annotated ? v.named / v.annotated : null)]),
      ),
    );
  }
  parts.push(
    `<h3>Latency (ms, ${set.latency.count} checks answered by the model)</h3>`,
    table(['', 'p50', 'p90', 'p95', 'p99', 'max', 'mean'], [
      latencyRow('Check (queue excluded)', set.latency.serviceMs),
      latencyRow('Prefill', set.latency.prefillMs),
      latencyRow('Decode', set.latency.decodeMs),
    ]),
  );
  parts.push(`<h3>Failures</h3><p>${set.failures.count} checks failed${set.failures.count ? ' (counted as unsafe when failing closed)' : ''}.</p>`);
  if (set.failures.count) {
    parts.push(table(['Reason', 'Checks'], Object.entries(set.failures.byCode).map(([k, v]) => [escapeHtml(k), String(v)])));
    parts.push(
      `<details><summary>Examples</summary>${table(['Item', 'Reason', 'Message'], set.failures.examples.map((e) => [escapeHtml(e.id), escapeHtml(e.code), escapeHtml(e.message)]))}</details>`,
    );
  }
  if (set.comparison) {
    parts.push('<h3>Fast path vs JSON path</h3>');
    if ('skipped' in set.comparison) parts.push(`<p>${escapeHtml(set.comparison.skipped)}</p>`);
    else {
      const cmp = set.comparison;
      parts.push(
        `<p>${cmp.agreed} of ${cmp.compared} agree (${fixed(cmp.agreement)}); ${cmp.disagreements.length} disagreements. JSON path: F1 ${fixed(cmp.jsonMetrics.f1)}, precision ${fixed(
          cmp.jsonMetrics.precision,
        )}, recall ${fixed(cmp.jsonMetrics.recall)}.</p>`,
      );
      if (cmp.disagreements.length) {
        parts.push(
          table(
            ['Item', 'Fast', 'JSON', 'P(unsafe)'],
            cmp.disagreements.slice(0, 100).map((d) => [escapeHtml(d.id), d.fast, d.json, fixed(d.unsafeProbability)]),
          ),
        );
      }
    }
  }
  if (set.sources?.length || set.labelMapping) {
    parts.push('<h3>Data</h3>');
    if (set.sources?.length) {
      parts.push(
        table(
          ['File', 'Revision', 'Licence', 'Obtained', 'SHA-256'],
          set.sources.map((s) => [
            `<a href="${escapeHtml(s.url)}">${escapeHtml(s.url)}</a>`,
            escapeHtml(s.resolvedRevision ? `${s.revision} (served ${s.resolvedRevision})` : s.revision),
            escapeHtml(s.licence),
            escapeHtml(s.obtained ?? ''),
            `<code>${escapeHtml(s.sha256 ?? '')}</code>`,
          ]),
          'sources',
        ),
      );
    }
    if (set.labelMapping) parts.push(`<p class="note">Labels: ${escapeHtml(set.labelMapping)}</p>`);
  }
  parts.push('</section>');
  return parts.join('\n');
}

/** Draws the charts from the embedded data; runs in the report page. */
function chartBootstrap(): string {
  return `(() => {
  const data = JSON.parse(document.getElementById('report-data').textContent);
  if (typeof Chart === 'undefined') {
    for (const c of document.querySelectorAll('canvas')) c.replaceWith(Object.assign(document.createElement('p'), { textContent: 'Charts need Chart.js, which was not available when this report was written; the tables hold every number.' }));
    return;
  }
  Chart.defaults.animation = false;
  Chart.defaults.font.family = 'system-ui, sans-serif';
  const unit = { min: 0, max: 1 };
  data.forEach((set, i) => {
    const pr = document.getElementById('pr-' + i);
    if (pr) new Chart(pr, {
      type: 'scatter',
      data: { datasets: [{ label: 'precision at recall', data: set.pr.map(p => ({ x: p.recall, y: p.precision })), showLine: true, stepped: 'before', pointRadius: 0, borderColor: '#2563eb', borderWidth: 2 }] },
      options: { responsive: false, scales: { x: { ...unit, title: { display: true, text: 'recall' } }, y: { ...unit, title: { display: true, text: 'precision' } } }, plugins: { legend: { display: false } } },
    });
    const sweep = document.getElementById('sweep-' + i);
    const line = (label, key, color) => ({ label, data: set.sweep.filter(p => p[key] !== null).map(p => ({ x: p.threshold, y: p[key] })), showLine: true, pointRadius: 2, borderColor: color, backgroundColor: color, borderWidth: 2 });
    if (sweep) new Chart(sweep, {
      type: 'scatter',
      data: { datasets: [line('F1', 'f1', '#16a34a'), line('precision', 'precision', '#2563eb'), line('recall', 'recall', '#d97706'), line('false-positive rate', 'falsePositiveRate', '#dc2626')] },
      options: { responsive: false, scales: { x: { ...unit, title: { display: true, text: 'threshold on P(unsafe)' } }, y: { ...unit } } },
    });
  });
})();`;
}

const STYLE = `
body { font: 15px/1.45 system-ui, sans-serif; margin: 2rem auto; max-width: 1100px; padding: 0 1rem; color: #111; }
h1 { font-size: 1.6rem; margin-bottom: .2rem; } h2 { margin-top: 2.2rem; border-bottom: 1px solid #ddd; padding-bottom: .2rem; }
h2 small { color: #666; font-weight: normal; font-size: .8rem; } h3 { margin-bottom: .4rem; }
table { border-collapse: collapse; margin: .4rem 0 .8rem; font-variant-numeric: tabular-nums; }
th, td { border: 1px solid #ddd; padding: .25rem .55rem; text-align: right; vertical-align: top; }
th { background: #f5f5f5; } td:first-child, th:first-child { text-align: left; }
table.facts th { text-align: left; width: 12rem; } table.facts td { text-align: left; }
table.sources td { text-align: left; word-break: break-all; }
.note { color: #555; font-size: .9rem; } .warn { color: #b45309; }
.charts { display: flex; flex-wrap: wrap; gap: 1.5rem; } figure { margin: 0; } figcaption { color: #555; font-size: .85rem; text-align: center; }
`;

export function renderReportHtml(report: EvalReport, options: ReportHtmlOptions = {}): string {
  const chartData = report.sets.map((s) => ({ pr: s.scores.prCurve, sweep: s.scores.sweep }));
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>aegis-guard evaluation: ${escapeHtml(report.run.model?.modelId ?? 'report')}</title>
<style>${STYLE}</style></head>
<body>
<h1>aegis-guard evaluation</h1>
<p class="note">Measured in the browser through the shipped client, worker and queue, against the published figures for AegisGuard 2.0 (Llama-3.1-NemoGuard-8B).</p>
${runSection(report)}
${summarySection(report)}
${report.sets.map(setSection).join('\n')}
<script type="application/json" id="report-data">${jsonForScript(chartData)}</script>
${options.chartScript ? `<script>${inlineScript(options.chartScript)}</script>` : ''}
<script>${chartBootstrap()}</script>
</body></html>
`;
}
