/**
 * esbuild and the worker, in Chromium. A small consumer app (test/fixtures/consumer-app/) is bundled
 * with esbuild exactly as the README's recipe says ("Bundlers and the worker"), served, and loaded:
 * - with the recipe (aegis-guard/worker as a second entry point, passed as `worker`), the worker starts
 *   and answers: the load fails with the typed ModelLoadError of a missing model, not a crash;
 * - without it, esbuild leaves the worker reference unbundled and the worker 404s: the error says so,
 *   names the URL, and the worker is created once, not restarted again and again;
 * - with the worker bundle on another origin (a CDN, CORS on), `worker: '<url>'` starts it through a
 *   `blob:` module.
 * `aegis-guard` resolves to this repository's sources through its own `exports` map (dist/x.js ->
 * src/x.ts), so no build is needed first; esbuild is the one Vite and tsx already install.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { build, type Plugin } from 'esbuild';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { launchChromium } from '../helpers/chromium.js';
import { openConsumerPage, type ConsumerPageResult } from '../helpers/consumer-page.js';
import { serveFolder, type StaticServer } from '../helpers/static-server.js';

const ROOT = resolve(import.meta.dirname, '../..');
const APP = join(ROOT, 'test/fixtures/consumer-app');
const outDir = mkdtempSync(join(tmpdir(), 'aegis-esbuild-'));
const servers: StaticServer[] = [];
let browser: Browser;
let site: string;
let cdn: string;

/** Resolves `aegis-guard` and its subpaths through package.json `exports`, onto the TypeScript sources. */
const aegisGuardFromSources: Plugin = {
  name: 'aegis-guard-from-sources',
  setup(b) {
    const exportsMap = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { exports: Record<string, { default: string }> }).exports;
    b.onResolve({ filter: /^aegis-guard(\/.*)?$/ }, (args) => {
      const subpath = `.${args.path.slice('aegis-guard'.length)}`;
      const target = exportsMap[subpath]?.default;
      if (!target) return { errors: [{ text: `aegis-guard does not export ${subpath}` }] };
      return { path: join(ROOT, target.replace(/^\.\/dist\//, 'src/').replace(/\.js$/, '.ts')) };
    });
  },
};

async function serve(dir: string, headers: Record<string, string> = {}): Promise<string> {
  const server = await serveFolder(dir, headers);
  servers.push(server);
  return server.origin;
}

async function open(query: string): Promise<ConsumerPageResult> {
  const result = await openConsumerPage(browser, `${site}/index.html${query}`);
  expect(result.pageErrors).toEqual([]);
  return result;
}

beforeAll(async () => {
  // The README recipe: the app and aegis-guard/worker as two entry points of one esbuild run.
  await build({
    entryPoints: { app: join(APP, 'app.js'), 'aegis-guard.worker': 'aegis-guard/worker' },
    bundle: true,
    format: 'esm',
    outdir: outDir,
    logLevel: 'error',
    plugins: [aegisGuardFromSources],
  });
  // Written here, not kept as a fixture: an index.html under the project would join Vite's dependency scan.
  writeFileSync(join(outDir, 'index.html'), '<!doctype html>\n<meta charset="utf-8" />\n<script type="module" src="./app.js"></script>\n');
  site = await serve(outDir);
  cdn = await serve(outDir, { 'access-control-allow-origin': '*' });
  browser = await launchChromium();
}, 120_000);

afterAll(async () => {
  await browser?.close();
  for (const server of servers) server.close();
  rmSync(outDir, { recursive: true, force: true });
});

describe('esbuild', () => {
  test('with the recipe, the worker starts and answers (a typed model error, not a crash)', async () => {
    const r = await open('?worker=recipe');
    // The worker ran WebLLM's loader: no model is served here, so the load fails with the model's URL.
    expect(r.ready).toMatchObject({ name: 'ModelLoadError', code: 'model-load-failed' });
    expect(r.ready.url).toContain(`${site}/models/aegis-guard-2.0-`);
    expect(r.verdict).toMatchObject({ safe: false, source: 'failure', failure: { code: 'model-load-failed' } });
    expect(r.workersCreated).toBe(1);
  }, 120_000);

  test('without it, the worker 404s: the error names the URL, and the worker is not restarted', async () => {
    const r = await open('?worker=default');
    const expectedUrl = `${site}/worker/guard.worker.js`;
    expect(r.ready).toMatchObject({ name: 'WorkerCrashedError', code: 'worker-crashed', reason: 'script-failed', workerUrl: expectedUrl });
    expect(r.ready.message).toContain(expectedUrl);
    expect(r.verdict).toMatchObject({ safe: false, source: 'failure', failure: { code: 'worker-crashed', details: { reason: 'script-failed', workerUrl: expectedUrl } } });
    expect(r.state).toBe('failed');
    expect(r.workersCreated).toBe(1);
  }, 120_000);

  test('the worker bundle on another origin (a CDN) starts through a blob: module', async () => {
    const r = await open(`?worker=${encodeURIComponent(`${cdn}/aegis-guard.worker.js`)}`);
    expect(r.ready).toMatchObject({ name: 'ModelLoadError', code: 'model-load-failed' });
    expect(r.workersCreated).toBe(1);
  }, 120_000);
});
