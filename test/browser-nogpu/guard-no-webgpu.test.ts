/** On a browser without a WebGPU adapter the guard reports why, and every check fails closed. */
import { expect, test } from 'vitest';
import { WebGPUUnavailableError } from '../../src/core/errors.js';
import { createTestGuard } from '../helpers/test-guard.js';

test('ready rejects with WebGPUUnavailableError and checks block instead of passing text through', async () => {
  const { guard, stats } = createTestGuard();
  try {
    const error = await guard.ready.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WebGPUUnavailableError);
    expect((error as WebGPUUnavailableError).reason).toBe('no-adapter');
    const verdict = await guard.checkPrompt('hello');
    expect(verdict).toMatchObject({ safe: false, source: 'failure', failure: { code: 'webgpu-unavailable' } });
    // The preflight stopped the load before the engine was asked for anything.
    expect((await stats()).loads).toBe(0);
  } finally {
    guard.dispose();
  }
});

test("with failMode 'open' the same failure lets text through, marked as a failure", async () => {
  const { guard } = createTestGuard({ failMode: 'open' });
  try {
    const verdict = await guard.checkPrompt('hello');
    expect(verdict).toMatchObject({ safe: true, source: 'failure', failure: { code: 'webgpu-unavailable' } });
  } finally {
    guard.dispose();
  }
});
