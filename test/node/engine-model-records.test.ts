/** resolveModelSpec, chooseVariant and the GPU requirement checks (pure code). */
import { describe, expect, test } from 'vitest';
import { AegisInputError, WebGPUUnavailableError } from '../../src/core/errors.js';
import type { GpuReport } from '../../src/core/types.js';
import { assertGpuMeetsNeeds, chooseVariant, WEBLLM_MIN_LIMITS } from '../../src/engine/gpu-requirements.js';
import {
  AEGIS_BASE_MODEL,
  AEGIS_MODEL_IDS,
  aegisModelId,
  DEFAULT_CONTEXT_WINDOW,
  resolveModelSpec,
} from '../../src/engine/model-records.js';
import type { ModelSource } from '../../src/worker/protocol.js';

/** An adapter just above WebLLM's minimums. */
const gpu = (overrides: Partial<GpuReport> = {}): GpuReport => ({
  vendor: 'test',
  architecture: 'test',
  description: '',
  isFallbackAdapter: false,
  shaderF16: false,
  ...WEBLLM_MIN_LIMITS,
  ...overrides,
});
const f16 = gpu({ shaderF16: true });
const f32 = gpu();

function thrown(run: () => unknown): unknown {
  try {
    run();
  } catch (error) {
    return error;
  }
  throw new Error('expected a throw');
}

const aegis = (extra: Partial<Extract<ModelSource, { kind: 'aegis' }>> = {}): ModelSource => ({
  kind: 'aegis',
  weightsUrl: 'https://cdn.example.com/models/aegis-guard-2.0-{variant}',
  variant: 'auto',
  ...extra,
});

describe('chooseVariant and the GPU requirements', () => {
  test('auto follows shader-f16; explicit variants are kept when possible', () => {
    expect(chooseVariant(f16, 'auto')).toBe('q4f16_1');
    expect(chooseVariant(f32, 'auto')).toBe('q4f32_1');
    expect(chooseVariant(f16, 'q4f32_1')).toBe('q4f32_1');
    expect(chooseVariant(f16, 'q4f16_1')).toBe('q4f16_1');
    const error = thrown(() => chooseVariant(f32, 'q4f16_1'));
    expect(error).toBeInstanceOf(WebGPUUnavailableError);
    expect((error as WebGPUUnavailableError).reason).toBe('feature:shader-f16');
  });

  test.each(Object.keys(WEBLLM_MIN_LIMITS))('a %s below WebLLM\'s minimum is refused by name', (name) => {
    const limit = name as keyof typeof WEBLLM_MIN_LIMITS;
    expect(() => assertGpuMeetsNeeds(gpu())).not.toThrow();
    const error = thrown(() => assertGpuMeetsNeeds(gpu({ [limit]: WEBLLM_MIN_LIMITS[limit] - 1 })));
    expect(error).toBeInstanceOf(WebGPUUnavailableError);
    expect((error as WebGPUUnavailableError).reason).toBe(`limit:${limit}`);
    expect((error as Error).message).toContain(limit);
  });

  test('other features are looked up in the adapter feature set', () => {
    expect(() => assertGpuMeetsNeeds(f32, { requiredFeatures: ['subgroups'] }, new Set(['subgroups']))).not.toThrow();
    const error = thrown(() => assertGpuMeetsNeeds(f32, { requiredFeatures: ['subgroups'] }, new Set()));
    expect((error as WebGPUUnavailableError).reason).toBe('feature:subgroups');
  });
});

