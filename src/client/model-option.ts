/**
 * Turns the `model` option into the worker's ModelSource. URLs are made absolute here, against the page:
 * inside a worker WebLLM would resolve relative URLs against the origin, not the page (internals §1.2).
 */
import { AegisInputError } from '../core/errors.js';
import type { ModelSource } from '../worker/protocol.js';
import type { ModelOption } from './types.js';

/** Known model ids and the variant each pins ('auto' = chosen from the GPU). */
const KNOWN_IDS: Record<string, 'auto' | 'q4f16_1' | 'q4f32_1'> = {
  'aegis-guard-2.0': 'auto',
  'aegis-guard-2.0-q4f16_1': 'q4f16_1',
  'aegis-guard-2.0-q4f32_1': 'q4f32_1',
};

/** Where the weights are looked for when only an id is given: next to the page, as build-model writes them. */
export const DEFAULT_WEIGHTS_PATH = './models/aegis-guard-2.0-{variant}/';

const VARIANTS = new Set(['auto', 'q4f16_1', 'q4f32_1']);

function absolute(url: string | URL, base: string, what: string): string {
  try {
    return new URL(url, base).href;
  } catch {
    throw new AegisInputError(`${what} is not a valid URL: ${String(url)}`);
  }
}

function looksLikeUrl(value: string): boolean {
  return /^[a-z][a-z0-9+.-]*:/i.test(value) || value.startsWith('/') || value.startsWith('.') || value.includes('/');
}

export function toModelSource(option: ModelOption | undefined, base: string): ModelSource {
  const value = option ?? 'aegis-guard-2.0';
  if (typeof value === 'string' && !looksLikeUrl(value)) {
    const variant = KNOWN_IDS[value];
    if (!variant) {
      throw new AegisInputError(
        `Unknown model id "${value}". Known ids: ${Object.keys(KNOWN_IDS).join(', ')}; or pass the URL of a folder built by "aegis-guard build-model".`,
      );
    }
    return { kind: 'aegis', weightsUrl: absolute(DEFAULT_WEIGHTS_PATH, base, 'The default weights path'), variant };
  }
  if (typeof value === 'string' || value instanceof URL) {
    return { kind: 'aegis', weightsUrl: absolute(value, base, 'The model URL'), variant: 'auto' };
  }
  if (typeof value !== 'object' || value === null) {
    throw new AegisInputError('The model option must be an id, a URL, { weightsUrl, ... } or { record }.');
  }
  if ('record' in value) {
    if (typeof value.record !== 'object' || value.record === null) {
      throw new AegisInputError('model.record must be a WebLLM model record object.');
    }
    return { kind: 'record', record: { ...value.record } };
  }
  if (!('weightsUrl' in value) || !value.weightsUrl) {
    throw new AegisInputError('The model object needs a weightsUrl (or a record).');
  }
  const variant = value.variant ?? 'auto';
  if (!VARIANTS.has(variant)) throw new AegisInputError(`Unknown variant "${variant}": use auto, q4f16_1 or q4f32_1.`);
  if (value.contextWindow !== undefined && !(Number.isInteger(value.contextWindow) && value.contextWindow >= 512)) {
    throw new AegisInputError('contextWindow must be an integer of at least 512 tokens.');
  }
  return {
    kind: 'aegis',
    weightsUrl: absolute(value.weightsUrl, base, 'model.weightsUrl'),
    variant,
    ...(value.modelLibUrl ? { modelLibUrl: absolute(value.modelLibUrl, base, 'model.modelLibUrl') } : {}),
    ...(value.contextWindow ? { contextWindow: value.contextWindow } : {}),
    ...(value.id ? { modelId: value.id } : {}),
  };
}
