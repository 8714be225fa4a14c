/** The page-side WebGPU report for the model panel: what the guard's preflight will find in its worker. */
import { WebGPUUnavailableError } from '../src/core/errors.js';
import type { GpuReport } from '../src/core/types.js';
import { chooseVariant, preflight } from '../src/engine/preflight.js';

export type GpuFinding = { ok: true; report: GpuReport; variant: string } | { ok: false; reason: string };

export async function probeGpu(): Promise<GpuFinding> {
  try {
    const report = await preflight();
    return { ok: true, report, variant: chooseVariant(report, 'auto') };
  } catch (error) {
    return { ok: false, reason: error instanceof WebGPUUnavailableError ? error.message : String(error) };
  }
}

const MiB = 1024 * 1024;
export function formatLimit(bytes: number): string {
  return bytes >= 1024 * MiB ? `${(bytes / (1024 * MiB)).toFixed(bytes % (1024 * MiB) ? 1 : 0)} GiB` : bytes >= MiB ? `${Math.round(bytes / MiB)} MiB` : `${Math.round(bytes / 1024)} KiB`;
}
