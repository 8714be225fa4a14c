/// <reference types="vitest/config" />
import { defineConfig } from 'vite';
import { playwright } from '@vitest/browser-playwright';
import { CHROMIUM_ARGS, CHROMIUM_PATH } from './test/helpers/chromium.js';
import { fixtureServer } from './test/helpers/fixture-server-plugin.js';

const browser = (args: string[]) => ({
  enabled: true,
  headless: true,
  screenshotFailures: false,
  provider: playwright({ launchOptions: { executablePath: CHROMIUM_PATH, args: [...CHROMIUM_ARGS, ...args] } }),
  instances: [{ browser: 'chromium' as const }],
});

export default defineConfig({
  // Everything the tests load comes from the project itself (fixtures, node_modules): a plain clone with nothing
  // beside it runs them all.
  plugins: [fixtureServer({ fixtures: 'test/fixtures' })],
  server: { fs: { allow: ['.'] } },
  optimizeDeps: {
    include: ['lit', 'lit/decorators.js', 'lit/directives/class-map.js', 'comlink', '@mlc-ai/web-llm', '@mlc-ai/web-tokenizers', 'ai', 'ai/test', 'openai', 'deep-chat'],
  },
  worker: { format: 'es' },
  // Committed screenshots (test/__screenshots__) are rewritten only on request: UPDATE_SCREENSHOTS=1 npm test.
  define: { __UPDATE_SCREENSHOTS__: JSON.stringify(process.env.UPDATE_SCREENSHOTS === '1') },
  test: {
    // expect.poll waits for a condition, not a duration: on a busy 2-core machine a worker's first start can
    // take seconds, so the default 1 s would make a correct test fail. A wrong one still fails, after 20 s.
    expect: { poll: { timeout: 20_000 } },
    projects: [
      {
        extends: true,
        test: {
          name: 'node',
          include: ['test/node/**/*.test.ts'],
          environment: 'node',
          // Loading the real tokenizer or building fixtures can take seconds on a busy 2-core machine.
          testTimeout: 60_000,
          hookTimeout: 60_000,
        },
      },
      {
        extends: true,
        test: {
          name: 'browser',
          include: ['test/browser/**/*.test.ts'],
          testTimeout: 60_000,
          hookTimeout: 60_000,
          browser: browser(['--enable-unsafe-webgpu']),
        },
      },
      {
        // Same browser without the WebGPU flag: requestAdapter() returns null, as on a machine without WebGPU.
        extends: true,
        test: {
          name: 'browser-nogpu',
          include: ['test/browser-nogpu/**/*.test.ts'],
          testTimeout: 60_000,
          hookTimeout: 60_000,
          browser: browser([]),
        },
      },
    ],
  },
});
