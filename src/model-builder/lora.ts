/**
 * PEFT LoRA adapters: adapter_config.json + adapter_model.safetensors, validated against the base model and
 * turned into per-weight factors for the merge W' = W + scale * B @ A, scale = lora_alpha / r
 * (lora_alpha / sqrt(r) with rsLoRA). Anything the merge cannot honour is refused with AdapterMismatchError
 * rather than silently dropped.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Checkpoint, type CheckpointTensor } from './checkpoint.js';
import { AdapterMismatchError, CheckpointError, MissingFileError } from './errors.js';
import { decodeBf16, decodeF16 } from './float16.js';
import { isHubRepoId } from './hub-ref.js';
import { localHint } from './local-layout.js';

export interface LoraConfig {
  r: number;
  alpha: number;
  useRslora: boolean;
  /** A list of module names, or a regular expression string (PEFT accepts both). */
  targetModules: string[] | string;
  baseModel: string | undefined;
  rankPattern: Record<string, number>;
  alphaPattern: Record<string, number>;
}

/** One adapted base weight. */
export interface LoraModule {
  /** Module path, e.g. model.layers.0.self_attn.q_proj. */
  module: string;
  /** The base tensor it changes, e.g. model.layers.0.self_attn.q_proj.weight. */
  baseTensor: string;
  rank: number;
  alpha: number;
  scale: number;
  inFeatures: number;
  outFeatures: number;
  a: CheckpointTensor;
  b: CheckpointTensor;
}

export interface LoraFactors {
  /** A as f32 [rank, in]. */
  a: Float32Array;
  /** scale * B as f32 [out, rank]. */
  bScaled: Float32Array;
  rank: number;
}

const num = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);

export function parseAdapterConfig(json: unknown, source: string): LoraConfig {
  const c = (json ?? {}) as Record<string, unknown>;
  const fail = (why: string) => new AdapterMismatchError(`${source}: ${why}`);
  if (c.peft_type !== undefined && c.peft_type !== 'LORA') throw fail(`peft_type is ${JSON.stringify(c.peft_type)}; only LORA adapters can be merged`);
  const r = num(c.r);
  if (r === undefined || !Number.isInteger(r) || r <= 0) throw fail('r (the LoRA rank) is missing or not a positive integer');
  const alpha = num(c.lora_alpha) ?? 8; // PEFT's LoraConfig default
  if (c.use_dora === true) throw fail('use_dora is true; DoRA adapters are not supported (merge them with PEFT first)');
  if (c.fan_in_fan_out === true) throw fail('fan_in_fan_out is true, which Llama linear layers never use');
  if (Array.isArray(c.modules_to_save) && c.modules_to_save.length > 0) {
    throw fail(`modules_to_save ${JSON.stringify(c.modules_to_save)} replaces whole base tensors; this builder only merges LoRA factors`);
  }
  if (c.bias !== undefined && c.bias !== 'none') throw fail(`bias is ${JSON.stringify(c.bias)}; Llama has no bias terms to train`);
  const targets = c.target_modules;
  const targetModules = typeof targets === 'string' ? targets : Array.isArray(targets) ? targets.map(String) : [];
  const patterns = (v: unknown) => (v && typeof v === 'object' ? (v as Record<string, number>) : {});
  return {
    r,
    alpha,
    useRslora: c.use_rslora === true,
    targetModules,
    baseModel: typeof c.base_model_name_or_path === 'string' ? c.base_model_name_or_path : undefined,
    rankPattern: patterns(c.rank_pattern),
    alphaPattern: patterns(c.alpha_pattern),
  };
}

/** PEFT's pattern lookup: a key matches a module whose path ends with `.key` (keys may be regexes). */
function patternValue(patterns: Record<string, number>, module: string): number | undefined {
  for (const [key, value] of Object.entries(patterns)) {
    let re: RegExp;
    try {
      re = new RegExp(`(^|.*\\.)(${key})$`);
    } catch {
      continue;
    }
    if (re.test(module)) return value;
  }
  return undefined;
}

