/**
 * Tiny random Llama checkpoints and PEFT LoRA adapters for the builder tests (seeded, so reproducible).
 * They return the exact values stored (after dtype rounding) so tests can compute references independently.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { seededRandom } from './prng.js';
import { storedValue, writeSafetensors, type TensorToWrite, type WritableDtype } from './safetensors-writer.js';

export interface TinyLlamaSpec {
  hidden: number;
  layers: number;
  heads: number;
  kvHeads: number;
  intermediate: number;
  vocab: number;
  tie: boolean;
  dtype: WritableDtype;
  seed: number;
  /** Split the weights over this many shards with a model.safetensors.index.json (1: model.safetensors). */
  shards: number;
  nameOrPath?: string;
}

export const TINY: TinyLlamaSpec = {
  hidden: 64,
  layers: 2,
  heads: 4,
  kvHeads: 2,
  intermediate: 128,
  vocab: 256,
  tie: false,
  dtype: 'BF16',
  seed: 1,
  shards: 1,
};

export function randomValues(rand: () => number, n: number, scale: number, offset = 0): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = offset + (rand() * 2 - 1) * scale;
  return out;
}

export function hfConfig(spec: TinyLlamaSpec): Record<string, unknown> {
  return {
    architectures: ['LlamaForCausalLM'],
    model_type: 'llama',
    hidden_size: spec.hidden,
    num_hidden_layers: spec.layers,
    num_attention_heads: spec.heads,
    num_key_value_heads: spec.kvHeads,
    intermediate_size: spec.intermediate,
    vocab_size: spec.vocab,
    tie_word_embeddings: spec.tie,
    rms_norm_eps: 1e-5,
    rope_theta: 500000,
    max_position_embeddings: 2048,
    bos_token_id: 0,
    eos_token_id: 1,
    torch_dtype: 'bfloat16',
    ...(spec.nameOrPath ? { _name_or_path: spec.nameOrPath } : {}),
  };
}

/** HF tensor names and shapes of a Llama with this spec. */
export function llamaTensorShapes(spec: TinyLlamaSpec): Array<[string, number[]]> {
  const { hidden: h, intermediate: f, heads, kvHeads, vocab } = spec;
  const d = h / heads;
  const list: Array<[string, number[]]> = [['model.embed_tokens.weight', [vocab, h]]];
  for (let i = 0; i < spec.layers; i++) {
    const p = `model.layers.${i}`;
    list.push(
      [`${p}.self_attn.q_proj.weight`, [heads * d, h]],
      [`${p}.self_attn.k_proj.weight`, [kvHeads * d, h]],
      [`${p}.self_attn.v_proj.weight`, [kvHeads * d, h]],
      [`${p}.self_attn.o_proj.weight`, [h, heads * d]],
      [`${p}.mlp.gate_proj.weight`, [f, h]],
      [`${p}.mlp.up_proj.weight`, [f, h]],
      [`${p}.mlp.down_proj.weight`, [h, f]],
      [`${p}.input_layernorm.weight`, [h]],
      [`${p}.post_attention_layernorm.weight`, [h]],
    );
  }
  list.push(['model.norm.weight', [h]]);
  if (!spec.tie) list.push(['lm_head.weight', [vocab, h]]);
  return list;
}

/** GPT-2 style byte-to-unicode map used by byte-level BPE vocabularies. */
function byteLevelAlphabet(): string[] {
  const bs: number[] = [];
  for (let c = 33; c <= 126; c++) bs.push(c);
  for (let c = 161; c <= 172; c++) bs.push(c);
  for (let c = 174; c <= 255; c++) bs.push(c);
  const cs = [...bs];
  let n = 0;
  for (let b = 0; b < 256; b++) {
    if (!bs.includes(b)) {
      bs.push(b);
      cs.push(256 + n++);
    }
  }
  const out: string[] = new Array(256);
  bs.forEach((b, i) => (out[b] = String.fromCodePoint(cs[i]!)));
  return out;
}

/** A valid byte-level BPE tokenizer.json with one token per byte (no merges). */
export function tinyTokenizerJson(): Record<string, unknown> {
  const vocab: Record<string, number> = {};
  byteLevelAlphabet().forEach((ch, i) => (vocab[ch] = i));
  const byteLevel = { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true };
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: [],
    normalizer: null,
    pre_tokenizer: byteLevel,
    post_processor: null,
    decoder: byteLevel,
    model: {
      type: 'BPE', dropout: null, unk_token: null, continuing_subword_prefix: null, end_of_word_suffix: null,
      fuse_unk: false, byte_fallback: false, ignore_merges: false, vocab, merges: [],
    },
  };
}

export interface TinyLlama {
  dir: string;
  spec: TinyLlamaSpec;
  /** Stored values of every tensor (f32). */
  tensors: Map<string, Float32Array>;
  shapes: Map<string, number[]>;
}

