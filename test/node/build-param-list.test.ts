/**
 * The expected-parameter-list generator against the parameter lists embedded in real WebLLM model libraries
 * (../shared/mlc-lib-metadata): names, order, shapes and dtypes must match exactly.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import { parseLlamaConfig } from '../../src/model-builder/llama-config.js';
import { expectedParams, paramBytes, quantizationByName } from '../../src/model-builder/param-plan.js';
import { referenceOrSkip } from '../helpers/reference-data.js';

// Reference data on development machines only: the comparisons run when it is there.
const META = referenceOrSkip('mlc-lib-metadata', 'parameter lists against real model-library metadata');

interface LibMetadata {
  quantization: string;
  params: Array<{ name: string; shape: Array<number | string>; dtype: string }>;
}

const readMeta = (file: string) => JSON.parse(readFileSync(`${META}/${file}`, 'utf8')) as LibMetadata;
const strip = (m: LibMetadata) => m.params.map(({ name, shape, dtype }) => ({ name, shape, dtype }));

// Hugging Face config.json values of the models these libraries were compiled for.
const LLAMA_2_7B = {
  model_type: 'llama', architectures: ['LlamaForCausalLM'], hidden_size: 4096, num_hidden_layers: 32,
  num_attention_heads: 32, num_key_value_heads: 32, intermediate_size: 11008, vocab_size: 32000,
  tie_word_embeddings: false,
};
const LLAMA_2_13B = { ...LLAMA_2_7B, hidden_size: 5120, num_hidden_layers: 40, num_attention_heads: 40, num_key_value_heads: 40, intermediate_size: 13824 };
const LLAMA_32_1B = {
  model_type: 'llama', architectures: ['LlamaForCausalLM'], hidden_size: 2048, num_hidden_layers: 16,
  num_attention_heads: 32, num_key_value_heads: 8, head_dim: 64, intermediate_size: 8192, vocab_size: 128256,
  tie_word_embeddings: true,
};
const TINYLLAMA = {
  model_type: 'llama', hidden_size: 2048, num_hidden_layers: 22, num_attention_heads: 32, num_key_value_heads: 4,
  intermediate_size: 5632, vocab_size: 32003, tie_word_embeddings: false,
};
const LLAMA_31_8B = {
  model_type: 'llama', architectures: ['LlamaForCausalLM'], hidden_size: 4096, num_hidden_layers: 32,
  num_attention_heads: 32, num_key_value_heads: 8, intermediate_size: 14336, vocab_size: 128256,
  tie_word_embeddings: false, rope_theta: 500000,
};

const cases: Array<[string, object, string]> = [
  ['Llama-2-7b-chat-hf-q4f16_1-ctx4k_cs1k-webgpu.metadata.json', LLAMA_2_7B, 'q4f16_1'],
  ['Llama-2-7b-chat-hf-q4f32_1-ctx4k_cs1k-webgpu.metadata.json', LLAMA_2_7B, 'q4f32_1'],
  ['Llama-2-13b-chat-hf-q4f16_1-ctx4k_cs1k-webgpu.metadata.json', LLAMA_2_13B, 'q4f16_1'],
  ['Llama-3.2-1B-Instruct-q0f16-ctx4k_cs1k-webgpu.metadata.json', LLAMA_32_1B, 'q0f16'],
  ['Llama-3.2-1B-Instruct-q0f32-ctx4k_cs1k-webgpu.metadata.json', LLAMA_32_1B, 'q0f32'],
  ['TinyLlama-1.1B-Chat-v0.4-q4f16_1-ctx1k-webgpu.metadata.json', TINYLLAMA, 'q4f16_1'],
  ['TinyLlama-1.1B-Chat-v0.4-q4f32_1-ctx1k-webgpu.metadata.json', TINYLLAMA, 'q4f32_1'],
  ['TinyLlama-1.1B-Chat-v0.4-q0f32-ctx2k_cs1k-webgpu.metadata.json', TINYLLAMA, 'q0f32'],
];

describe.skipIf(!META)('expected parameter list equals real model-library metadata', () => {
  test.each(cases)('%s', (file, config, quant) => {
    const meta = readMeta(file);
    expect(meta.quantization).toBe(quant);
    const ours = expectedParams(parseLlamaConfig(config, file), quantizationByName(quant), { symbolicVocab: true });
    expect(ours).toEqual(strip(meta));
  });

  test('a different architecture does not match (the comparison can fail)', () => {
    const meta = readMeta('Llama-2-7b-chat-hf-q4f16_1-ctx4k_cs1k-webgpu.metadata.json');
    const ours = expectedParams(parseLlamaConfig({ ...LLAMA_2_7B, num_key_value_heads: 8 }, 'x'), quantizationByName('q4f16_1'), {
      symbolicVocab: true,
    });
    expect(ours).not.toEqual(strip(meta));
  });

  test('tied embeddings omit lm_head (Llama-3.2-1B: 98 params, no lm_head)', () => {
    const meta = readMeta('Llama-3.2-1B-Instruct-q0f16-ctx4k_cs1k-webgpu.metadata.json');
    expect(meta.params.some((p) => p.name.startsWith('lm_head'))).toBe(false);
    const ours = expectedParams(parseLlamaConfig(LLAMA_32_1B, 'x'), quantizationByName('q4f16_1'));
    expect(ours.some((p) => p.name.startsWith('lm_head'))).toBe(false);
    expect(ours).toHaveLength(1 * 2 + 16 * 10 + 1);
  });
});

describe('Llama-3.1-8B (AegisGuard 2.0) follows from the same generator', () => {
  const arch = parseLlamaConfig(LLAMA_31_8B, 'Llama-3.1-8B');

  test.each(['q4f16_1', 'q4f32_1'])('%s: 325 params with the Llama-2-7b names and order, 8B shapes', (q) => {
    const params = expectedParams(arch, quantizationByName(q));
    expect(params).toHaveLength(325);
    if (META) {
      const llama2 = readMeta(`Llama-2-7b-chat-hf-${q}-ctx4k_cs1k-webgpu.metadata.json`);
      expect(params.map((p) => p.name)).toEqual(llama2.params.map((p) => p.name));
      expect(params.map((p) => p.dtype)).toEqual(llama2.params.map((p) => p.dtype));
    }
    const byName = new Map(params.map((p) => [p.name, p]));
    const scale = q === 'q4f16_1' ? 'float16' : 'float32';
    expect(byName.get('model.embed_tokens.q_weight')).toEqual({ name: 'model.embed_tokens.q_weight', shape: [128256, 512], dtype: 'uint32' });
    expect(byName.get('model.embed_tokens.q_scale')).toEqual({ name: 'model.embed_tokens.q_scale', shape: [128256, 128], dtype: scale });
    expect(byName.get('model.layers.7.self_attn.qkv_proj.q_weight')?.shape).toEqual([6144, 512]);
    expect(byName.get('model.layers.7.self_attn.qkv_proj.q_scale')?.shape).toEqual([6144, 128]);
    expect(byName.get('model.layers.7.self_attn.o_proj.q_weight')?.shape).toEqual([4096, 512]);
    expect(byName.get('model.layers.7.mlp.gate_up_proj.q_weight')?.shape).toEqual([28672, 512]);
    expect(byName.get('model.layers.7.mlp.down_proj.q_weight')?.shape).toEqual([4096, 1792]);
    expect(byName.get('model.layers.7.mlp.down_proj.q_scale')?.shape).toEqual([4096, 448]);
    expect(byName.get('model.layers.31.post_attention_layernorm.weight')).toEqual({
      name: 'model.layers.31.post_attention_layernorm.weight', shape: [4096], dtype: scale,
    });
    expect(byName.get('lm_head.q_weight')?.shape).toEqual([128256, 512]);
  });

  test('q4f16_1 weighs about 4.5 GB (internals §6.2)', () => {
    const bytes = expectedParams(arch, quantizationByName('q4f16_1')).reduce((n, p) => n + paramBytes(p), 0);
    expect(bytes).toBeGreaterThan(4.4e9);
    expect(bytes).toBeLessThan(4.6e9);
  });
});
