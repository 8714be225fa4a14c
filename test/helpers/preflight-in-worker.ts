/** Runs `preflight` in a fresh module Worker (test/helpers/preflight.worker.ts) and returns its answer. */
import type { WireError } from '../../src/core/errors.js';
import type { GpuReport } from '../../src/core/types.js';
import type { PreflightOptions } from '../../src/engine/preflight.js';

export type WorkerPreflightResult =
  | { ok: true; report: GpuReport; inWorker: boolean }
  | { ok: false; error: WireError; inWorker: boolean };

export async function preflightInWorker(options?: PreflightOptions): Promise<WorkerPreflightResult> {
  const worker = new Worker(new URL('./preflight.worker.ts', import.meta.url), { type: 'module' });
  try {
    return await new Promise<WorkerPreflightResult>((resolve, reject) => {
      worker.onmessage = (event: MessageEvent<WorkerPreflightResult>) => resolve(event.data);
      worker.onerror = (event) => reject(new Error(`preflight worker failed: ${event.message}`));
      worker.postMessage(options ?? {});
    });
  } finally {
    worker.terminate();
  }
}
