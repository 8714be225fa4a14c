/**
 * What WebLLM 0.2.86 demands of a WebGPU adapter, and the variant choice that follows from it. Pure: no
 * DOM, no WebLLM import, so it runs in Node tests and in any thread.
 */
import { WebGPUUnavailableError } from '../core/errors.js';
import type { GpuReport } from '../core/types.js';

/**
 * Minimum adapter limits. WebLLM's `detectGPUDevice` (node_modules/@mlc-ai/web-llm/lib/index.js idx:4761-4819)
 * asks for 1 GiB buffers and falls back to these values; below them it throws "Cannot initialize runtime
 * because of requested <limit> exceeds limit" only after the model library has been downloaded.
 */
export const WEBLLM_MIN_LIMITS = {
  maxBufferSize: 1 << 28, // 256 MiB, idx:4778
  maxStorageBufferBindingSize: 1 << 27, // 128 MiB, idx:4795
  maxComputeWorkgroupStorageSize: 32 << 10, // 32 KiB, idx:4808
  maxStorageBuffersPerShaderStage: 10, // idx:4814
} as const;

export type LimitName = keyof typeof WEBLLM_MIN_LIMITS;

/** Quantization variants AegisGuard 2.0 ships in. */
export type AegisVariant = 'q4f16_1' | 'q4f32_1';

export interface GpuNeeds {
  /** The model computes in f16 (q4f16_1): the adapter must offer `shader-f16`. */
  requireShaderF16?: boolean;
  /** Further WebGPU features a model record lists in `required_features`. */
  requiredFeatures?: readonly string[];
}

const MiB = 1024 * 1024;
const describeBytes = (n: number) => (n >= MiB ? `${Math.round(n / MiB)} MiB` : `${Math.round(n / 1024)} KiB`);

/**
 * Checks a report against WebLLM's limits and the model's features. Throws the `WebGPUUnavailableError`
 * that names the first shortfall; returns quietly when the adapter is good enough.
 * `features` lists every adapter feature (the report itself only records shader-f16).
 */
export function assertGpuMeetsNeeds(report: GpuReport, needs: GpuNeeds = {}, features?: ReadonlySet<string>): void {
  for (const name of Object.keys(WEBLLM_MIN_LIMITS) as LimitName[]) {
    const required = WEBLLM_MIN_LIMITS[name];
    const actual = report[name];
    if (!(actual >= required)) {
      const show = name === 'maxStorageBuffersPerShaderStage' ? String : describeBytes;
      throw new WebGPUUnavailableError(
        `This GPU is too limited to run the model: its ${name} is ${show(actual)}, and at least ${show(required)} is needed.`,
        `limit:${name}`,
      );
    }
  }
  const wanted = new Set(needs.requiredFeatures ?? []);
  if (needs.requireShaderF16) wanted.add('shader-f16');
  for (const feature of wanted) {
    const present = feature === 'shader-f16' ? report.shaderF16 : (features?.has(feature) ?? false);
    if (present) continue;
    throw new WebGPUUnavailableError(
      feature === 'shader-f16'
        ? 'This GPU cannot run 16-bit float shaders (WebGPU feature "shader-f16"), which the q4f16_1 model needs. Use the q4f32_1 variant instead.'
        : `This GPU lacks the WebGPU feature "${feature}", which the model needs.`,
      `feature:${feature}`,
    );
  }
}

/**
 * Picks the quantization variant. 'auto' prefers q4f16_1 (smaller, faster) where the GPU has shader-f16 and
 * falls back to q4f32_1; an explicit q4f16_1 on a GPU without shader-f16 is refused up front, because WebLLM
 * would only find out after downloading the model library.
 */
export function chooseVariant(report: GpuReport, requested: 'auto' | AegisVariant): AegisVariant {
  if (requested === 'auto') return report.shaderF16 ? 'q4f16_1' : 'q4f32_1';
  if (requested === 'q4f16_1') assertGpuMeetsNeeds(report, { requireShaderF16: true });
  return requested;
}
