import { expect, test } from 'vitest';

test('headless Chromium exposes a WebGPU adapter (SwiftShader) to the page', async () => {
  const adapter = await navigator.gpu.requestAdapter();
  expect(adapter).not.toBeNull();
  expect(adapter!.limits.maxStorageBufferBindingSize).toBeGreaterThanOrEqual(128 * 1024 * 1024);
});
