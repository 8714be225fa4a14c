/**
 * The WebGPU preflight on a real adapter (SwiftShader in headless Chromium: no shader-f16), in the page and
 * in a module Worker. Expected values are read from the adapter itself, not written down.
 */
import { describe, expect, test } from 'vitest';
import { errorFromWire, WebGPUUnavailableError } from '../../src/core/errors.js';
import { chooseVariant, preflight, WEBLLM_MIN_LIMITS } from '../../src/engine/preflight.js';
import { preflightInWorker } from '../helpers/preflight-in-worker.js';

async function adapter(): Promise<GPUAdapter> {
  const found = await navigator.gpu.requestAdapter({ powerPreference: 'high-performance' });
  if (!found) throw new Error('this project runs Chromium with --enable-unsafe-webgpu: an adapter is expected');
  return found;
}

describe('preflight in the page', () => {
  test('reports the adapter WebLLM will use: info, shader-f16 and the four limits', async () => {
    const gpu = await adapter();
    const report = await preflight();
    expect(report).toEqual({
      vendor: gpu.info.vendor,
      architecture: gpu.info.architecture,
      description: gpu.info.description,
      isFallbackAdapter: (gpu.info as { isFallbackAdapter?: boolean }).isFallbackAdapter ?? false,
      shaderF16: gpu.features.has('shader-f16'),
      maxBufferSize: gpu.limits.maxBufferSize,
      maxStorageBufferBindingSize: gpu.limits.maxStorageBufferBindingSize,
      maxComputeWorkgroupStorageSize: gpu.limits.maxComputeWorkgroupStorageSize,
      maxStorageBuffersPerShaderStage: gpu.limits.maxStorageBuffersPerShaderStage,
    });
    // SwiftShader: a software adapter without 16-bit float shaders.
    expect(report.shaderF16).toBe(false);
    for (const [name, minimum] of Object.entries(WEBLLM_MIN_LIMITS)) {
      expect(report[name as keyof typeof WEBLLM_MIN_LIMITS]).toBeGreaterThanOrEqual(minimum);
    }
  });

  test('chooseVariant picks q4f32_1 here, keeps an explicit q4f32_1 and refuses an explicit q4f16_1', async () => {
    const report = await preflight();
    expect(chooseVariant(report, 'auto')).toBe('q4f32_1');
    expect(chooseVariant(report, 'q4f32_1')).toBe('q4f32_1');
    let thrown: unknown;
    try {
      chooseVariant(report, 'q4f16_1');
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(WebGPUUnavailableError);
    expect((thrown as WebGPUUnavailableError).reason).toBe('feature:shader-f16');
    expect((thrown as Error).message).toMatch(/shader-f16/);
  });

  test('requiring shader-f16 rejects with the typed error', async () => {
    const error = await preflight({ requireShaderF16: true }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WebGPUUnavailableError);
    expect((error as WebGPUUnavailableError).reason).toBe('feature:shader-f16');
  });

  test('other required features are checked against the adapter', async () => {
    const gpu = await adapter();
    const present = [...gpu.features].find((f) => f !== 'shader-f16');
    expect(present).toBeDefined();
    await expect(preflight({ requiredFeatures: [present!] })).resolves.toBeDefined();
    const error = await preflight({ requiredFeatures: ['no-such-feature'] }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WebGPUUnavailableError);
    expect((error as WebGPUUnavailableError).reason).toBe('feature:no-such-feature');
  });
});

describe('preflight in a module Worker', () => {
  test('finds the same adapter from inside the worker', async () => {
    const pageReport = await preflight();
    const result = await preflightInWorker();
    expect(result.inWorker).toBe(true);
    if (!result.ok) throw errorFromWire(result.error);
    expect(result.report).toEqual(pageReport);
  });

  test('reports a missing shader-f16 as the typed error across the worker boundary', async () => {
    const result = await preflightInWorker({ requireShaderF16: true });
    expect(result.ok).toBe(false);
    if (result.ok) return;
    const error = errorFromWire(result.error);
    expect(error).toBeInstanceOf(WebGPUUnavailableError);
    expect((error as WebGPUUnavailableError).reason).toBe('feature:shader-f16');
  });
});
