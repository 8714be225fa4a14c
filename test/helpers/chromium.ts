/**
 * The Debian Chromium that the tests (vite.config.ts) and benchmarks drive through playwright-core, never a
 * downloaded one, and the flags it runs with.
 */
import type { Browser } from 'playwright-core';
import { QUIET_FLAGS } from '../../src/eval/node/chromium.js';

export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** The eval CLI's quiet flags (no updates, sync or QUIC on this closed network), without the sandbox (CI runs as root). */
export const CHROMIUM_ARGS: readonly string[] = ['--no-sandbox', ...QUIET_FLAGS];

/** Starts headless Chromium with CHROMIUM_ARGS, WebGPU on (off by default on Linux) and `extraArgs`. */
export async function launchChromium(extraArgs: readonly string[] = []): Promise<Browser> {
  // Loaded here, not at the top, so that vite.config.ts can read the constants without loading Playwright.
  const { chromium } = await import('playwright-core');
  return chromium.launch({ executablePath: CHROMIUM_PATH, headless: true, args: [...CHROMIUM_ARGS, '--enable-unsafe-webgpu', ...extraArgs] });
}
