/**
 * One evaluation in Chromium: the local server (package modules, model folder, model library), the browser,
 * the evaluation page, and the callbacks that carry results and progress back to Node. Shared by
 * `aegis-guard eval` and `npm run smoke:real`.
 */
import type { LoadProgress } from '../../core/types.js';
import type { EvalProgress, EvalReport, ItemResult } from '../types.js';
import { PAGE_API, PAGE_CALLBACKS, type PageApi, type PageRunConfig, type PageRunOutcome } from '../runner/protocol.js';
import { launchChromium, type ChromiumOptions } from './chromium.js';
import { CliError } from './cli-error.js';
import type { ModelLocation } from './model-location.js';
import { NO_MODEL_EXIT_CODE } from './model-location.js';
import { CODE_TREE, PACKAGE_ROOT } from './package-root.js';
import { startStaticServer, type Mount } from './static-server.js';

export interface BrowserEvalOptions extends Omit<PageRunConfig, 'model' | 'workerUrl'> {
  model: ModelLocation;
  variant?: 'auto' | 'q4f16_1' | 'q4f32_1';
  chromium?: ChromiumOptions;
  /** A worker module, as a path from the package root (tests: a scripted engine); default the shipped worker. */
  workerPath?: string;
  /** More folders to serve (tests). */
  extraMounts?: Mount[];
  onResult?: (result: ItemResult) => void | Promise<void>;
  onProgress?: (progress: Omit<EvalProgress, 'last'>) => void;
  onLoadProgress?: (progress: LoadProgress) => void;
  /** Called with what was started, before the page loads. */
  onBrowser?: (description: { executable: string; flags: string[] }) => void;
}

const PAGE_PATH = '/eval.html';

function pageHtml(): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>aegis-guard evaluation</title></head>
<body><p>aegis-guard evaluation running; this page is driven by the CLI.</p>
<script type="module" src="/pkg/${CODE_TREE}/eval/runner/page.js"></script></body></html>`;
}

/** Load failures (no model, no WebGPU) exit with the no-model code; anything else is a plain failure. */
function outcomeError(outcome: Extract<PageRunOutcome, { ok: false }>): CliError {
  const { error } = outcome;
  const url = typeof error.details?.url === 'string' ? ` (${error.details.url})` : '';
  const code = error.code === 'model-load-failed' || error.code === 'webgpu-unavailable' ? NO_MODEL_EXIT_CODE : 1;
  return new CliError(`${error.name}: ${error.message}${url}`, code);
}

export async function runEvaluationInBrowser(options: BrowserEvalOptions): Promise<EvalReport> {
  const server = await startStaticServer({
    mounts: [{ prefix: '/pkg/', dir: PACKAGE_ROOT, modules: true }, ...options.model.mounts, ...(options.extraMounts ?? [])],
    routes: { [PAGE_PATH]: { type: 'text/html; charset=utf-8', body: pageHtml() } },
  });
  let browser: Awaited<ReturnType<typeof launchChromium>> | undefined;
  const pageErrors: string[] = [];
  try {
    browser = await launchChromium(options.chromium);
    options.onBrowser?.(browser.description);
    const page = browser.context.pages()[0] ?? (await browser.context.newPage());
    page.on('pageerror', (e) => pageErrors.push(e.message));
    page.on('console', (m) => {
      if (m.type() === 'error') pageErrors.push(m.text());
    });
    await page.exposeFunction(PAGE_CALLBACKS.result, async (r: ItemResult) => {
      await options.onResult?.(r);
    });
    await page.exposeFunction(PAGE_CALLBACKS.progress, (p: Omit<EvalProgress, 'last'>) => options.onProgress?.(p));
    await page.exposeFunction(PAGE_CALLBACKS.load, (p: LoadProgress) => options.onLoadProgress?.(p));
    await page.goto(`${server.origin}${PAGE_PATH}`);
    await page.waitForFunction((name) => name in globalThis, PAGE_API, { timeout: 120_000 }).catch(() => {
      throw new CliError(`The evaluation page did not start${pageErrors.length ? `: ${pageErrors.join('; ')}` : ''}.`, 1);
    });
    const absolute = (url: string) => new URL(url, server.origin).href;
    const config: PageRunConfig = {
      model: {
        weightsUrl: absolute(options.model.weightsUrl),
        ...(options.variant ? { variant: options.variant } : {}),
        ...(options.model.modelLibUrl ? { modelLibUrl: absolute(options.model.modelLibUrl) } : {}),
      },
      ...(options.threshold === undefined ? {} : { threshold: options.threshold }),
      ...(options.timeout === undefined ? {} : { timeout: options.timeout }),
      ...(options.workerPath ? { workerUrl: `${server.origin}/pkg/${options.workerPath}` } : {}),
      items: options.items,
      resume: options.resume,
      compareJson: options.compareJson,
      sets: options.sets,
      run: options.run,
    };
    const outcome = await page.evaluate(
      ([name, cfg]) => (globalThis as unknown as Record<string, PageApi>)[name]!.run(cfg),
      [PAGE_API, config] as const,
    );
    if (!outcome.ok) throw outcomeError(outcome);
    return outcome.report;
  } finally {
    await browser?.close();
    await server.close();
  }
}
