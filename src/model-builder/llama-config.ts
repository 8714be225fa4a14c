/**
 * The Hugging Face `config.json` of a Llama checkpoint, reduced to what the stock WebLLM Llama model library
 * fixes at compile time. Anything that library cannot run (another model type, biases, an odd head_dim) is
 * refused here, before any weight is read.
 */
import { NotLlamaError } from './errors.js';

export interface LlamaArchitecture {
  hiddenSize: number;
  numLayers: number;
  numHeads: number;
  numKvHeads: number;
  headDim: number;
  intermediateSize: number;
  vocabSize: number;
  tieWordEmbeddings: boolean;
  rmsNormEps: number;
  ropeTheta: number;
  ropeScaling: Record<string, unknown> | null;
  maxPositionEmbeddings: number;
  bosTokenId: number | undefined;
  eosTokenId: number | number[] | undefined;
  /** `_name_or_path` when the config records one (used to check the adapter's base). */
  nameOrPath: string | undefined;
}

const int = (v: unknown) => (typeof v === 'number' && Number.isInteger(v) && v > 0 ? v : undefined);

/** Parses config.json of a Llama checkpoint; `source` names it in errors. */
export function parseLlamaConfig(json: unknown, source: string): LlamaArchitecture {
  const c = (json ?? {}) as Record<string, unknown>;
  const fail = (why: string) => new NotLlamaError(`${source}: ${why}`);
  if (c.model_type !== 'llama') {
    throw fail(
      `model_type is ${JSON.stringify(c.model_type)}, not "llama": only Llama models run on the stock WebLLM Llama library`,
    );
  }
  const archs = c.architectures;
  if (Array.isArray(archs) && !archs.includes('LlamaForCausalLM')) {
    throw fail(`architectures is ${JSON.stringify(archs)}; expected LlamaForCausalLM`);
  }
  const need = (key: string) => {
    const v = int(c[key]);
    if (v === undefined) throw fail(`${key} is missing or not a positive integer`);
    return v;
  };
  const hiddenSize = need('hidden_size');
  const numLayers = need('num_hidden_layers');
  const numHeads = need('num_attention_heads');
  const numKvHeads = int(c.num_key_value_heads) ?? numHeads;
  const intermediateSize = need('intermediate_size');
  const vocabSize = need('vocab_size');
  if (hiddenSize % numHeads !== 0) throw fail(`hidden_size ${hiddenSize} is not a multiple of num_attention_heads ${numHeads}`);
  const headDim = int(c.head_dim) ?? hiddenSize / numHeads;
  if (headDim * numHeads !== hiddenSize) {
    throw fail(`head_dim ${headDim} x ${numHeads} heads != hidden_size ${hiddenSize}; the stock library assumes equality`);
  }
  if (numHeads % numKvHeads !== 0) throw fail(`num_attention_heads ${numHeads} is not a multiple of num_key_value_heads ${numKvHeads}`);
  if (c.attention_bias === true || c.mlp_bias === true) {
    throw fail('attention_bias/mlp_bias is true; the stock Llama library has no bias parameters');
  }
  for (const [key, value] of [['hidden_size', hiddenSize], ['intermediate_size', intermediateSize]] as const) {
    if (value % 32 !== 0) throw fail(`${key} ${value} is not a multiple of 32 (the 4-bit group size)`);
  }
  const eos = c.eos_token_id;
  return {
    hiddenSize,
    numLayers,
    numHeads,
    numKvHeads,
    headDim,
    intermediateSize,
    vocabSize,
    tieWordEmbeddings: c.tie_word_embeddings === true,
    rmsNormEps: typeof c.rms_norm_eps === 'number' ? c.rms_norm_eps : 1e-6,
    ropeTheta: typeof c.rope_theta === 'number' ? c.rope_theta : 10000,
    ropeScaling: c.rope_scaling && typeof c.rope_scaling === 'object' ? (c.rope_scaling as Record<string, unknown>) : null,
    maxPositionEmbeddings: int(c.max_position_embeddings) ?? 4096,
    bosTokenId: int(c.bos_token_id) ?? (c.bos_token_id === 0 ? 0 : undefined),
    eosTokenId:
      typeof eos === 'number' || (Array.isArray(eos) && eos.every((e) => typeof e === 'number'))
        ? (eos as number | number[])
        : undefined,
    nameOrPath: typeof c._name_or_path === 'string' && c._name_or_path !== '' ? c._name_or_path : undefined,
  };
}
