/**
 * The two repos AegisGuard 2.0 is built from, laid out as they are on the Hub, with tiny synthetic weights:
 * - meta-llama/Llama-3.1-8B-Instruct (gated): config, two safetensors shards with their index, tokenizer,
 *   licence files, and the `original/` folder of Meta's own checkpoint (which the builder must not download);
 * - nvidia/llama-3.1-nemoguard-8b-content-safety: README.md and .gitattributes at the root only, the PEFT
 *   adapter (rank 16, alpha 32, q/k/v/o/gate/up/down like the real one) in its subfolder.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { HubRepo } from './build-hf-server.js';
import { writeTinyLlama, writeTinyLora, type TinyLlama, type TinyLora } from './build-tiny-llama.js';

export const BASE_ID = 'meta-llama/Llama-3.1-8B-Instruct';
export const ADAPTER_ID = 'nvidia/llama-3.1-nemoguard-8b-content-safety';
export const ADAPTER_FOLDER = 'llama-3.1-nemoguard-8b-content-safety-lora-adapter';
/** The token of an account that has accepted the Llama 3.1 licence. */
export const ACCEPTED_TOKEN = 'hf_accepted_llama_licence';
/** A valid token of an account that has not. */
export const NOT_ACCEPTED_TOKEN = 'hf_no_licence_yet';

const LFS_ATTRIBUTES = ['*.safetensors filter=lfs diff=lfs merge=lfs -text', '*.pth filter=lfs diff=lfs merge=lfs -text', 'tokenizer.json filter=lfs diff=lfs merge=lfs -text', ''].join('\n');

export interface RealLayout {
  repos: Record<string, HubRepo>;
  base: TinyLlama;
  lora: TinyLora;
  /** The adapter's local folder (inside the fake repo). */
  adapterDir: string;
}

export async function writeRealLayout(root: string): Promise<RealLayout> {
  const baseDir = join(root, 'meta-llama');
  const base = await writeTinyLlama(baseDir, { shards: 2, nameOrPath: BASE_ID });
  writeFileSync(join(baseDir, '.gitattributes'), LFS_ATTRIBUTES);
  writeFileSync(join(baseDir, 'README.md'), '---\nlicense: llama3.1\nextra_gated_prompt: LLAMA 3.1 COMMUNITY LICENSE AGREEMENT\n---\n');
  writeFileSync(join(baseDir, 'LICENSE'), 'LLAMA 3.1 COMMUNITY LICENSE AGREEMENT\n');
  writeFileSync(join(baseDir, 'USE_POLICY.md'), 'Acceptable use\n');
  writeFileSync(join(baseDir, 'special_tokens_map.json'), '{}');
  mkdirSync(join(baseDir, 'original'));
  writeFileSync(join(baseDir, 'original/params.json'), '{"dim": 64}');
  writeFileSync(join(baseDir, 'original/consolidated.00.pth'), Buffer.alloc(4096, 7));
  writeFileSync(join(baseDir, 'original/tokenizer.model'), 'not used');

  const nvidiaDir = join(root, 'nvidia');
  mkdirSync(nvidiaDir, { recursive: true });
  writeFileSync(join(nvidiaDir, 'README.md'), '# Llama-3.1-NemoGuard-8B-ContentSafety\n');
  writeFileSync(join(nvidiaDir, '.gitattributes'), LFS_ATTRIBUTES);
  const adapterDir = join(nvidiaDir, ADAPTER_FOLDER);
  const lora = await writeTinyLora(adapterDir, base, { r: 16, alpha: 32, baseModel: BASE_ID });

  return {
    repos: {
      [BASE_ID]: { dir: baseDir, gated: { accepted: [ACCEPTED_TOKEN], licence: 'llama3.1' } },
      [ADAPTER_ID]: { dir: nvidiaDir },
    },
    base,
    lora,
    adapterDir,
  };
}
