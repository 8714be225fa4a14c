/**
 * Opens a bundled consumer app (test/fixtures/consumer-app/app.js) in Chromium and reads what it reports:
 * how the guard's load ended, one verdict, the guard's state, and how many workers the page created (a
 * restart loop would show there).
 */
import type { Browser } from 'playwright-core';

export interface ConsumerPageResult {
  ready: { ok?: true; name?: string; code?: string; reason?: string; workerUrl?: string; url?: string; message?: string };
  verdict: { safe: boolean; source: string; failure?: { code: string; message: string; details?: Record<string, unknown> } };
  state: string;
  /** `<aegis-guard>` was registered (the app imports aegis-guard/define for its side effect). */
  elementDefined: boolean;
  workersCreated: number;
  /** Uncaught errors of the page. */
  pageErrors: string[];
}

export async function openConsumerPage(browser: Browser, url: string): Promise<ConsumerPageResult> {
  const page = await browser.newPage();
  const pageErrors: string[] = [];
  page.on('pageerror', (e) => pageErrors.push(e.message));
  await page.addInitScript(() => {
    const Native = window.Worker;
    const w = window as unknown as { __workers: number };
    w.__workers = 0;
    window.Worker = class extends Native {
      constructor(url: string | URL, options?: WorkerOptions) {
        super(url, options);
        w.__workers++;
      }
    };
  });
  try {
    await page.goto(url);
    const handle = await page.waitForFunction(() => (window as unknown as { __result?: unknown }).__result, undefined, { timeout: 90_000 });
    const result = (await handle.jsonValue()) as Omit<ConsumerPageResult, 'workersCreated' | 'pageErrors'>;
    const workersCreated = await page.evaluate(() => (window as unknown as { __workers: number }).__workers);
    return { ...result, workersCreated, pageErrors };
  } finally {
    await page.close();
  }
}
