/**
 * build-model's failure modes: clear typed errors (missing shards or files, not a Llama, LoRA rank/shape or
 * base mismatch, full disk, existing output) and the temp-then-rename rule: a failed or interrupted build
 * never leaves anything that looks like a model, and an existing output is only replaced with force.
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { buildModel } from '../../src/model-builder/convert.js';
import {
  AdapterMismatchError,
  BuildArgumentError,
  CheckpointError,
  DiskFullError,
  MissingFileError,
  NotLlamaError,
  OutputExistsError,
} from '../../src/model-builder/errors.js';
import { ShardWriter } from '../../src/model-builder/shard-writer.js';
import { writeTinyLlama, writeTinyLora, type TinyLlama } from '../helpers/build-tiny-llama.js';
import { writeSafetensors } from '../helpers/safetensors-writer.js';

let work: string;
let base: TinyLlama;
beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'aegis-build-errors-'));
  base = await writeTinyLlama(join(work, 'base'));
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

const d = (name: string) => join(work, name);

/** Nothing that looks like output (or a leftover partial folder) exists for `out`. */
function expectNoOutput(out: string) {
  expect(existsSync(out)).toBe(false);
  const parent = join(out, '..');
  const name = out.split('/').at(-1)!;
  expect(readdirSync(parent).filter((f) => f.startsWith(`${name}.`))).toEqual([]);
}

async function copyBase(name: string, edit: (dir: string) => void | Promise<void>, overrides = {}): Promise<string> {
  const dir = d(name);
  await writeTinyLlama(dir, overrides);
  await edit(dir);
  return dir;
}

