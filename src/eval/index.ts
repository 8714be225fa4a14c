/**
 * `aegis-guard/eval`: measure a guard's accuracy on labelled sets, in the browser, through the guard itself.
 *
 *   const guard = createGuard({ model: '/models/aegis-guard-2.0-{variant}/' });
 *   const { items, info } = await loadSet(datasetById('openai-moderation'), httpFileSource());
 *   const report = await evaluate(guard, items, { sets: { 'openai-moderation': info }, compareJson: true });
 *   document.body.innerHTML = renderReportHtml(report);
 *
 * The Node CLI (`npx aegis-guard eval`) runs the same `evaluate` in Chromium and adds a disk cache,
 * resuming and report files.
 */
export { evaluate, fastPathOff, summarizeVerdict, validateItems } from './evaluate.js';
export { setReport, type SetReportOptions } from './set-report.js';
// The metrics: every export of metrics.ts is public.
export * from './metrics.js';
export { renderReportHtml, type ReportHtmlOptions } from './report-html.js';
export { DATASETS, datasetById, fileUrl, type UrlOptions } from './datasets/catalog.js';
export type { DatasetDefinition, DatasetFile } from './datasets/definition.js';
export { httpFileSource, loadSet, type FileSource, type HttpSourceOptions, type LoadedSet, type ObtainedFile } from './datasets/load.js';
export { OPENAI_MODERATION_CATEGORIES } from './datasets/openai-moderation.js';
export { SMOKE_ITEMS } from './smoke-set.js';
export { WEBLLM_VERSION } from './versions.js';
export { DatasetError } from '../core/errors.js';
export type * from './types.js';
