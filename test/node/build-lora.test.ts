/** PEFT adapter parsing and checks that do not need a build. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { Checkpoint } from '../../src/model-builder/checkpoint.js';
import { AdapterMismatchError } from '../../src/model-builder/errors.js';
import { isHubRepoId } from '../../src/model-builder/hub-ref.js';
import { checkAdapterBase, LoraAdapter, parseAdapterConfig } from '../../src/model-builder/lora.js';
import { writeTinyLlama, writeTinyLora, type TinyLlama } from '../helpers/build-tiny-llama.js';
import { between, pick, seededRandom } from '../helpers/prng.js';
import { writeSafetensors } from '../helpers/safetensors-writer.js';

let work: string;
let base: TinyLlama;
let checkpoint: Checkpoint;
beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'aegis-lora-'));
  base = await writeTinyLlama(join(work, 'base'));
  checkpoint = await Checkpoint.open(base.dir);
});
afterAll(async () => {
  await checkpoint.close();
  rmSync(work, { recursive: true, force: true });
});

describe('adapter_config.json', () => {
  test('reads r, lora_alpha, rsLoRA, targets and patterns', () => {
    const c = parseAdapterConfig(
      { peft_type: 'LORA', r: 16, lora_alpha: 32, use_rslora: true, target_modules: ['q_proj'], base_model_name_or_path: 'meta-llama/Llama-3.1-8B-Instruct', rank_pattern: { v_proj: 8 } },
      'cfg',
    );
    expect(c).toMatchObject({ r: 16, alpha: 32, useRslora: true, targetModules: ['q_proj'], baseModel: 'meta-llama/Llama-3.1-8B-Instruct', rankPattern: { v_proj: 8 } });
    expect(parseAdapterConfig({ r: 4 }, 'cfg').alpha).toBe(8); // PEFT's LoraConfig default when lora_alpha is absent
  });

  test.each([
    [{ peft_type: 'IA3', r: 4 }, /only LORA adapters/],
    [{ r: 0 }, /rank\) is missing or not a positive integer/],
    [{ r: 4, use_dora: true }, /DoRA/],
    [{ r: 4, fan_in_fan_out: true }, /fan_in_fan_out/],
    [{ r: 4, modules_to_save: ['lm_head'] }, /modules_to_save/],
    [{ r: 4, bias: 'all' }, /bias/],
  ])('refuses %j', (config, message) => {
    expect(() => parseAdapterConfig(config, 'cfg')).toThrow(message);
  });
});

describe('adapter tensors against the base', () => {
  test('maps PEFT names to base tensors with per-module rank and scale', async () => {
    const lora = await writeTinyLora(join(work, 'a1'), base, { targets: ['q_proj', 'down_proj'], r: 4, alpha: 8 });
    const adapter = await LoraAdapter.open(lora.dir, checkpoint);
    try {
      expect([...adapter.modules.keys()].sort()).toEqual([
        'model.layers.0.mlp.down_proj.weight', 'model.layers.0.self_attn.q_proj.weight',
        'model.layers.1.mlp.down_proj.weight', 'model.layers.1.self_attn.q_proj.weight',
      ]);
      const m = adapter.forBaseTensor('model.layers.1.mlp.down_proj.weight')!;
      expect(m).toMatchObject({ rank: 4, alpha: 8, scale: 2, inFeatures: 128, outFeatures: 64 });
      const f = await adapter.factors(m);
      expect(f.bScaled[3]).toBeCloseTo(lora.factors.get('model.layers.1.mlp.down_proj.weight')!.b[3]! * 2, 6);
      expect(adapter.maxRank).toBe(4);
    } finally {
      await adapter.close();
    }
  });

  test('a regex target_modules string is honoured', async () => {
    const lora = await writeTinyLora(join(work, 'a2'), base, { targets: ['v_proj'], config: { target_modules: '.*\\.v_proj' } });
    const adapter = await LoraAdapter.open(lora.dir, checkpoint);
    expect(adapter.modules.size).toBe(2);
    await adapter.close();
    const wrong = await writeTinyLora(join(work, 'a3'), base, { targets: ['v_proj'], config: { target_modules: '.*\\.q_proj' } });
    await expect(LoraAdapter.open(wrong.dir, checkpoint)).rejects.toThrow(/is not in target_modules/);
  });

  test('a target without tensors, embedding LoRA and foreign tensors are refused', async () => {
    const lora = await writeTinyLora(join(work, 'a4'), base, { targets: ['q_proj'], config: { target_modules: ['q_proj', 'k_proj'] } });
    await expect(LoraAdapter.open(lora.dir, checkpoint)).rejects.toThrow(/target_modules lists k_proj but the adapter has no LoRA tensors for it/);
    const emb = await writeTinyLora(join(work, 'a5'), base, { targets: ['q_proj'] });
    await writeSafetensors(join(emb.dir, 'adapter_model.safetensors'), [
      { name: 'base_model.model.model.embed_tokens.lora_embedding_A', dtype: 'F32', shape: [4, 256], data: new Float32Array(1024) },
    ]);
    await expect(LoraAdapter.open(emb.dir, checkpoint)).rejects.toThrow(/LoRA on embeddings is not supported/);
    await writeSafetensors(join(emb.dir, 'adapter_model.safetensors'), [
      { name: 'base_model.model.lm_head.weight', dtype: 'F32', shape: [256, 64], data: new Float32Array(256 * 64) },
    ]);
    await expect(LoraAdapter.open(emb.dir, checkpoint)).rejects.toThrow(/is not a LoRA factor/);
  });
});

describe('base model name check', () => {
  test('compares Hugging Face ids case-insensitively, skips local paths', () => {
    expect(() => checkAdapterBase('meta-llama/Llama-3.1-8B-Instruct', 'meta-llama/llama-3.1-8b-instruct')).not.toThrow();
    expect(() => checkAdapterBase('/lustre/models/llama', 'meta-llama/Llama-3.1-8B-Instruct')).not.toThrow();
    expect(() => checkAdapterBase('meta-llama/Llama-3.1-8B-Instruct', undefined)).not.toThrow();
    expect(() => checkAdapterBase('meta-llama/Llama-3.1-8B-Instruct', 'meta-llama/Llama-3.1-8B')).toThrow(AdapterMismatchError);
    // Meta renamed Meta-Llama-3.1-* to Llama-3.1-*; adapters trained before the rename name the old id.
    expect(() => checkAdapterBase('meta-llama/Meta-Llama-3.1-8B-Instruct', 'meta-llama/Llama-3.1-8B-Instruct')).not.toThrow();
    expect(() => checkAdapterBase('meta-llama/Meta-Llama-3.1-8B-Instruct', 'meta-llama/Llama-3.1-70B-Instruct')).toThrow(AdapterMismatchError);
  });

  test('a name is compared exactly when it is a Hub repo id by the rule the source arguments use (600 seeded names)', () => {
    // Names a training machine writes (relative paths, '--' and '..' in them, a .git clone) are not ids.
    for (const path of ['runs/llama--lora', 'out/adapter.git', 'ckpt/final-', 'org/a..b', '_tmp/x.', 'a/b/c']) {
      expect(isHubRepoId(path), path).toBe(false);
      expect(() => checkAdapterBase(path, 'meta-llama/Llama-3.1-8B-Instruct'), path).not.toThrow();
      expect(() => checkAdapterBase('meta-llama/Llama-3.1-8B-Instruct', path), path).not.toThrow();
    }
    const random = seededRandom(37);
    for (let i = 0; i < 600; i++) {
      const part = () => Array.from({ length: between(random, 1, 6) }, () => pick(random, 'ab9_-.')).join('');
      const name = i % 7 === 0 ? part() : `${part()}/${part()}`;
      const compared = (() => {
        try {
          checkAdapterBase(name, 'other-org/other-model');
          return false;
        } catch (error) {
          expect(error).toBeInstanceOf(AdapterMismatchError);
          return true;
        }
      })();
      expect(compared, name).toBe(isHubRepoId(name));
    }
  });
});
