/**
 * WebGPU preflight: finds out, before anything is downloaded, whether this browser can run the model at all.
 * Works in a page and in a (module) worker: it only touches `navigator.gpu`.
 */
import { WebGPUUnavailableError } from '../core/errors.js';
import type { GpuReport } from '../core/types.js';
import { assertGpuMeetsNeeds, type GpuNeeds } from './gpu-requirements.js';

export { chooseVariant, WEBLLM_MIN_LIMITS } from './gpu-requirements.js';
export type { AegisVariant } from './gpu-requirements.js';

export type PreflightOptions = GpuNeeds;

/** `adapter.info` fields across Chromium versions: older ones lack `isFallbackAdapter` on info. */
interface AdapterInfoLike {
  vendor?: string;
  architecture?: string;
  description?: string;
  isFallbackAdapter?: boolean;
}

async function readAdapterInfo(adapter: GPUAdapter): Promise<AdapterInfoLike> {
  const legacy = adapter as unknown as {
    info?: AdapterInfoLike;
    requestAdapterInfo?: () => Promise<AdapterInfoLike>;
    isFallbackAdapter?: boolean;
  };
  let info: AdapterInfoLike = legacy.info ?? {};
  // Browsers from before `adapter.info` (Chrome < 114) only had the since-removed requestAdapterInfo().
  if (!legacy.info && typeof legacy.requestAdapterInfo === 'function') {
    info = await legacy.requestAdapterInfo.call(adapter).catch(() => ({}));
  }
  // GPUAdapterInfo's fields are prototype getters: an object spread would copy none of them.
  return {
    vendor: info.vendor,
    architecture: info.architecture,
    description: info.description,
    isFallbackAdapter: info.isFallbackAdapter ?? legacy.isFallbackAdapter,
  };
}

/**
 * Asks for the adapter WebLLM will ask for (`powerPreference: 'high-performance'`, as in its
 * `detectGPUDevice`, idx:4764) and reports it. Throws `WebGPUUnavailableError` with `reason`
 * 'no-navigator-gpu', 'no-adapter', 'feature:<name>' or 'limit:<name>'.
 */
export async function preflight(options: PreflightOptions = {}): Promise<GpuReport> {
  const gpu = (globalThis.navigator as Navigator | undefined)?.gpu;
  if (!gpu) {
    throw new WebGPUUnavailableError(
      'This browser does not offer WebGPU, which the safety model needs. Use a recent Chrome, Edge or another browser with WebGPU enabled.',
      'no-navigator-gpu',
    );
  }
  let adapter: GPUAdapter | null;
  try {
    adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
  } catch (error) {
    // requestAdapter rejects only in odd states (e.g. a detached context); treat it like "no adapter".
    throw new WebGPUUnavailableError(
      `WebGPU is present but no GPU adapter could be requested (${String(error)}).`,
      'no-adapter',
      { cause: error },
    );
  }
  if (!adapter) {
    throw new WebGPUUnavailableError(
      'WebGPU is present but no usable GPU adapter was found (the GPU may be missing, blocklisted or disabled).',
      'no-adapter',
    );
  }
  const info = await readAdapterInfo(adapter);
  const report: GpuReport = {
    vendor: info.vendor ?? '',
    architecture: info.architecture ?? '',
    description: info.description ?? '',
    isFallbackAdapter: info.isFallbackAdapter ?? false,
    shaderF16: adapter.features.has('shader-f16'),
    maxBufferSize: adapter.limits.maxBufferSize,
    maxStorageBufferBindingSize: adapter.limits.maxStorageBufferBindingSize,
    maxComputeWorkgroupStorageSize: adapter.limits.maxComputeWorkgroupStorageSize,
    maxStorageBuffersPerShaderStage: adapter.limits.maxStorageBuffersPerShaderStage,
  };
  assertGpuMeetsNeeds(report, options, adapter.features as ReadonlySet<string>);
  return report;
}
