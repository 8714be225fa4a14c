/**
 * Turns the page's description of a model (`ModelSource`) into the runtime-neutral `ModelSpec` the engine
 * loads. Pure: no WebLLM import, no fetches; every bad input becomes an `AegisInputError` here, before any
 * download starts.
 */
import { AegisInputError } from '../core/errors.js';
import type { GpuReport } from '../core/types.js';
import type { ModelSource } from '../worker/protocol.js';
import type { ModelSpec } from './engine.js';
import { assertGpuMeetsNeeds, chooseVariant, type AegisVariant } from './gpu-requirements.js';

/** The AegisGuard 2.0 quantization variants, smallest first. */
export const AEGIS_VARIANTS: readonly AegisVariant[] = ['q4f16_1', 'q4f32_1'];

/** Id of the model whose variant is picked from the GPU. */
export const AEGIS_MODEL_ID = 'aegis-guard-2.0';

/** Known model ids and the variant each one asks for ('auto': picked from the GPU). */
export const AEGIS_MODEL_IDS: Readonly<Record<string, 'auto' | AegisVariant>> = {
  [AEGIS_MODEL_ID]: 'auto',
  [`${AEGIS_MODEL_ID}-q4f16_1`]: 'q4f16_1',
  [`${AEGIS_MODEL_ID}-q4f32_1`]: 'q4f32_1',
};

/** The model AegisGuard 2.0 is a LoRA of; its stock WebLLM model library runs the merged weights. */
export const AEGIS_BASE_MODEL = 'Llama-3.1-8B-Instruct';

/** Context window allocated when the caller gives none (prompt + taxonomy + reply fit easily). */
export const DEFAULT_CONTEXT_WINDOW = 4096;
/** Llama 3.1's trained maximum. */
export const MAX_CONTEXT_WINDOW = 131072;
/** Below this the fixed AegisGuard prompt (taxonomy and instructions) no longer fits. */
export const MIN_CONTEXT_WINDOW = 1024;

/** The model id of a variant, e.g. 'aegis-guard-2.0-q4f32_1'. */
export function aegisModelId(variant: AegisVariant): string {
  return `${AEGIS_MODEL_ID}-${variant}`;
}

/** GPU features a variant needs. */
export function requiredFeaturesFor(variant: string): string[] {
  return variant.includes('f16') ? ['shader-f16'] : [];
}

/**
 * Parses an absolute http(s) URL or throws an `AegisInputError` that says which field was wrong.
 * Relative URLs are refused: the page resolves them against its own location before sending them here,
 * and WebLLM would resolve them against the worker's origin instead (internals §1.2, pitfall 2).
 */
export function parseAbsoluteHttpUrl(value: unknown, field: string): URL {
  if (typeof value !== 'string' || value.trim() === '') {
    throw new AegisInputError(`${field} must be a non-empty URL string.`);
  }
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new AegisInputError(`${field} must be an absolute http(s) URL; got "${value}".`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new AegisInputError(`${field} must use http or https; got "${value}".`);
  }
  return url;
}

/**
 * Normalises a weights folder URL: absolute http(s), ending in '/', with no query or fragment (WebLLM
 * resolves file names against it, which would silently drop both).
 */
export function normaliseFolderUrl(value: unknown, field: string): string {
  const url = parseAbsoluteHttpUrl(value, field);
  if (url.search || url.hash) {
    throw new AegisInputError(`${field} must not carry a query string or fragment; got "${String(value)}".`);
  }
  if (!url.pathname.endsWith('/')) url.pathname += '/';
  return url.href;
}

function checkContextWindow(value: unknown): number {
  if (value === undefined) return DEFAULT_CONTEXT_WINDOW;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < MIN_CONTEXT_WINDOW || value > MAX_CONTEXT_WINDOW) {
    throw new AegisInputError(
      `contextWindow must be an integer from ${MIN_CONTEXT_WINDOW} to ${MAX_CONTEXT_WINDOW}; got ${String(value)}.`,
    );
  }
  return value;
}

