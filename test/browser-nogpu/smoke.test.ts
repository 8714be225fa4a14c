import { expect, test } from 'vitest';

test('without --enable-unsafe-webgpu there is no adapter', async () => {
  expect(await navigator.gpu.requestAdapter()).toBeNull();
});
