/**
 * The demo as it ships: built with demo/vite.config.ts into a temporary folder, served by `vite preview`,
 * with a Chromium to load it in.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { type PreviewServer, build, preview } from 'vite';
import { launchChromium } from './chromium.js';

const CONFIG = 'demo/vite.config.ts';

export interface ShippedDemo {
  /** The preview server's root URL, ending in '/'. */
  url: string;
  browser: Browser;
  /** Shuts the preview server down (to cut the network); the browser stays open. */
  stopServer(): Promise<void>;
  /** Closes the browser and the server and deletes the build. */
  close(): Promise<void>;
}

/** Builds and serves the demo; `tempPrefix` names the build folder under the system temp folder. */
export async function serveShippedDemo(tempPrefix: string): Promise<ShippedDemo> {
  const outDir = mkdtempSync(join(tmpdir(), tempPrefix));
  let server: PreviewServer | undefined;
  let browser: Browser | undefined;
  const stopServer = async () => {
    const running = server;
    server = undefined;
    await running?.close();
  };
  const close = async () => {
    await browser?.close();
    await stopServer();
    rmSync(outDir, { recursive: true, force: true });
  };
  try {
    await build({ configFile: CONFIG, logLevel: 'error', build: { outDir, emptyOutDir: true } });
    server = await preview({ configFile: CONFIG, logLevel: 'error', build: { outDir }, preview: { port: 0, strictPort: false } });
    const url = server.resolvedUrls!.local[0]!;
    browser = await launchChromium();
    return { url, browser, stopServer, close };
  } catch (error) {
    await close();
    throw error;
  }
}
