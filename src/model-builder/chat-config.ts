/**
 * mlc-chat-config.json, with the fields mlc_llm's gen_config writes and WebLLM 0.2.86 reads (ChatConfig in
 * config.d.ts, used in reloadInternal and the LLMChatPipeline constructor). Notably:
 * - `sliding_window_size: -1` must be present: WebLLM throws WindowSizeConfigurationError when it is missing
 *   (undefined !== -1) and a context window is set.
 * - `conv_template` must be complete (seps, roles, stop_token_ids), `tokenizer_files` must list tokenizer.json.
 * - `prefill_chunk_size` should equal the library's (the stock "cs1k" libraries use 1024); WebLLM reads the
 *   library's own value, this copy is informational.
 */
import type { ConvTemplate } from './conv-templates.js';
import type { LlamaArchitecture } from './llama-config.js';
import type { Quantization } from './param-plan.js';
import type { TokenizerInfo } from './tokenizer-files.js';

export const CHAT_CONFIG_FILE = 'mlc-chat-config.json';

export interface GenerationDefaults {
  temperature: number;
  top_p: number;
  repetition_penalty: number;
  presence_penalty: number;
  frequency_penalty: number;
}

export interface ChatConfigInput {
  arch: LlamaArchitecture;
  quant: Quantization;
  convTemplate: ConvTemplate;
  tokenizerFiles: string[];
  tokenizerInfo: TokenizerInfo;
  contextWindowSize: number;
  prefillChunkSize: number;
  generation: GenerationDefaults;
  /** eos ids from generation_config.json (falls back to config.json, then the template's stop ids). */
  eosTokenId?: number | number[];
  /** Extra top-level fields (a manifest's chatConfig), applied last. */
  overrides?: Record<string, unknown>;
}

/** Reads sampling defaults from a generation_config.json object (missing values: neutral sampling). */
export function generationDefaults(generationConfig: Record<string, unknown> | undefined): GenerationDefaults {
  const n = (key: string, fallback: number) => {
    const v = generationConfig?.[key];
    return typeof v === 'number' && Number.isFinite(v) ? v : fallback;
  };
  return {
    temperature: n('temperature', 1),
    top_p: n('top_p', 1),
    repetition_penalty: n('repetition_penalty', 1),
    presence_penalty: 0,
    frequency_penalty: 0,
  };
}

export function buildChatConfig(input: ChatConfigInput): Record<string, unknown> {
  const { arch, quant, contextWindowSize, prefillChunkSize } = input;
  const eos = input.eosTokenId ?? arch.eosTokenId ?? input.convTemplate.stop_token_ids;
  return {
    version: '0.1.0',
    model_type: 'llama',
    quantization: quant.name,
    model_config: {
      hidden_size: arch.hiddenSize,
      intermediate_size: arch.intermediateSize,
      num_attention_heads: arch.numHeads,
      num_hidden_layers: arch.numLayers,
      rms_norm_eps: arch.rmsNormEps,
      vocab_size: arch.vocabSize,
      tie_word_embeddings: arch.tieWordEmbeddings,
      position_embedding_base: arch.ropeTheta,
      rope_scaling: arch.ropeScaling,
      context_window_size: contextWindowSize,
      prefill_chunk_size: prefillChunkSize,
      num_key_value_heads: arch.numKvHeads,
      head_dim: arch.headDim,
      tensor_parallel_shards: 1,
      pipeline_parallel_stages: 1,
      max_batch_size: 1,
      disaggregation: false,
    },
    vocab_size: arch.vocabSize,
    context_window_size: contextWindowSize,
    sliding_window_size: -1,
    prefill_chunk_size: prefillChunkSize,
    attention_sink_size: -1,
    tensor_parallel_shards: 1,
    pipeline_parallel_stages: 1,
    ...input.generation,
    tokenizer_files: input.tokenizerFiles,
    tokenizer_info: input.tokenizerInfo,
    conv_template: input.convTemplate,
    pad_token_id: 0,
    bos_token_id: arch.bosTokenId ?? input.convTemplate.system_prefix_token_ids[0] ?? 1,
    eos_token_id: eos,
    ...(input.overrides ?? {}),
  };
}
