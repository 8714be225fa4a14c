/**
 * webpack and Rollup as a consumer uses them: the compiled package (tsc's output, the dist/ that npm ships)
 * installed in the consumer's node_modules, the consumer app (test/fixtures/consumer-app/) bundled, served
 * and opened in Chromium.
 * - webpack 5, with no configuration for the worker: it must find `new Worker(new URL(…, import.meta.url))`
 *   and emit the worker as its own chunk;
 * - Rollup 4 with the README's recipe: `aegis-guard/worker` as a second input, its URL passed as `worker`.
 * Neither may print a warning about the package (each one would show in every consumer's build), and in both
 * the worker starts and answers (the load fails with the typed ModelLoadError of a missing model, not a crash)
 * and `aegis-guard/define`, imported for its side effect, still registers the element.
 */
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { nodeResolve } from '@rollup/plugin-node-resolve';
import type { Browser } from 'playwright-core';
import { rollup } from 'rollup';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import webpack from 'webpack';
import { launchChromium } from '../helpers/chromium.js';
import { openConsumerPage } from '../helpers/consumer-page.js';
import { linkDependencies } from '../helpers/consumer-project.js';
import { serveFolder, type StaticServer } from '../helpers/static-server.js';

const ROOT = resolve(import.meta.dirname, '../..');
const work = mkdtempSync(join(tmpdir(), 'aegis-bundlers-'));
const app = join(work, 'app');
const servers: StaticServer[] = [];
let browser: Browser;

// Each bundler works through the whole of WebLLM (several MB): tens of seconds on a busy machine.
const SLOW = { timeout: 300_000 };

async function serve(dir: string): Promise<string> {
  const server = await serveFolder(dir);
  servers.push(server);
  return server.origin;
}

beforeAll(async () => {
  // The package as installed: its package.json and tsc's output, inside the consumer's node_modules so that
  // its own imports (lit, comlink, WebLLM, tslib) resolve from there, as they would after `npm install`.
  const installed = join(app, 'node_modules', 'aegis-guard');
  mkdirSync(installed, { recursive: true });
  cpSync(join(ROOT, 'package.json'), join(installed, 'package.json'));
  execFileSync(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', join(ROOT, 'tsconfig.build.json'), '--outDir', join(installed, 'dist')], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  linkDependencies(app);
  mkdirSync(join(app, 'src'));
  cpSync(join(ROOT, 'test/fixtures/consumer-app/app.js'), join(app, 'src', 'app.js'));
  browser = await launchChromium();
}, 300_000);

afterAll(async () => {
  await browser?.close();
  for (const server of servers) server.close();
  rmSync(work, { recursive: true, force: true });
});

describe('webpack 5', SLOW, () => {
  const out = join(work, 'webpack');
  let stats: webpack.Stats;

  beforeAll(async () => {
    const compiler = webpack({
      mode: 'production',
      context: app,
      entry: './src/app.js',
      output: { path: out, filename: 'app.js', publicPath: 'auto' },
      // Minifying several MB takes longer than the rest together and changes nothing that is checked here.
      optimization: { minimize: false },
      performance: { hints: false },
      infrastructureLogging: { level: 'error' },
    });
    stats = await new Promise<webpack.Stats>((done, fail) => compiler.run((error, result) => (error || !result ? fail(error) : done(result))));
    await new Promise((done) => compiler.close(done));
    writeFileSync(join(out, 'index.html'), '<!doctype html>\n<meta charset="utf-8" />\n<script src="./app.js"></script>\n');
  }, 300_000);

  test('bundles the package with no error and no warning, the worker as a chunk of its own', () => {
    const { errors, warnings } = stats.toJson({ all: false, errors: true, warnings: true });
    expect(errors?.map((e) => e.message)).toEqual([]);
    expect(warnings?.map((w) => w.message)).toEqual([]);
    const chunks = readdirSync(out).filter((f) => f.endsWith('.js') && f !== 'app.js');
    // The worker chunk holds the guard service; the app bundle does not.
    expect(chunks.filter((f) => readFileSync(join(out, f), 'utf8').includes('GuardService'))).toHaveLength(1);
    expect(readFileSync(join(out, 'app.js'), 'utf8')).not.toContain('class GuardService');
  });

  test('with no worker configured, the worker starts and answers (a typed model error, not a crash)', async () => {
    const site = await serve(out);
    const r = await openConsumerPage(browser, `${site}/index.html?worker=default`);
    expect(r.pageErrors).toEqual([]);
    expect(r.ready).toMatchObject({ name: 'ModelLoadError', code: 'model-load-failed' });
    expect(r.ready.url).toContain(`${site}/models/aegis-guard-2.0-`);
    expect(r.verdict).toMatchObject({ safe: false, source: 'failure', failure: { code: 'model-load-failed' } });
    expect(r.workersCreated).toBe(1);
    expect(r.elementDefined).toBe(true);
  });
});

describe('Rollup 4 with the recipe', SLOW, () => {
  const out = join(work, 'rollup');
  const warnings: string[] = [];

  beforeAll(async () => {
    const bundle = await rollup({
      input: { app: join(app, 'src', 'app.js'), 'aegis-guard.worker': 'aegis-guard/worker' },
      plugins: [nodeResolve({ browser: true, rootDir: app })],
      onwarn: (warning) => warnings.push(`${warning.code}: ${warning.message}`),
    });
    await bundle.write({ dir: out, format: 'es' });
    await bundle.close();
    writeFileSync(join(out, 'index.html'), '<!doctype html>\n<meta charset="utf-8" />\n<script type="module" src="./app.js"></script>\n');
  }, 300_000);

  test('bundles the package and its worker with no warning', () => {
    expect(warnings).toEqual([]);
    expect(readdirSync(out)).toEqual(expect.arrayContaining(['app.js', 'aegis-guard.worker.js']));
  });

  test('the worker it emitted starts and answers (a typed model error, not a crash)', async () => {
    const site = await serve(out);
    const r = await openConsumerPage(browser, `${site}/index.html?worker=recipe`);
    expect(r.pageErrors).toEqual([]);
    expect(r.ready).toMatchObject({ name: 'ModelLoadError', code: 'model-load-failed' });
    expect(r.verdict).toMatchObject({ safe: false, source: 'failure', failure: { code: 'model-load-failed' } });
    expect(r.workersCreated).toBe(1);
    expect(r.elementDefined).toBe(true);
  });
});
