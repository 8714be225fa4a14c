/**
 * build-model end to end on tiny random Llama checkpoints and LoRA adapters: merge math (against an f64
 * reference), fusion order, quantization layout, shard and JSON consistency, determinism, and the plain,
 * tied, sharded and rsLoRA variants.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { buildModel } from '../../src/model-builder/convert.js';
import { f16BitsToF32, f32ToF16Bits } from '../../src/model-builder/float16.js';
import { parseLlamaConfig } from '../../src/model-builder/llama-config.js';
import { expectedParams, quantizationByName } from '../../src/model-builder/param-plan.js';
import { dequantizeRows } from '../../src/model-builder/quantize.js';
import { readBuilt, type BuiltModel } from '../helpers/build-output.js';
import { hfConfig, mergedReference, writeTinyLlama, writeTinyLora, type TinyLlama, type TinyLora } from '../helpers/build-tiny-llama.js';

let work: string;
beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'aegis-build-model-'));
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

const d = (name: string) => join(work, name);

/** Dequantized rows of an output weight (q_weight + q_scale). */
function dequant(out: BuiltModel, target: string, dtype: 'float16' | 'float32'): { values: Float32Array; scales: Float32Array; rows: number; cols: number } {
  const rec = out.records.find((r) => r.name === `${target}.q_weight`)!;
  const [rows, words] = rec.shape as [number, number];
  const cols = words * 8;
  const rawScales = dtype === 'float16' ? out.u16(`${target}.q_scale`) : out.f32(`${target}.q_scale`);
  const values = dequantizeRows(out.u32(`${target}.q_weight`), rawScales, dtype, rows, cols);
  const scales = Float32Array.from(rawScales as ArrayLike<number>, (s) => (dtype === 'float16' ? f16BitsToF32(s) : s));
  return { values, scales, rows, cols };
}

/** Max error of rows [row0, row0+ref.length/cols) of a dequantized weight vs a reference, in quantization steps. */
function stepsError(q: ReturnType<typeof dequant>, row0: number, ref: Float64Array): number {
  let worst = 0;
  for (let i = 0; i < ref.length; i++) {
    const at = row0 * q.cols + i;
    const scale = q.scales[Math.floor(at / 32)]!;
    const err = Math.abs(q.values[at]! - ref[i]!);
    worst = Math.max(worst, scale > 0 ? err / scale : err > 0 ? Infinity : 0);
  }
  return worst;
}

const SOURCES: Record<string, string[]> = {
  qkv_proj: ['q_proj', 'k_proj', 'v_proj'],
  o_proj: ['o_proj'],
  gate_up_proj: ['gate_proj', 'up_proj'],
  down_proj: ['down_proj'],
};

/** Checks every quantized weight against the merged f64 reference, segment by fused segment. */
function expectMergedAndFused(out: BuiltModel, base: TinyLlama, lora: TinyLora | undefined, dtype: 'float16' | 'float32') {
  const check = (target: string, sources: string[]) => {
    const q = dequant(out, target, dtype);
    let row = 0;
    for (const src of sources) {
      const ref = mergedReference(base, lora, src);
      expect(stepsError(q, row, ref), `${target} rows of ${src}`).toBeLessThanOrEqual(0.5005);
      row += ref.length / q.cols;
    }
    expect(row).toBe(q.rows);
  };
  check('model.embed_tokens', ['model.embed_tokens.weight']);
  if (!base.spec.tie) check('lm_head', ['lm_head.weight']);
  for (let i = 0; i < base.spec.layers; i++) {
    for (const [fused, parts] of Object.entries(SOURCES)) {
      const group = fused.endsWith('proj') && ['qkv_proj', 'o_proj'].includes(fused) ? 'self_attn' : 'mlp';
      check(`model.layers.${i}.${group}.${fused}`, parts.map((p) => `model.layers.${i}.${group}.${p}.weight`));
    }
  }
}

function expectConsistent(dir: string, out: BuiltModel, base: TinyLlama, quant: string) {
  const arch = parseLlamaConfig(hfConfig(base.spec), 'tiny');
  const expected = expectedParams(arch, quantizationByName(quant));
  expect(out.records.map(({ name, shape, dtype }) => ({ name, shape, dtype }))).toEqual(expected);
  for (const shard of out.cache.records) {
    const file = readFileSync(join(dir, shard.dataPath));
    expect(file.length).toBe(shard.nbytes);
    expect(createHash('md5').update(file).digest('hex')).toBe(shard.md5sum);
    expect(shard.format).toBe('raw-shard');
    let end = 0;
    for (const r of [...shard.records].sort((a, b) => a.byteOffset - b.byteOffset)) {
      expect(r.format).toBe('raw');
      expect(r.byteOffset).toBeGreaterThanOrEqual(end);
      end = r.byteOffset + r.nbytes;
      expect(r.nbytes).toBe(r.shape.reduce((a, b) => a * b, 1) * (r.dtype === 'float16' ? 2 : 4));
    }
    expect(end).toBeLessThanOrEqual(shard.nbytes);
  }
  expect(out.cache.metadata.ParamSize).toBe(expected.length);
}