function isTargeted(targets: string[] | string, module: string): boolean {
  if (typeof targets === 'string') return new RegExp(`^(?:${targets})$`).test(module);
  return targets.some((t) => module === t || module.endsWith(`.${t}`));
}

const TENSOR_NAME = /^(?:base_model\.model\.)?(.+)\.lora_(A|B)(?:\.[A-Za-z0-9_-]+)?\.weight$/;

export class LoraAdapter {
  private constructor(
    readonly dir: string,
    readonly config: LoraConfig,
    readonly modules: ReadonlyMap<string, LoraModule>,
    private readonly checkpoint: Checkpoint,
  ) {}

  /** Opens the adapter and checks it against the base checkpoint's tensors. */
  static async open(dir: string, base: Checkpoint): Promise<LoraAdapter> {
    const configPath = join(dir, 'adapter_config.json');
    const weightsPath = join(dir, 'adapter_model.safetensors');
    const missing = [configPath, weightsPath].filter((p) => !existsSync(p));
    if (missing.length > 0) {
      const hint = existsSync(join(dir, 'adapter_model.bin')) ? ' (adapter_model.bin is a pickle; convert it to safetensors first)' : '';
      throw new MissingFileError(`adapter folder ${dir} lacks ${missing.map((m) => m.slice(dir.length + 1)).join(' and ')}${hint || localHint(dir, 'adapter_config.json', '--adapter')}`, missing);
    }
    let configJson: unknown;
    try {
      configJson = JSON.parse(await readFile(configPath, 'utf8'));
    } catch (error) {
      throw new CheckpointError(`${configPath} is not valid JSON`, { cause: error });
    }
    const config = parseAdapterConfig(configJson, configPath);
    const checkpoint = await Checkpoint.open(dir, { exclude: [] });
    try {
      const modules = collectModules(checkpoint, config, base, weightsPath);
      return new LoraAdapter(dir, config, modules, checkpoint);
    } catch (error) {
      await checkpoint.close();
      throw error;
    }
  }

  /** The module that adapts base tensor `name`, if any. */
  forBaseTensor(name: string): LoraModule | undefined {
    return this.modules.get(name);
  }

  get maxRank(): number {
    let r = 0;
    for (const m of this.modules.values()) r = Math.max(r, m.rank);
    return r;
  }

  /** Loads A and scale*B of one module as f32 (small: rank x features). */
  async factors(module: LoraModule): Promise<LoraFactors> {
    const a = await readF32(module.a);
    const bScaled = await readF32(module.b);
    for (let i = 0; i < bScaled.length; i++) bScaled[i] = bScaled[i]! * module.scale;
    return { a, bScaled, rank: module.rank };
  }

  async close(): Promise<void> {
    await this.checkpoint.close();
  }
}