describe('resolveModelSpec for AegisGuard 2.0', () => {
  test('fills the variant into the URL, adds the trailing slash and the defaults', () => {
    expect(resolveModelSpec(aegis(), f32)).toEqual({
      modelId: 'aegis-guard-2.0-q4f32_1',
      variant: 'q4f32_1',
      weightsUrl: 'https://cdn.example.com/models/aegis-guard-2.0-q4f32_1/',
      modelLibUrl: undefined,
      baseModel: AEGIS_BASE_MODEL,
      requiredFeatures: [],
      contextWindow: DEFAULT_CONTEXT_WINDOW,
    });
    const spec = resolveModelSpec(aegis(), f16);
    expect(spec.variant).toBe('q4f16_1');
    expect(spec.weightsUrl).toBe('https://cdn.example.com/models/aegis-guard-2.0-q4f16_1/');
    expect(spec.requiredFeatures).toEqual(['shader-f16']);
  });

  test('keeps an existing trailing slash and fills {variant} in the library URL too', () => {
    const spec = resolveModelSpec(
      aegis({ weightsUrl: 'http://localhost:5173/m/{variant}/', modelLibUrl: 'http://localhost:5173/libs/{variant}.wasm', contextWindow: 2048, modelId: 'mine' }),
      f32,
    );
    expect(spec.weightsUrl).toBe('http://localhost:5173/m/q4f32_1/');
    expect(spec.modelLibUrl).toBe('http://localhost:5173/libs/q4f32_1.wasm');
    expect(spec.contextWindow).toBe(2048);
    expect(spec.modelId).toBe('mine');
  });

  test('fills the placeholder after the page percent-encoded it with new URL()', () => {
    const encoded = new URL('/m/aegis-{variant}/', 'http://127.0.0.1:5173/').href;
    expect(encoded).toContain('%7Bvariant%7D');
    const spec = resolveModelSpec(aegis({ weightsUrl: encoded }), f32);
    expect(spec.weightsUrl).toBe('http://127.0.0.1:5173/m/aegis-q4f32_1/');
  });

  test.each([
    [{ weightsUrl: 'models/aegis/' }, /absolute/],
    [{ weightsUrl: 'ftp://example.com/x/' }, /http/],
    [{ weightsUrl: 'https://example.com/x/?token=1' }, /query/],
    [{ weightsUrl: '' }, /non-empty/],
    [{ modelLibUrl: '/libs/x.wasm' }, /modelLibUrl/],
    [{ contextWindow: 100 }, /contextWindow/],
    [{ contextWindow: 4096.5 }, /contextWindow/],
    [{ variant: 'q8' as never }, /variant/],
    [{ modelId: '' }, /modelId/],
  ])('refuses %o', (extra, message) => {
    const error = thrown(() => resolveModelSpec(aegis(extra), f32));
    expect(error).toBeInstanceOf(AegisInputError);
    expect((error as Error).message).toMatch(message);
  });

  test('an explicit q4f16_1 on a GPU without shader-f16 is a WebGPUUnavailableError', () => {
    expect(thrown(() => resolveModelSpec(aegis({ variant: 'q4f16_1' }), f32))).toBeInstanceOf(WebGPUUnavailableError);
  });

  test('the known ids map to their variants', () => {
    expect(AEGIS_MODEL_IDS).toEqual({
      'aegis-guard-2.0': 'auto',
      'aegis-guard-2.0-q4f16_1': 'q4f16_1',
      'aegis-guard-2.0-q4f32_1': 'q4f32_1',
    });
    expect(aegisModelId('q4f16_1')).toBe('aegis-guard-2.0-q4f16_1');
  });
});

describe('resolveModelSpec for a WebLLM record', () => {
  const record = {
    model: 'https://huggingface.co/me/model-q4f32_1-MLC',
    model_id: 'my-model-q4f32_1',
    model_lib: 'https://cdn.example.com/libs/model-q4f32_1-webgpu.wasm',
    overrides: { context_window_size: 2048 },
  };

  test('passes the record through untouched', () => {
    const spec = resolveModelSpec({ kind: 'record', record }, f32);
    expect(spec.record).toEqual(record);
    expect(spec.modelId).toBe('my-model-q4f32_1');
    expect(spec.variant).toBe('q4f32_1');
    expect(spec.modelLibUrl).toBe(record.model_lib);
    expect(spec.weightsUrl).toBe(record.model);
    expect(spec.contextWindow).toBe(2048);
    expect(spec.requiredFeatures).toEqual([]);
  });

  test.each([
    [{ model_id: undefined }, /record\.model_id/],
    [{ model_lib: 42 }, /record\.model_lib/],
    [{ model: '/relative/' }, /record\.model must be an absolute/],
    [{ model_lib: 'file:///x.wasm' }, /record\.model_lib must use http/],
    [{ required_features: 'shader-f16' }, /required_features/],
    [{ overrides: [] }, /overrides/],
  ])('refuses %o', (change, message) => {
    const error = thrown(() => resolveModelSpec({ kind: 'record', record: { ...record, ...change } }, f32));
    expect(error).toBeInstanceOf(AegisInputError);
    expect((error as Error).message).toMatch(message);
  });

  test('a record needing shader-f16 is refused on a GPU without it', () => {
    const error = thrown(() => resolveModelSpec({ kind: 'record', record: { ...record, required_features: ['shader-f16'] } }, f32));
    expect((error as WebGPUUnavailableError).reason).toBe('feature:shader-f16');
  });

  test('an unknown source kind is an input error', () => {
    expect(thrown(() => resolveModelSpec({ kind: 'other' } as never, f32))).toBeInstanceOf(AegisInputError);
  });
});
