/** verify-model: passes on a good build and finds each kind of damage. */
import { cpSync, mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { buildModel } from '../../src/model-builder/convert.js';
import { extractJsonObject, readLibMetadata } from '../../src/model-builder/lib-metadata.js';
import { parseLlamaConfig } from '../../src/model-builder/llama-config.js';
import { expectedParams, quantizationByName } from '../../src/model-builder/param-plan.js';
import { verifyModel } from '../../src/model-builder/verify.js';
import { referenceOrSkip } from '../helpers/reference-data.js';
import { hfConfig, writeTinyLlama, writeTinyLora, type TinyLlama, type TinyLora } from '../helpers/build-tiny-llama.js';

let work: string;
let base: TinyLlama;
let lora: TinyLora;
let good: string;

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'aegis-verify-'));
  base = await writeTinyLlama(join(work, 'base'));
  lora = await writeTinyLora(join(work, 'lora'), base);
  good = join(work, 'good');
  await buildModel({ base: base.dir, adapter: lora.dir, quantization: 'q4f16_1', out: good, skipBaseCheck: true, shardCapBytes: 8192 });
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** A damaged copy of the good output. */
function damaged(name: string, damage: (dir: string) => void): string {
  const dir = join(work, name);
  cpSync(good, dir, { recursive: true });
  damage(dir);
  return dir;
}

const editJson = (path: string, edit: (j: any) => void) => {
  const j = JSON.parse(readFileSync(path, 'utf8'));
  edit(j);
  writeFileSync(path, JSON.stringify(j));
};

