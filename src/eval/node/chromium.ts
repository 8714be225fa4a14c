/**
 * Starts Chromium with WebGPU through playwright-core (an optional peer dependency: only the CLI needs it).
 *
 * Which browser: `--browser <path>`, else $CHROMIUM_PATH, else a Chromium or Chrome found at the usual
 * places, else Playwright's `chrome` channel (an installed Google Chrome). Playwright never downloads one.
 *
 * WebGPU flags by platform (see docs/accuracy.md):
 * - Linux: `--enable-unsafe-webgpu` is required (WebGPU is off by default there). With no usable GPU Chromium
 *   falls back to SwiftShader (a CPU adapter: fine for wiring, far too slow for an 8B model). On a real GPU
 *   add Vulkan: `--gpu vulkan` = `--enable-features=Vulkan --use-angle=vulkan --ignore-gpu-blocklist
 *   --disable-vulkan-surface` (needs the vendor's Vulkan driver; check chrome://gpu shows "WebGPU: Hardware
 *   accelerated").
 * - macOS (Metal) and Windows (D3D12): WebGPU is on by default in Chrome 113+; no extra flags.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BrowserContext } from 'playwright-core';
import { CliError } from './cli-error.js';

export type GpuMode = 'default' | 'vulkan';

export interface ChromiumOptions {
  executablePath?: string;
  headed?: boolean;
  gpu?: GpuMode;
  /** More Chromium flags. */
  args?: string[];
  env?: NodeJS.ProcessEnv;
  platform?: NodeJS.Platform;
}

/** Without these Chromium dials out (component updates, sync, QUIC) even for a local page. */
export const QUIET_FLAGS = ['--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'];

export const VULKAN_FLAGS = ['--enable-features=Vulkan', '--use-angle=vulkan', '--ignore-gpu-blocklist', '--disable-vulkan-surface'];

export function chromiumFlags(options: ChromiumOptions = {}): string[] {
  const platform = options.platform ?? process.platform;
  const flags = [...QUIET_FLAGS];
  if (platform === 'linux') flags.push('--enable-unsafe-webgpu');
  if (options.gpu === 'vulkan') flags.push(...VULKAN_FLAGS);
  return [...flags, ...(options.args ?? [])];
}

const KNOWN_PATHS: Partial<Record<NodeJS.Platform, string[]>> = {
  linux: ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome', '/usr/bin/google-chrome-stable'],
  darwin: ['/Applications/Google Chrome.app/Contents/MacOS/Google Chrome', '/Applications/Chromium.app/Contents/MacOS/Chromium'],
};

/** The browser to start: an executable path, or undefined for Playwright's `chrome` channel. */
export function findChromium(options: ChromiumOptions = {}): string | undefined {
  const env = options.env ?? process.env;
  const explicit = options.executablePath ?? env.CHROMIUM_PATH;
  if (explicit) {
    if (!existsSync(explicit)) throw new CliError(`No browser at ${explicit} (from ${options.executablePath ? '--browser' : 'CHROMIUM_PATH'}).`, 2);
    return explicit;
  }
  return (KNOWN_PATHS[options.platform ?? process.platform] ?? []).find((p) => existsSync(p));
}

async function playwright(): Promise<typeof import('playwright-core')> {
  try {
    return await import('playwright-core');
  } catch (error) {
    if ((error as { code?: string }).code === 'ERR_MODULE_NOT_FOUND') {
      throw new CliError('This command drives a browser with playwright-core, which is not installed: npm install --save-dev playwright-core', 2);
    }
    throw error;
  }
}

export interface LaunchedBrowser {
  context: BrowserContext;
  /** What was started (path or channel) and with which flags, for the report. */
  description: { executable: string; flags: string[] };
  close(): Promise<void>;
}

/** A fresh profile per run (deleted on close), so no earlier run's cached weights are reused. */
export async function launchChromium(options: ChromiumOptions = {}): Promise<LaunchedBrowser> {
  const { chromium } = await playwright();
  const executablePath = findChromium(options);
  const flags = chromiumFlags(options);
  const profile = mkdtempSync(join(tmpdir(), 'aegis-guard-chromium-'));
  let context: BrowserContext;
  try {
    context = await chromium.launchPersistentContext(profile, {
      headless: !options.headed,
      args: flags,
      ...(executablePath ? { executablePath } : { channel: 'chrome' }),
    });
  } catch (error) {
    rmSync(profile, { recursive: true, force: true });
    const where = executablePath ?? "Playwright's chrome channel (no Chromium found; pass --browser <path> or set CHROMIUM_PATH)";
    throw new CliError(`Could not start the browser (${where}): ${error instanceof Error ? error.message.split('\n')[0] : String(error)}`, 2);
  }
  return {
    context,
    description: { executable: executablePath ?? 'chrome (channel)', flags },
    async close() {
      await context.close().catch(() => undefined);
      rmSync(profile, { recursive: true, force: true });
    },
  };
}
