/**
 * What the stock MLC Llama model library expects to load, derived from the architecture: the parameter list
 * (names, order, shapes, dtypes, as in the library's `_metadata.params`) and, for the builder, where each
 * output tensor comes from in a Hugging Face checkpoint.
 *
 * Layout (checked against real libraries' metadata in the tests):
 *   model.embed_tokens, then per layer: self_attn.qkv_proj (q, k, v stacked on the output dim), self_attn.o_proj,
 *   mlp.gate_up_proj (gate, up), mlp.down_proj, input_layernorm, post_attention_layernorm; then model.norm and,
 *   unless the embeddings are tied, lm_head. 4-bit formats store each linear/embedding as q_weight [N, K/8]
 *   uint32 + q_scale [N, K/32]; norms stay `.weight` in the model dtype.
 */
import { BuildArgumentError } from './errors.js';
import type { LlamaArchitecture } from './llama-config.js';

export type QuantizationName = 'q4f16_1' | 'q4f32_1' | 'q0f16' | 'q0f32';
export type ModelDtype = 'float16' | 'float32';
export type ParamDtype = ModelDtype | 'uint32';

export interface Quantization {
  name: QuantizationName;
  /** 4 for group quantization, 0 for plain weights. */
  bits: 4 | 0;
  modelDtype: ModelDtype;
}

export const QUANTIZATIONS: Record<QuantizationName, Quantization> = {
  q4f16_1: { name: 'q4f16_1', bits: 4, modelDtype: 'float16' },
  q4f32_1: { name: 'q4f32_1', bits: 4, modelDtype: 'float32' },
  q0f16: { name: 'q0f16', bits: 0, modelDtype: 'float16' },
  q0f32: { name: 'q0f32', bits: 0, modelDtype: 'float32' },
};

export function quantizationByName(name: string): Quantization {
  const q = QUANTIZATIONS[name as QuantizationName];
  if (!q) throw new BuildArgumentError(`unknown quantization ${JSON.stringify(name)}; use one of ${Object.keys(QUANTIZATIONS).join(', ')}`);
  return q;
}

export const GROUP_SIZE = 32;
/** 4-bit values per uint32 word. */
export const PER_WORD = 8;

export const DTYPE_BYTES: Record<ParamDtype, number> = { float16: 2, float32: 4, uint32: 4 };

export interface ParamRecord {
  name: string;
  shape: Array<number | 'vocab_size'>;
  dtype: ParamDtype;
}

/** A Hugging Face tensor that provides `rows` consecutive output rows. */
export interface SourceSlice {
  tensor: string;
  rows: number;
}

/**
 * One output weight: a matrix [rows, cols] assembled from source slices in order (fusion), or a norm vector.
 * `quantizable` is true for embeddings and linear layers (they become q_weight/q_scale in 4-bit formats).
 */
export interface WeightJob {
  /** Output name without the `.weight` / `.q_weight` suffix, e.g. model.layers.0.self_attn.qkv_proj. */
  target: string;
  kind: 'embedding' | 'linear' | 'norm';
  sources: SourceSlice[];
  rows: number;
  cols: number;
  quantizable: boolean;
}

/** The output weights of a Llama model in library order. */
export function planWeights(arch: LlamaArchitecture): WeightJob[] {
  const { hiddenSize: h, intermediateSize: f, headDim, numHeads, numKvHeads, vocabSize } = arch;
  const jobs: WeightJob[] = [];
  const matrix = (target: string, kind: 'embedding' | 'linear', sources: SourceSlice[], cols: number) =>
    jobs.push({ target, kind, sources, rows: sources.reduce((n, s) => n + s.rows, 0), cols, quantizable: true });
  const norm = (target: string) =>
    jobs.push({ target, kind: 'norm', sources: [{ tensor: `${target}.weight`, rows: 1 }], rows: 1, cols: h, quantizable: false });

  matrix('model.embed_tokens', 'embedding', [{ tensor: 'model.embed_tokens.weight', rows: vocabSize }], h);
  for (let i = 0; i < arch.numLayers; i++) {
    const attn = `model.layers.${i}.self_attn`;
    const mlp = `model.layers.${i}.mlp`;
    matrix(
      `${attn}.qkv_proj`,
      'linear',
      [
        { tensor: `${attn}.q_proj.weight`, rows: numHeads * headDim },
        { tensor: `${attn}.k_proj.weight`, rows: numKvHeads * headDim },
        { tensor: `${attn}.v_proj.weight`, rows: numKvHeads * headDim },
      ],
      h,
    );
    matrix(`${attn}.o_proj`, 'linear', [{ tensor: `${attn}.o_proj.weight`, rows: h }], numHeads * headDim);
    matrix(
      `${mlp}.gate_up_proj`,
      'linear',
      [
        { tensor: `${mlp}.gate_proj.weight`, rows: f },
        { tensor: `${mlp}.up_proj.weight`, rows: f },
      ],
      h,
    );
    matrix(`${mlp}.down_proj`, 'linear', [{ tensor: `${mlp}.down_proj.weight`, rows: h }], f);
    norm(`model.layers.${i}.input_layernorm`);
    norm(`model.layers.${i}.post_attention_layernorm`);
  }
  norm('model.norm');
  if (!arch.tieWordEmbeddings) matrix('lm_head', 'linear', [{ tensor: 'lm_head.weight', rows: vocabSize }], h);
  return jobs;
}

/** The parameter records one job produces. `symbolicVocab` writes "vocab_size" as the libraries do. */
export function paramsOfJob(job: WeightJob, quant: Quantization, symbolicVocab = false): ParamRecord[] {
  const rows: number | 'vocab_size' =
    symbolicVocab && (job.kind === 'embedding' || job.target === 'lm_head') ? 'vocab_size' : job.rows;
  if (job.kind === 'norm') return [{ name: `${job.target}.weight`, shape: [job.cols], dtype: quant.modelDtype }];
  if (quant.bits === 0 || !job.quantizable) {
    return [{ name: `${job.target}.weight`, shape: [rows, job.cols], dtype: quant.modelDtype }];
  }
  return [
    { name: `${job.target}.q_weight`, shape: [rows, job.cols / PER_WORD], dtype: 'uint32' },
    { name: `${job.target}.q_scale`, shape: [rows, job.cols / GROUP_SIZE], dtype: quant.modelDtype },
  ];
}

/** The full expected parameter list, in the library's order. */
export function expectedParams(arch: LlamaArchitecture, quant: Quantization, options: { symbolicVocab?: boolean } = {}): ParamRecord[] {
  return planWeights(arch).flatMap((job) => paramsOfJob(job, quant, options.symbolicVocab ?? false));
}

/** Bytes of one parameter record (concrete shapes only). */
export function paramBytes(p: ParamRecord): number {
  return p.shape.reduce<number>((n, d) => {
    if (typeof d !== 'number') throw new Error(`symbolic dimension in ${p.name}`);
    return n * d;
  }, 1) * DTYPE_BYTES[p.dtype];
}