function aegisSpec(source: Extract<ModelSource, { kind: 'aegis' }>, gpu: GpuReport): ModelSpec {
  if (!['auto', ...AEGIS_VARIANTS].includes(source.variant)) {
    throw new AegisInputError(`variant must be 'auto', 'q4f16_1' or 'q4f32_1'; got "${String(source.variant)}".`);
  }
  const variant = chooseVariant(gpu, source.variant);
  // The page made the URL absolute with `new URL()`, which percent-encodes the braces.
  const fill = (url: string) => url.replace(/\{variant\}|%7Bvariant%7D/gi, variant);
  if (typeof source.weightsUrl !== 'string') throw new AegisInputError('weightsUrl must be a URL string.');
  const weightsUrl = normaliseFolderUrl(fill(source.weightsUrl), 'weightsUrl');
  let modelLibUrl: string | undefined;
  if (source.modelLibUrl !== undefined) {
    if (typeof source.modelLibUrl !== 'string') throw new AegisInputError('modelLibUrl must be a URL string.');
    modelLibUrl = parseAbsoluteHttpUrl(fill(source.modelLibUrl), 'modelLibUrl').href;
  }
  if (source.modelId !== undefined && (typeof source.modelId !== 'string' || source.modelId.trim() === '')) {
    throw new AegisInputError('modelId must be a non-empty string.');
  }
  return {
    modelId: source.modelId ?? aegisModelId(variant),
    variant,
    weightsUrl,
    modelLibUrl,
    baseModel: AEGIS_BASE_MODEL,
    requiredFeatures: requiredFeaturesFor(variant),
    contextWindow: checkContextWindow(source.contextWindow),
  };
}

const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

function recordSpec(record: unknown, gpu: GpuReport): ModelSpec {
  if (!isPlainObject(record)) throw new AegisInputError('record must be a WebLLM model record object.');
  for (const field of ['model', 'model_id', 'model_lib'] as const) {
    if (typeof record[field] !== 'string' || (record[field] as string).trim() === '') {
      throw new AegisInputError(`record.${field} must be a non-empty string.`);
    }
  }
  parseAbsoluteHttpUrl(record.model, 'record.model');
  parseAbsoluteHttpUrl(record.model_lib, 'record.model_lib');
  const features = record.required_features;
  if (features !== undefined && !(Array.isArray(features) && features.every((f) => typeof f === 'string'))) {
    throw new AegisInputError('record.required_features must be an array of strings.');
  }
  if (record.overrides !== undefined && !isPlainObject(record.overrides)) {
    throw new AegisInputError('record.overrides must be an object.');
  }
  const requiredFeatures = (features as string[] | undefined) ?? [];
  // Refuse now rather than after WebLLM has downloaded the model library (its feature check comes late).
  // The report only knows shader-f16; other features are checked against the adapter when loading.
  assertGpuMeetsNeeds(gpu, { requireShaderF16: requiredFeatures.includes('shader-f16') });
  const overrides = (record.overrides ?? {}) as Record<string, unknown>;
  const modelId = record.model_id as string;
  const variant = /q\d+f\d+(?:_\d+)?/.exec(`${modelId} ${String(record.model_lib)}`)?.[0] ?? 'custom';
  const contextWindow = overrides.context_window_size;
  return {
    modelId,
    variant,
    weightsUrl: record.model as string,
    modelLibUrl: record.model_lib as string,
    baseModel: 'custom',
    requiredFeatures,
    // Informational until loaded: without an override the model's own mlc-chat-config.json decides.
    contextWindow: typeof contextWindow === 'number' && contextWindow > 0 ? contextWindow : DEFAULT_CONTEXT_WINDOW,
    record: { ...record },
  };
}

/**
 * Builds the spec to load. For `kind: 'aegis'` the variant is chosen from the GPU report and substituted
 * for `{variant}` in the URLs; for `kind: 'record'` the WebLLM record is validated and carried untouched.
 */
export function resolveModelSpec(source: ModelSource, gpu: GpuReport): ModelSpec {
  if (!isPlainObject(source)) throw new AegisInputError('The model source must be an object.');
  switch (source.kind) {
    case 'aegis':
      return aegisSpec(source, gpu);
    case 'record':
      return recordSpec(source.record, gpu);
    default:
      throw new AegisInputError(`Unknown model source kind "${String((source as { kind?: unknown }).kind)}".`);
  }
}