describe.each(['q4f16_1', 'q4f32_1'] as const)('%s with a LoRA adapter', (quant) => {
  const dtype = quant === 'q4f16_1' ? 'float16' : 'float32';
  let base: TinyLlama;
  let lora: TinyLora;
  let out: BuiltModel;
  const outDir = () => d(`out-${quant}`);

  beforeAll(async () => {
    base = await writeTinyLlama(d(`base-${quant}`));
    lora = await writeTinyLora(d(`lora-${quant}`), base, { baseModel: 'test/tiny-llama' });
    await buildModel({ base: base.dir, adapter: lora.dir, quantization: quant, out: outDir(), skipBaseCheck: true });
    out = readBuilt(outDir());
  });

  test('merges W + alpha/r * B @ A and fuses q,k,v / gate,up in that order', () => {
    expectMergedAndFused(out, base, lora, dtype);
  });

  test('the LoRA delta is really in the weights (closer to merged than to base)', () => {
    const q = dequant(out, 'model.layers.1.self_attn.qkv_proj', dtype);
    const merged = mergedReference(base, lora, 'model.layers.1.self_attn.k_proj.weight');
    const plain = Float64Array.from(base.tensors.get('model.layers.1.self_attn.k_proj.weight')!);
    const kRow0 = base.spec.hidden; // k rows start after the q rows
    expect(stepsError(q, kRow0, merged)).toBeLessThanOrEqual(0.5005);
    expect(stepsError(q, kRow0, plain)).toBeGreaterThan(1);
  });

  test('a swapped fusion order would not match (the check can fail)', () => {
    const q = dequant(out, 'model.layers.0.mlp.gate_up_proj', dtype);
    const up = mergedReference(base, lora, 'model.layers.0.mlp.up_proj.weight');
    expect(stepsError(q, 0, up)).toBeGreaterThan(1);
  });

  test('norms are the source rounded to the model dtype', () => {
    for (const name of ['model.norm.weight', 'model.layers.0.input_layernorm.weight', 'model.layers.1.post_attention_layernorm.weight']) {
      const src = base.tensors.get(name)!;
      const stored = dtype === 'float16' ? Array.from(out.u16(name)) : Array.from(out.f32(name));
      expect(stored).toEqual(Array.from(src, (v) => (dtype === 'float16' ? f32ToF16Bits(v) : v)));
    }
  });

  test('tensor-cache.json matches the expected parameter list, shards, sizes and md5', () => {
    expectConsistent(outDir(), out, base, quant);
  });

  test('mlc-chat-config.json has what WebLLM needs', () => {
    const c = out.chatConfig;
    expect(c.quantization).toBe(quant);
    expect(c.model_type).toBe('llama');
    expect(c.sliding_window_size).toBe(-1);
    expect(c.context_window_size).toBe(4096);
    expect(c.prefill_chunk_size).toBe(1024);
    expect(c.vocab_size).toBe(256);
    expect(c.tokenizer_files).toEqual(['tokenizer.json', 'tokenizer_config.json']);
    expect(c.tokenizer_info).toEqual({ token_postproc_method: 'byte_level', prepend_space_in_encode: false, strip_space_in_decode: false });
    expect(c.temperature).toBe(0.6);
    expect(c.top_p).toBe(0.9);
    expect(c.eos_token_id).toEqual([1, 2]);
    expect(c.model_config).toMatchObject({ hidden_size: 64, num_key_value_heads: 2, head_dim: 16, tie_word_embeddings: false });
    expect(readFileSync(join(outDir(), 'tokenizer.json'), 'utf8')).toBe(readFileSync(join(base.dir, 'tokenizer.json'), 'utf8'));
    expect(readdirSync(work).filter((f) => f.includes('.partial-'))).toEqual([]);
  });
});

