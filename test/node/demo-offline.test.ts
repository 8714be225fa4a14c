/**
 * The demo works offline: built as it ships (`vite build` with demo/vite.config.ts), served by `vite
 * preview`, loaded once in Chromium (the service worker installs and caches the app shell), then the network
 * is cut (the context goes offline and the server is shut down) and the page is reloaded. It must come back
 * from the service worker, say plainly that no model is loaded, and keep messages hidden (fail closed).
 */
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { type ShippedDemo, serveShippedDemo } from '../helpers/shipped-demo.js';

let demo: ShippedDemo | undefined;
let context: BrowserContext;
let page: Page;
let url: string;

beforeAll(async () => {
  demo = await serveShippedDemo('aegis-demo-');
  url = demo.url;
  context = await demo.browser.newContext();
  page = await context.newPage();
  page.on('pageerror', (e) => console.error(`[demo page error] ${e.message}`));
}, 240_000);

afterAll(() => demo?.close());

/** Sends a prompt through the demo UI and waits for its message element to settle. */
async function sendPrompt(text: string): Promise<{ state: string | null; delivery: string }> {
  await page.getByLabel('Your message').fill(text);
  await page.getByRole('button', { name: 'Send' }).click();
  const message = page.locator('li.message.user').last();
  await message.locator('aegis-guard[state="error"], aegis-guard[state="allowed"], aegis-guard[state="blocked"]').waitFor({ timeout: 60_000 });
  return {
    state: await message.locator('aegis-guard').getAttribute('state'),
    delivery: (await message.locator('.delivery').textContent()) ?? '',
  };
}

describe('the demo offline', () => {
  test('online first visit: the page renders, the service worker takes control, and no model is faked', async () => {
    const response = await page.goto(url);
    expect(response?.status()).toBe(200);
    await page.locator('h1', { hasText: 'aegis-guard' }).waitFor({ timeout: 30_000 });
    // No model is served next to the demo: the panel says so plainly.
    await page.getByText('No model is loaded.').waitFor({ timeout: 60_000 });
    await page.waitForFunction(() => navigator.serviceWorker.controller !== null, undefined, { timeout: 60_000 });
    const cached = await page.evaluate(async () => {
      const names = await caches.keys();
      const shell = names.find((n) => n.startsWith('aegis-demo-shell-'));
      const keys = shell ? (await (await caches.open(shell)).keys()).map((r) => new URL(r.url).pathname) : [];
      return { names, keys };
    });
    expect(cached.keys).toContain('/demo/');
    expect(cached.keys.some((k) => /\/assets\/guard\.worker-.*\.js$/.test(k))).toBe(true);
    expect(cached.keys.some((k) => /\/assets\/index-.*\.js$/.test(k))).toBe(true);
  }, 120_000);

  test('network cut, reload: the page comes back from the service worker and still fails closed', async () => {
    await context.setOffline(true);
    await demo!.stopServer();
    const response = await page.reload();
    expect(response?.fromServiceWorker()).toBe(true);
    await page.locator('h1', { hasText: 'aegis-guard' }).waitFor({ timeout: 30_000 });
    await page.getByText('No model is loaded.').waitFor({ timeout: 60_000 });
    expect(await page.locator('.model-status.failed').textContent()).toContain('never makes up a verdict');
    // The guard's worker came from the cache too: a prompt is checked, cannot be judged, and is not sent.
    const result = await sendPrompt('Hello, is anyone there?');
    expect(result.state).toBe('error');
    expect(result.delivery).toBe('Not sent: it could not be checked');
    const shownText = await page.locator('li.message.user aegis-guard').evaluate((el) => el.shadowRoot?.textContent ?? '');
    expect(shownText).not.toContain('Hello, is anyone there?');
    expect(shownText).toContain('could not run');
  }, 120_000);

  test('a second offline reload works as well', async () => {
    const response = await page.reload();
    expect(response?.fromServiceWorker()).toBe(true);
    await page.getByRole('button', { name: 'Send' }).waitFor({ state: 'visible', timeout: 30_000 });
    expect(await page.getByRole('button', { name: 'Send' }).isVisible()).toBe(true);
  }, 60_000);
});
