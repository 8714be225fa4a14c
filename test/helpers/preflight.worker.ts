/**
 * Test worker: runs the real WebGPU preflight inside a module Worker and posts back what it found.
 * Message in: the preflight options. Message out: `{ ok: true, report }` or `{ ok: false, error }` (wire form).
 */
import { errorToWire } from '../../src/core/errors.js';
import { preflight, type PreflightOptions } from '../../src/engine/preflight.js';

self.onmessage = async (event: MessageEvent<PreflightOptions | undefined>) => {
  try {
    const report = await preflight(event.data ?? {});
    self.postMessage({ ok: true, report, inWorker: typeof document === 'undefined' });
  } catch (error) {
    self.postMessage({ ok: false, error: errorToWire(error), inWorker: typeof document === 'undefined' });
  }
};