function collectModules(checkpoint: Checkpoint, config: LoraConfig, base: Checkpoint, source: string): Map<string, LoraModule> {
  const fail = (why: string) => new AdapterMismatchError(`${source}: ${why}`);
  const pairs = new Map<string, { a?: CheckpointTensor; b?: CheckpointTensor }>();
  for (const name of checkpoint.names) {
    if (/lora_embedding_[AB]/.test(name)) throw fail(`${name}: LoRA on embeddings is not supported`);
    if (/lora_magnitude_vector/.test(name)) throw fail(`${name}: DoRA magnitude vectors are not supported`);
    const m = TENSOR_NAME.exec(name);
    if (!m) throw fail(`tensor ${name} is not a LoRA factor (lora_A/lora_B); cannot merge it`);
    const [, module, which] = m as unknown as [string, string, 'A' | 'B'];
    const pair = pairs.get(module) ?? {};
    pair[which === 'A' ? 'a' : 'b'] = checkpoint.get(name);
    pairs.set(module, pair);
  }
  if (pairs.size === 0) throw fail('no LoRA tensors found');
  const modules = new Map<string, LoraModule>();
  for (const [module, { a, b }] of pairs) {
    if (!a || !b) throw fail(`module ${module} has lora_${a ? 'A' : 'B'} but no lora_${a ? 'B' : 'A'}`);
    if (!isTargeted(config.targetModules, module)) throw fail(`module ${module} is not in target_modules ${JSON.stringify(config.targetModules)}`);
    const baseTensor = `${module}.weight`;
    if (!base.has(baseTensor)) throw fail(`module ${module} adapts ${baseTensor}, which the base model does not have`);
    const w = base.get(baseTensor);
    if (a.shape.length !== 2 || b.shape.length !== 2 || w.shape.length !== 2) throw fail(`module ${module}: LoRA factors and base weight must be 2-D`);
    const [outFeatures, inFeatures] = w.shape as [number, number];
    const [rankA, inA] = a.shape as [number, number];
    const [outB, rankB] = b.shape as [number, number];
    const rank = patternValue(config.rankPattern, module) ?? config.r;
    if (rankA !== rank || rankB !== rank) {
      throw fail(`module ${module}: rank mismatch: lora_A is [${a.shape}], lora_B is [${b.shape}], adapter_config says r=${rank}`);
    }
    if (inA !== inFeatures || outB !== outFeatures) {
      throw fail(
        `module ${module}: shape mismatch: base weight is [${w.shape}] but lora_B @ lora_A is [${outB},${inA}] (adapter for a different base model?)`,
      );
    }
    const alpha = patternValue(config.alphaPattern, module) ?? config.alpha;
    const scale = config.useRslora ? alpha / Math.sqrt(rank) : alpha / rank;
    modules.set(baseTensor, { module, baseTensor, rank, alpha, scale, inFeatures, outFeatures, a, b });
  }
  if (Array.isArray(config.targetModules)) {
    for (const target of config.targetModules) {
      const hit = [...pairs.keys()].some((m) => m === target || m.endsWith(`.${target}`));
      if (!hit) throw fail(`target_modules lists ${target} but the adapter has no LoRA tensors for it`);
    }
  }
  return modules;
}

async function readF32(t: CheckpointTensor): Promise<Float32Array> {
  const bytes = new Uint8Array(t.byteLength);
  await t.file.read(t, 0, bytes);
  const n = t.shape.reduce((x, y) => x * y, 1);
  const out = new Float32Array(n);
  switch (t.dtype) {
    case 'F32':
      out.set(new Float32Array(bytes.buffer, 0, n));
      break;
    case 'BF16':
      decodeBf16(new Uint16Array(bytes.buffer, 0, n), out);
      break;
    case 'F16':
      decodeF16(new Uint16Array(bytes.buffer, 0, n), out);
      break;
    default:
      throw new CheckpointError(`LoRA tensor ${t.name} has dtype ${t.dtype}; expected F32, BF16 or F16`);
  }
  return out;
}

/**
 * Case-insensitive id with Meta's 2024 rename folded in: meta-llama/Meta-Llama-3.1-8B-Instruct (the name many
 * adapters were trained against) is today's meta-llama/Llama-3.1-8B-Instruct, and the hub redirects one to the other.
 */
function canonicalHubId(id: string): string {
  const lower = id.toLowerCase();
  return lower.startsWith('meta-llama/meta-llama-') ? `meta-llama/${lower.slice('meta-llama/meta-'.length)}` : lower;
}

/**
 * Refuses an adapter trained on another base, when both names are known Hugging Face ids. Local paths
 * (a training machine's folder) cannot be compared; the shape checks still apply then.
 */
export function checkAdapterBase(adapterBase: string | undefined, baseName: string | undefined): void {
  if (adapterBase === undefined || baseName === undefined || !isHubRepoId(adapterBase) || !isHubRepoId(baseName)) return;
  if (canonicalHubId(adapterBase) !== canonicalHubId(baseName)) {
    throw new AdapterMismatchError(
      `the adapter was trained on ${adapterBase} but the base is ${baseName}; pass --skip-base-check if they are the same weights`,
    );
  }
}