describe('variants', () => {
  test('small blocks and a small shard cap: fusion across blocks, out-of-band shards, order kept', async () => {
    const base = await writeTinyLlama(d('base-small'), { seed: 4 });
    const lora = await writeTinyLora(d('lora-small'), base, { r: 6, alpha: 12, seed: 5 });
    const outDir = d('out-small');
    await buildModel({ base: base.dir, adapter: lora.dir, quantization: 'q4f16_1', out: outDir, skipBaseCheck: true, blockValues: 100, shardCapBytes: 4096 });
    const out = readBuilt(outDir);
    expectMergedAndFused(out, base, lora, 'float16');
    expectConsistent(outDir, out, base, 'q4f16_1');
    for (const shard of out.cache.records) {
      if (shard.records.length > 1) expect(shard.nbytes).toBeLessThanOrEqual(4096);
      else if (shard.nbytes >= 2048) expect(shard.records[0]!.byteOffset).toBe(0);
    }
    expect(out.cache.records.some((s) => s.records.length === 1 && s.nbytes > 4096)).toBe(true);
    expect(out.cache.records.some((s) => s.records.length > 1)).toBe(true);
  });

  test('the output is deterministic (byte-identical on a second build)', async () => {
    const base = await writeTinyLlama(d('base-det'), { seed: 8 });
    const lora = await writeTinyLora(d('lora-det'), base);
    for (const o of ['det-1', 'det-2']) await buildModel({ base: base.dir, adapter: lora.dir, quantization: 'q4f16_1', out: d(o), skipBaseCheck: true });
    for (const f of readdirSync(d('det-1'))) expect(readFileSync(join(d('det-2'), f)).equals(readFileSync(join(d('det-1'), f))), f).toBe(true);
  });

  test('rsLoRA scales by alpha / sqrt(r); rank_pattern / alpha_pattern per module', async () => {
    const base = await writeTinyLlama(d('base-rs'), { seed: 9 });
    const lora = await writeTinyLora(d('lora-rs'), base, {
      r: 4,
      alpha: 16,
      rslora: true,
      ranks: { v_proj: 8 },
      config: { rank_pattern: { v_proj: 8 }, alpha_pattern: { down_proj: 4 } },
    });
    expect(lora.factors.get('model.layers.0.self_attn.q_proj.weight')!.scale).toBe(16 / 2);
    expect(lora.factors.get('model.layers.0.self_attn.v_proj.weight')!.scale).toBe(16 / Math.sqrt(8));
    expect(lora.factors.get('model.layers.0.mlp.down_proj.weight')!.scale).toBe(4 / 2);
    await buildModel({ base: base.dir, adapter: lora.dir, quantization: 'q4f32_1', out: d('out-rs'), skipBaseCheck: true });
    expectMergedAndFused(readBuilt(d('out-rs')), base, lora, 'float32');
    // With plain alpha/r scaling the q rows would be off.
    const wrong = { ...lora, factors: new Map([...lora.factors].map(([k, f]) => [k, { ...f, scale: 16 / f.rank }])) };
    const q = dequant(readBuilt(d('out-rs')), 'model.layers.0.self_attn.qkv_proj', 'float32');
    expect(stepsError(q, 0, mergedReference(base, wrong, 'model.layers.0.self_attn.q_proj.weight'))).toBeGreaterThan(1);
  });

  test('tied embeddings: no lm_head; sharded F16 checkpoint with an index; no adapter', async () => {
    const base = await writeTinyLlama(d('base-tied'), { tie: true, shards: 3, dtype: 'F16', seed: 10 });
    await buildModel({ base: base.dir, quantization: 'q4f16_1', out: d('out-tied') });
    const out = readBuilt(d('out-tied'));
    expect(out.records.some((r) => r.name.startsWith('lm_head'))).toBe(false);
    expectConsistent(d('out-tied'), out, base, 'q4f16_1');
    expectMergedAndFused(out, base, undefined, 'float16');
    expect(out.chatConfig.model_config.tie_word_embeddings).toBe(true);
  });

  test('F32 source, q0f32 / q0f16 plain weights equal the merged source rounded once', async () => {
    const base = await writeTinyLlama(d('base-f32'), { dtype: 'F32', seed: 12 });
    const lora = await writeTinyLora(d('lora-f32'), base, { seed: 13 });
    await buildModel({ base: base.dir, adapter: lora.dir, quantization: 'q0f32', out: d('out-q0f32'), skipBaseCheck: true });
    await buildModel({ base: base.dir, adapter: lora.dir, quantization: 'q0f16', out: d('out-q0f16'), skipBaseCheck: true });
    const f32 = readBuilt(d('out-q0f32'));
    const f16 = readBuilt(d('out-q0f16'));
    expectConsistent(d('out-q0f32'), f32, base, 'q0f32');
    const ref = mergedReference(base, lora, 'model.layers.1.mlp.up_proj.weight');
    const rows = ref.length / base.spec.hidden;
    const stored32 = f32.f32('model.layers.1.mlp.gate_up_proj.weight').subarray(rows * base.spec.hidden); // up rows follow gate rows
    const stored16 = f16.u16('model.layers.1.mlp.gate_up_proj.weight').subarray(rows * base.spec.hidden);
    for (let i = 0; i < ref.length; i++) {
      expect(Math.abs(stored32[i]! - ref[i]!)).toBeLessThan(1e-6);
      expect(Math.abs(f16BitsToF32(stored16[i]!) - ref[i]!)).toBeLessThanOrEqual(Math.abs(ref[i]!) * 2 ** -11 + 2 ** -25);
    }
  });

  test('shard files stay near the 32 MB cap by default (a tiny model fits one shard)', async () => {
    const base = await writeTinyLlama(d('base-one'), { seed: 14 });
    await buildModel({ base: base.dir, quantization: 'q4f32_1', out: d('out-one') });
    const out = readBuilt(d('out-one'));
    expect(out.cache.records).toHaveLength(1);
    expect(statSync(join(d('out-one'), 'params_shard_0.bin')).size).toBe(out.cache.records[0]!.nbytes);
  });
});