describe('clear errors', () => {
  test('a shard named by the index is missing -> MissingFileError naming it', async () => {
    const dir = await copyBase('missing-shard', (p) => rmSync(join(p, 'model-00002-of-00002.safetensors')), { shards: 2 });
    const out = d('out-missing-shard');
    const error = await buildModel({ base: dir, quantization: 'q4f16_1', out }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MissingFileError);
    expect((error as Error).message).toMatch(/missing 1 of 2 checkpoint shards.*model-00002-of-00002\.safetensors/);
    expectNoOutput(out);
  });

  test('config.json or the tokenizer is missing -> MissingFileError', async () => {
    const noConfig = await copyBase('no-config', (p) => rmSync(join(p, 'config.json')));
    await expect(buildModel({ base: noConfig, quantization: 'q4f16_1', out: d('o1') })).rejects.toThrow(/has no config\.json/);
    const noTok = await copyBase('no-tok', (p) => rmSync(join(p, 'tokenizer.json')));
    await expect(buildModel({ base: noTok, quantization: 'q4f16_1', out: d('o2') })).rejects.toBeInstanceOf(MissingFileError);
    await expect(buildModel({ base: d('does-not-exist'), quantization: 'q4f16_1', out: d('o3') })).rejects.toThrow(/^base folder .*does-not-exist does not exist$/);
  });

  test('a model that is not Llama -> NotLlamaError', async () => {
    const dir = await copyBase('mistral', (p) => {
      const c = JSON.parse(readFileSync(join(p, 'config.json'), 'utf8'));
      writeFileSync(join(p, 'config.json'), JSON.stringify({ ...c, model_type: 'mistral', architectures: ['MistralForCausalLM'] }));
    });
    const error = await buildModel({ base: dir, quantization: 'q4f16_1', out: d('o-mistral') }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NotLlamaError);
    expect((error as Error).message).toMatch(/model_type is "mistral"/);
  });

  test('a checkpoint whose tensors do not match its config -> CheckpointError', async () => {
    const dir = await copyBase('bad-shape', (p) => {
      const c = JSON.parse(readFileSync(join(p, 'config.json'), 'utf8'));
      writeFileSync(join(p, 'config.json'), JSON.stringify({ ...c, intermediate_size: 96 }));
    });
    await expect(buildModel({ base: dir, quantization: 'q4f16_1', out: d('o-bad') })).rejects.toThrow(/gate_proj.weight is \[128,64\], config.json implies \[96,64\]/);
  });

  test('a truncated safetensors file -> CheckpointError', async () => {
    const dir = await copyBase('truncated', (p) => truncateSync(join(p, 'model.safetensors'), 5000));
    const error = await buildModel({ base: dir, quantization: 'q4f16_1', out: d('o-trunc') }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CheckpointError);
    expect((error as Error).message).toMatch(/truncated/);
  });

  test('LoRA rank mismatch with adapter_config -> AdapterMismatchError', async () => {
    const lora = await writeTinyLora(d('lora-rank'), base, { r: 4, config: { r: 8 } });
    await expect(buildModel({ base: base.dir, adapter: lora.dir, quantization: 'q4f16_1', out: d('o-rank'), skipBaseCheck: true })).rejects.toThrow(
      /rank mismatch: lora_A is \[4,64\], lora_B is \[64,4\], adapter_config says r=8/,
    );
  });

  test('LoRA made for another model shape -> AdapterMismatchError', async () => {
    const bigger = await writeTinyLlama(d('base-wide'), { hidden: 96, heads: 6, kvHeads: 3 });
    const lora = await writeTinyLora(d('lora-wide'), bigger);
    const error = await buildModel({ base: base.dir, adapter: lora.dir, quantization: 'q4f16_1', out: d('o-shape'), skipBaseCheck: true }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AdapterMismatchError);
    expect((error as Error).message).toMatch(/shape mismatch: base weight is \[64,64\] but lora_B @ lora_A is \[96,96\]/);
  });

  test('adapter trained on another base (both Hugging Face ids) -> AdapterMismatchError unless skipped', async () => {
    const named = await writeTinyLlama(d('base-named'), { nameOrPath: 'meta-llama/Llama-3.1-8B-Instruct' });
    const lora = await writeTinyLora(d('lora-other'), named, { baseModel: 'meta-llama/Llama-3.2-1B-Instruct' });
    await expect(buildModel({ base: named.dir, adapter: lora.dir, quantization: 'q4f16_1', out: d('o-base') })).rejects.toThrow(
      /trained on meta-llama\/Llama-3.2-1B-Instruct but the base is meta-llama\/Llama-3.1-8B-Instruct/,
    );
    await buildModel({ base: named.dir, adapter: lora.dir, quantization: 'q4f16_1', out: d('o-base'), skipBaseCheck: true });
    expect(existsSync(join(d('o-base'), 'tensor-cache.json'))).toBe(true);
  });

  test('adapter files or LoRA pairs missing, unsupported PEFT features -> clear errors', async () => {
    const lora = await writeTinyLora(d('lora-nocfg'), base);
    rmSync(join(lora.dir, 'adapter_config.json'));
    await expect(buildModel({ base: base.dir, adapter: lora.dir, quantization: 'q4f16_1', out: d('o-a') })).rejects.toThrow(/lacks adapter_config.json/);
    const dora = await writeTinyLora(d('lora-dora'), base, { config: { use_dora: true } });
    await expect(buildModel({ base: base.dir, adapter: dora.dir, quantization: 'q4f16_1', out: d('o-a') })).rejects.toThrow(/DoRA/);
    const half = d('lora-half');
    mkdirSync(half, { recursive: true });
    writeFileSync(join(half, 'adapter_config.json'), JSON.stringify({ peft_type: 'LORA', r: 4, lora_alpha: 8, target_modules: ['q_proj'] }));
    await writeSafetensors(join(half, 'adapter_model.safetensors'), [
      { name: 'base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight', dtype: 'F32', shape: [4, 64], data: new Float32Array(256) },
    ]);
    await expect(buildModel({ base: base.dir, adapter: half, quantization: 'q4f16_1', out: d('o-a') })).rejects.toThrow(/has lora_A but no lora_B/);
  });

  test('bad options -> BuildArgumentError', async () => {
    await expect(buildModel({ base: base.dir, quantization: 'q3f16_0', out: d('o-q') })).rejects.toBeInstanceOf(BuildArgumentError);
    await expect(buildModel({ base: base.dir, quantization: 'q4f16_1', out: d('o-q'), contextWindowSize: 0 })).rejects.toThrow(/context window/);
  });
});

