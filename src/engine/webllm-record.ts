/**
 * Builds the WebLLM `ModelRecord` for a `ModelSpec`, and works out which URLs WebLLM will fetch for it.
 */
import { modelLibURLPrefix, modelVersion, type ModelRecord } from '@mlc-ai/web-llm';
import { ModelLoadError } from '../core/errors.js';
import type { ModelSpec } from './engine.js';
import { webllmModelUrlFor } from './webllm-urls.js';

/** Base models whose stock WebLLM library (v0_2_86/base) can run our weights, by file-name stem. */
const STOCK_LIBRARY_STEMS: Record<string, string> = {
  'Llama-3.1-8B-Instruct': 'Llama-3_1-8B-Instruct',
};

/** WebLLM's prebuilt library for a base model and variant, e.g. …/v0_2_86/base/Llama-3_1-8B-Instruct-q4f32_1_cs1k-webgpu.wasm. */
export function stockModelLibUrl(baseModel: string, variant: string): string {
  const stem = STOCK_LIBRARY_STEMS[baseModel];
  if (!stem) {
    throw new ModelLoadError(
      `There is no stock WebLLM model library for base model "${baseModel}"; give modelLibUrl explicitly.`,
    );
  }
  return `${modelLibURLPrefix}${modelVersion}/${stem}-${variant}_cs1k-webgpu.wasm`;
}

/** The record WebLLM loads for a spec. A user-given record is passed through untouched. */
export function buildModelRecord(spec: ModelSpec): ModelRecord {
  if (spec.record) return spec.record as unknown as ModelRecord;
  return {
    model: webllmModelUrlFor(spec.weightsUrl),
    model_id: spec.modelId,
    model_lib: spec.modelLibUrl ?? stockModelLibUrl(spec.baseModel, spec.variant),
    required_features: spec.requiredFeatures.length > 0 ? [...spec.requiredFeatures] : undefined,
    overrides: {
      context_window_size: spec.contextWindow,
      // mlc-chat-config.json files without this field make WebLLM throw WindowSizeConfigurationError
      // (idx:11880-11884: `undefined !== -1`); AegisGuard never uses a sliding window.
      sliding_window_size: -1,
      // forwardTokensAndSample samples with the config's own values (no genConfig, idx:14015) and rejects
      // missing or odd ones (idx:13626-13641); neutral penalties also keep any sampling free of bias.
      repetition_penalty: 1,
      frequency_penalty: 0,
      presence_penalty: 0,
    },
  };
}