describe('verify-model', () => {
  test('a good build passes, with dequantized samples within half a step of the merged source', async () => {
    const report = await verifyModel(good, { base: base.dir, adapter: lora.dir, skipBaseCheck: true, samples: 6 });
    expect(report.problems).toEqual([]);
    expect(report.ok).toBe(true);
    expect(report.params).toBe(25);
    expect(report.shards).toBeGreaterThan(1);
    expect(report.sampledRows).toBeGreaterThan(50);
    expect(report.maxAbsError).toBeGreaterThan(0);
    expect(report.maxAbsError).toBeLessThan(0.02);
    expect(report.maxErrorInSteps).toBeLessThanOrEqual(0.5005);
  });

  test('verifying against the wrong adapter (or none) finds the difference', async () => {
    const other = await writeTinyLora(join(work, 'lora-other'), base, { seed: 1234 });
    const wrong = await verifyModel(good, { base: base.dir, adapter: other.dir, skipBaseCheck: true });
    expect(wrong.ok).toBe(false);
    expect(wrong.problems[0]).toMatch(/dequantized .* vs source .* steps/);
    const none = await verifyModel(good, { base: base.dir });
    expect(none.ok).toBe(false);
  });

  test('a flipped byte in a shard: md5 mismatch, and the dequantization check catches it too', async () => {
    const dir = damaged('flipped', (d) => {
      const cache = JSON.parse(readFileSync(join(d, 'tensor-cache.json'), 'utf8'));
      const shard = cache.records.find((s: any) => s.records.some((r: any) => r.name === 'model.layers.0.self_attn.o_proj.q_weight'));
      const rec = shard.records.find((r: any) => r.name === 'model.layers.0.self_attn.o_proj.q_weight');
      const path = join(d, shard.dataPath);
      const bytes = readFileSync(path);
      bytes[rec.byteOffset + 1] = bytes[rec.byteOffset + 1]! ^ 0x88; // row 0 (always sampled), two nibbles far off
      writeFileSync(path, bytes);
    });
    const plain = await verifyModel(dir);
    expect(plain.problems.join('\n')).toMatch(/md5 [0-9a-f]+, tensor-cache.json says/);
    const sampled = await verifyModel(dir, { base: base.dir, adapter: lora.dir, skipBaseCheck: true, skipMd5: true });
    expect(sampled.problems.join('\n')).toMatch(/o_proj.q_weight row 0 col \d+: dequantized/);
  });

  test('records that disagree with the expected parameter list', async () => {
    const shape = damaged('shape', (d) =>
      editJson(join(d, 'tensor-cache.json'), (j) => {
        const r = j.records.flatMap((s: any) => s.records).find((x: any) => x.name === 'lm_head.q_scale');
        r.shape = [256, 1];
        r.nbytes = 512;
      }),
    );
    expect((await verifyModel(shape)).problems.join('\n')).toMatch(/lm_head.q_scale: shape \[256,1\], expected parameter list says \[256,2\]/);
    const missing = damaged('missing', (d) =>
      editJson(join(d, 'tensor-cache.json'), (j) => {
        for (const s of j.records) s.records = s.records.filter((r: any) => r.name !== 'model.norm.weight');
      }),
    );
    expect((await verifyModel(missing)).problems.join('\n')).toMatch(/missing tensors \(expected parameter list\): model.norm.weight/);
    const dtype = damaged('dtype', (d) =>
      editJson(join(d, 'tensor-cache.json'), (j) => {
        const r = j.records.flatMap((s: any) => s.records).find((x: any) => x.name === 'model.norm.weight');
        r.dtype = 'float32';
      }),
    );
    expect((await verifyModel(dtype)).problems.join('\n')).toMatch(/model.norm.weight: nbytes 128, but shape \[64\] of float32 needs 256/);
  });

  test('a truncated shard and a record outside its shard', async () => {
    const dir = damaged('truncated', (d) => truncateSync(join(d, 'params_shard_0.bin'), 100));
    expect((await verifyModel(dir)).problems.join('\n')).toMatch(/params_shard_0.bin has 100 bytes, tensor-cache.json says/);
    const outside = damaged('outside', (d) =>
      editJson(join(d, 'tensor-cache.json'), (j) => {
        j.records[0].records[0].byteOffset = j.records[0].nbytes;
      }),
    );
    expect((await verifyModel(outside)).problems.join('\n')).toMatch(/are outside shard params_shard_0.bin/);
  });

  test('mlc-chat-config.json without sliding_window_size (WebLLM would throw) is reported', async () => {
    const dir = damaged('nosliding', (d) => editJson(join(d, 'mlc-chat-config.json'), (j) => delete j.sliding_window_size));
    expect((await verifyModel(dir)).problems.join('\n')).toMatch(/sliding_window_size must be -1/);
  });

  test('--model-lib: the parameter list of a model library (metadata JSON or the .wasm itself)', async () => {
    const arch = parseLlamaConfig(hfConfig(base.spec), 'tiny');
    const meta = { model_type: 'llama', quantization: 'q4f16_1', params: expectedParams(arch, quantizationByName('q4f16_1'), { symbolicVocab: true }) };
    const metaPath = join(work, 'tiny.metadata.json');
    writeFileSync(metaPath, JSON.stringify(meta));
    expect((await verifyModel(good, { modelLib: metaPath })).ok).toBe(true);
    // The same JSON embedded in a binary, as in a compiled library's data segment.
    const wasmPath = join(work, 'fake-lib.wasm');
    writeFileSync(wasmPath, Buffer.concat([Buffer.from([0, 97, 115, 109, 1, 0, 0, 0, 7, 7]), Buffer.from(JSON.stringify(meta)), Buffer.from([0, 0, 0x7b, 0x22])]));
    expect((await readLibMetadata(wasmPath)).params).toHaveLength(25);
  });

  const llama2Lib = referenceOrSkip('mlc-lib-metadata/Llama-2-7b-chat-hf-q4f16_1-ctx4k_cs1k-webgpu.metadata.json', 'verify-model against a real model library');
  test.skipIf(!llama2Lib)('--model-lib: a real library for another model reports every difference', async () => {
    const llama2 = await verifyModel(good, { modelLib: llama2Lib! });
    expect(llama2.ok).toBe(false);
    expect(llama2.problems.join('\n')).toMatch(/missing tensors \(model library .*\): model.layers.2/);
  });

  test('extractJsonObject handles braces inside strings', () => {
    const text = 'xx{"model_type":"a}{","n":{"k":"\\"}"}}trailing}';
    expect(JSON.parse(extractJsonObject(Buffer.from(text), '{"model_type"', 't'))).toEqual({ model_type: 'a}{', n: { k: '"}' } });
  });
});
