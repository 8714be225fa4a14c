/**
 * Runs a benchmark page in Debian Chromium: starts Vite with the project config, opens the page, waits for
 * `window.__benchResult`, prints it and saves it under bench-results/.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'vite';
import { launchChromium } from '../test/helpers/chromium.js';

export async function runBrowserBench<T>(name: string, pagePath: string, timeoutMs = 300_000, extraArgs: string[] = []): Promise<T> {
  const [result] = await runBrowserVisits<T>(name, [pagePath], { timeoutMs, extraArgs, save: false });
  mkdirSync('bench-results', { recursive: true });
  writeFileSync(`bench-results/${name}.json`, JSON.stringify(result, null, 2));
  return result!;
}

export interface VisitOptions {
  timeoutMs?: number;
  /** Extra Chromium flags. */
  extraArgs?: string[];
  /** Save the list of results under bench-results/<name>.json (default true). */
  save?: boolean;
}

/**
 * Opens `pagePaths` one after the other in one browser profile (so IndexedDB and Cache Storage persist
 * between them, as between visits of a returning user); each page publishes its own result.
 */
export async function runBrowserVisits<T>(name: string, pagePaths: string[], options: VisitOptions = {}): Promise<T[]> {
  const { timeoutMs = 300_000, extraArgs = [], save = true } = options;
  const server = await createServer({ configFile: 'vite.config.ts', server: { port: 0, host: '127.0.0.1' }, logLevel: 'error' });
  await server.listen();
  const address = server.httpServer?.address();
  if (!address || typeof address === 'string') throw new Error('Vite did not report a port');
  const browser = await launchChromium(extraArgs);
  try {
    const page = await browser.newPage();
    page.on('pageerror', (e) => console.error(`[page] ${e.message}`));
    // Long benchmarks report how far they are with console lines starting "[progress]".
    page.on('console', (m) => {
      if (m.text().startsWith('[progress]')) console.error(m.text());
    });
    const results: T[] = [];
    for (const pagePath of pagePaths) {
      await page.goto(`http://127.0.0.1:${address.port}${pagePath}`);
      const handle = await page.waitForFunction(() => (window as unknown as { __benchResult?: unknown }).__benchResult, undefined, {
        timeout: timeoutMs,
        polling: 250,
      });
      const result = (await handle.jsonValue()) as T & { error?: string };
      if (result.error) throw new Error(`benchmark page ${pagePath} failed: ${result.error}`);
      results.push(result);
    }
    if (save) {
      mkdirSync('bench-results', { recursive: true });
      writeFileSync(`bench-results/${name}.json`, JSON.stringify(results, null, 2));
    }
    return results;
  } finally {
    await browser.close();
    await server.close();
  }
}