describe('full disk', () => {
  test('not enough free space -> DiskFullError before anything is written', async () => {
    const out = d('out-nospace');
    const error = await buildModel({ base: base.dir, quantization: 'q4f16_1', out, freeBytes: async () => 1000 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DiskFullError);
    expect((error as Error).message).toMatch(/not enough disk space/);
    expectNoOutput(out);
  });

  test.skipIf(!existsSync('/dev/full'))('ENOSPC while writing a shard -> DiskFullError (written to /dev/full)', async () => {
    const dir = d('devfull');
    mkdirSync(dir);
    symlinkSync('/dev/full', join(dir, 'params_shard_0.bin'));
    const writer = new ShardWriter(dir, 1024);
    const sink = await writer.begin('big', [1024], 'float32', 4096);
    await expect(sink.write(new Uint8Array(4096))).rejects.toBeInstanceOf(DiskFullError);
    await writer.abort();
  });
});

describe('temp-then-rename', () => {
  test('during the build only <out>.partial-* exists; afterwards only <out>', async () => {
    const out = d('out-atomic');
    const seen: Array<{ out: boolean; partial: boolean }> = [];
    let partialDir = '';
    await buildModel({
      base: base.dir,
      quantization: 'q4f16_1',
      out,
      onPartialDir: (p) => (partialDir = p),
      progress: {
        log: () => undefined,
        task: () => ({
          advance: () => seen.push({ out: existsSync(out), partial: existsSync(partialDir) }),
          done: () => undefined,
        }),
      },
    });
    expect(seen.length).toBeGreaterThan(5);
    expect(seen.every((s) => !s.out && s.partial)).toBe(true);
    expect(partialDir).toMatch(/out-atomic\.partial-[0-9a-f]{8}$/);
    expect(existsSync(partialDir)).toBe(false);
    expect(existsSync(join(out, 'tensor-cache.json'))).toBe(true);
  });

  test('a failure halfway (NaN in a late tensor) removes the partial folder and leaves no output', async () => {
    const dir = await copyBase('nan', async (p) => {
      const t = (await import('../helpers/build-tiny-llama.js')).llamaTensorShapes({ ...base.spec });
      const tensors = t.map(([name, shape]) => {
        const values = new Float32Array(shape.reduce((a, b) => a * b, 1)).fill(0.01);
        if (name === 'model.layers.1.mlp.down_proj.weight') values[17] = NaN;
        return { name, shape, dtype: 'F32' as const, data: values };
      });
      await writeSafetensors(join(p, 'model.safetensors'), tensors);
    });
    const out = d('out-nan');
    let partialDir = '';
    let advanced = 0;
    const error = await buildModel({
      base: dir,
      quantization: 'q4f16_1',
      out,
      onPartialDir: (p) => (partialDir = p),
      shardCapBytes: 2048,
      progress: { log: () => undefined, task: () => ({ advance: () => void advanced++, done: () => undefined }) },
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CheckpointError);
    expect((error as Error).message).toMatch(/model.layers.1.mlp.down_proj.weight contains NaN/);
    expect(advanced).toBeGreaterThan(10); // it failed after real work
    expect(existsSync(partialDir)).toBe(false);
    expectNoOutput(out);
  });

  test('an existing output is refused (OutputExistsError) and replaced only with force', async () => {
    const out = d('out-exists');
    mkdirSync(out);
    writeFileSync(join(out, 'keep.txt'), 'user data');
    await expect(buildModel({ base: base.dir, quantization: 'q4f16_1', out })).rejects.toBeInstanceOf(OutputExistsError);
    expect(readFileSync(join(out, 'keep.txt'), 'utf8')).toBe('user data');
    await buildModel({ base: base.dir, quantization: 'q4f16_1', out, force: true });
    expect(existsSync(join(out, 'keep.txt'))).toBe(false);
    expect(existsSync(join(out, 'tensor-cache.json'))).toBe(true);
    expect(readdirSync(work).filter((f) => f.startsWith('out-exists.'))).toEqual([]);
  });

  test('an empty output folder is fine without force', async () => {
    const out = d('out-empty');
    mkdirSync(out);
    await buildModel({ base: base.dir, quantization: 'q4f32_1', out });
    expect(existsSync(join(out, 'mlc-chat-config.json'))).toBe(true);
  });
});