/** Writes a random Llama checkpoint (config, weights, tokenizer) into `dir`. */
export async function writeTinyLlama(dir: string, overrides: Partial<TinyLlamaSpec> = {}): Promise<TinyLlama> {
  const spec = { ...TINY, ...overrides };
  mkdirSync(dir, { recursive: true });
  const rand = seededRandom(spec.seed);
  const tensors = new Map<string, Float32Array>();
  const shapes = new Map<string, number[]>();
  const toWrite: TensorToWrite[] = [];
  for (const [name, shape] of llamaTensorShapes(spec)) {
    const n = shape.reduce((a, b) => a * b, 1);
    const values = name.endsWith('norm.weight') ? randomValues(rand, n, 0.1, 1) : randomValues(rand, n, 0.08);
    const stored = values.map((v) => storedValue(v, spec.dtype));
    tensors.set(name, stored);
    shapes.set(name, shape);
    toWrite.push({ name, dtype: spec.dtype, shape, data: values });
  }
  if (spec.shards <= 1) {
    await writeSafetensors(join(dir, 'model.safetensors'), toWrite);
  } else {
    const per = Math.ceil(toWrite.length / spec.shards);
    const weightMap: Record<string, string> = {};
    for (let s = 0; s < spec.shards; s++) {
      const file = `model-${String(s + 1).padStart(5, '0')}-of-${String(spec.shards).padStart(5, '0')}.safetensors`;
      const part = toWrite.slice(s * per, (s + 1) * per);
      for (const t of part) weightMap[t.name] = file;
      await writeSafetensors(join(dir, file), part);
    }
    writeFileSync(join(dir, 'model.safetensors.index.json'), JSON.stringify({ metadata: {}, weight_map: weightMap }, null, 2));
  }
  writeFileSync(join(dir, 'config.json'), JSON.stringify(hfConfig(spec), null, 2));
  writeFileSync(join(dir, 'generation_config.json'), JSON.stringify({ temperature: 0.6, top_p: 0.9, eos_token_id: [1, 2] }, null, 2));
  writeFileSync(join(dir, 'tokenizer.json'), JSON.stringify(tinyTokenizerJson()));
  writeFileSync(join(dir, 'tokenizer_config.json'), JSON.stringify({ model_max_length: 2048 }, null, 2));
  return { dir, spec, tensors, shapes };
}

export interface TinyLoraSpec {
  r: number;
  alpha: number;
  targets: string[];
  rslora: boolean;
  dtype: WritableDtype;
  seed: number;
  baseModel: string;
  /** Extra adapter_config.json fields (e.g. rank_pattern). */
  config: Record<string, unknown>;
  /** Per-module rank overrides (module suffix -> rank), to match a rank_pattern. */
  ranks: Record<string, number>;
}

export interface TinyLora {
  dir: string;
  /** By base tensor name: A [r, in], B [out, r] stored values, and the expected scale. */
  factors: Map<string, { a: Float32Array; b: Float32Array; rank: number; scale: number }>;
}

/** Writes a PEFT LoRA adapter for `base` into `dir` (non-zero B, unlike a fresh PEFT init, so the merge shows). */
export async function writeTinyLora(dir: string, base: TinyLlama, overrides: Partial<TinyLoraSpec> = {}): Promise<TinyLora> {
  const spec: TinyLoraSpec = {
    r: 4,
    alpha: 8,
    targets: ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'],
    rslora: false,
    dtype: 'F32',
    seed: 99,
    baseModel: 'test/tiny-llama',
    config: {},
    ranks: {},
    ...overrides,
  };
  mkdirSync(dir, { recursive: true });
  const rand = seededRandom(spec.seed);
  const factors: TinyLora['factors'] = new Map();
  const toWrite: TensorToWrite[] = [];
  for (const [name, shape] of base.shapes) {
    const module = name.replace(/\.weight$/, '');
    const suffix = module.split('.').at(-1)!;
    if (!spec.targets.includes(suffix) || shape.length !== 2 || module.includes('embed_tokens')) continue;
    const rank = spec.ranks[suffix] ?? spec.r;
    const [out, inp] = shape as [number, number];
    const a = randomValues(rand, rank * inp, 0.1).map((v) => storedValue(v, spec.dtype));
    const b = randomValues(rand, out * rank, 0.1).map((v) => storedValue(v, spec.dtype));
    const alpha = (spec.config.alpha_pattern as Record<string, number> | undefined)?.[suffix] ?? spec.alpha;
    factors.set(name, { a, b, rank, scale: spec.rslora ? alpha / Math.sqrt(rank) : alpha / rank });
    toWrite.push(
      { name: `base_model.model.${module}.lora_A.weight`, dtype: spec.dtype, shape: [rank, inp], data: a },
      { name: `base_model.model.${module}.lora_B.weight`, dtype: spec.dtype, shape: [out, rank], data: b },
    );
  }
  await writeSafetensors(join(dir, 'adapter_model.safetensors'), toWrite);
  writeFileSync(
    join(dir, 'adapter_config.json'),
    JSON.stringify(
      {
        peft_type: 'LORA',
        task_type: 'CAUSAL_LM',
        base_model_name_or_path: spec.baseModel,
        r: spec.r,
        lora_alpha: spec.alpha,
        lora_dropout: 0.05,
        target_modules: spec.targets,
        bias: 'none',
        use_rslora: spec.rslora,
        use_dora: false,
        fan_in_fan_out: false,
        modules_to_save: null,
        rank_pattern: {},
        alpha_pattern: {},
        ...spec.config,
      },
      null,
      2,
    ),
  );
  return { dir, factors };
}

/** The merged weight W + scale * B @ A in f64, the independent reference for the merge. */
export function mergedReference(base: TinyLlama, lora: TinyLora | undefined, name: string): Float64Array {
  const w = base.tensors.get(name)!;
  const out = Float64Array.from(w);
  const f = lora?.factors.get(name);
  if (!f) return out;
  const [rows, cols] = base.shapes.get(name) as [number, number];
  for (let i = 0; i < rows; i++) {
    for (let k = 0; k < cols; k++) {
      let s = 0;
      for (let j = 0; j < f.rank; j++) s += f.b[i * f.rank + j]! * f.a[j * cols + k]!;
      out[i * cols + k]! += f.scale * s;
    }
  }
  return out;
}
