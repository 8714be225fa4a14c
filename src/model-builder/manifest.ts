/**
 * Guard-model manifests (adapters/<id>/manifest.json): which base and adapter make the model, its prompt
 * format, the architecture the stock model library was compiled for, and the browser variants with their
 * WebLLM model libraries. The format is documented in adapters/README.md.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BuildArgumentError, MissingFileError } from './errors.js';
import { formatHubRef, isHubRepoId, normalizeSubfolder, type HubRef } from './hub-ref.js';
import type { LlamaArchitecture } from './llama-config.js';
import { QUANTIZATIONS, type QuantizationName } from './param-plan.js';

/** The shape facts a manifest pins: the parameter list depends on exactly these. */
export type ManifestArchitecture = { family: 'llama' } & Pick<
  LlamaArchitecture,
  'hiddenSize' | 'numLayers' | 'numHeads' | 'numKvHeads' | 'headDim' | 'intermediateSize' | 'vocabSize' | 'tieWordEmbeddings'
>;

export interface ManifestVariant {
  quantization: QuantizationName;
  /** File name of the model library in binary-mlc-llm-libs web-llm-models/<version>/. */
  modelLib: string;
  modelLibUrl: string;
  /** True when WebLLM ships this library prebuilt; false when it must be compiled for this model. */
  stockLibrary: boolean;
  requiredFeatures: string[];
  vramRequiredMB?: number;
}

export interface GuardManifest {
  manifestVersion: 1;
  id: string;
  name: string;
  status: 'supported' | 'planned';
  notes?: string;
  /** `subfolder`: the folder of the repo that holds the checkpoint (absent: the repo's root). */
  base: { hfId: string; revision: string; subfolder?: string; gated: boolean; license: string };
  /** null for a guard model that is a plain conversion. rank/alpha/targetModules, when given, are enforced. */
  adapter: null | {
    hfId: string;
    revision: string;
    subfolder?: string;
    kind: 'peft-lora';
    rank?: number;
    alpha?: number;
    targetModules?: string[];
    license: string;
  };
  architecture: ManifestArchitecture;
  prompt: { format: string; chatTemplate: string };
  convTemplate: string;
  chatConfig: Record<string, unknown>;
  variants: ManifestVariant[];
  expectedParams: { derivation: string; count: Partial<Record<QuantizationName, number>> };
}

/** Folder of the packaged adapters/ (the same relative path from src/model-builder and from dist/model-builder). */
export const ADAPTERS_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', 'adapters');

export function parseManifest(json: unknown, source: string): GuardManifest {
  const fail = (why: string) => new BuildArgumentError(`${source}: ${why}`);
  const m = json as Partial<GuardManifest> | null;
  if (!m || typeof m !== 'object') throw fail('not a JSON object');
  if (m.manifestVersion !== 1) throw fail('manifestVersion must be 1');
  for (const key of ['id', 'name', 'convTemplate'] as const) {
    if (typeof m[key] !== 'string' || m[key] === '') throw fail(`${key} must be a non-empty string`);
  }
  if (m.status !== 'supported' && m.status !== 'planned') throw fail('status must be "supported" or "planned"');
  if (!m.base || typeof m.base.hfId !== 'string' || !isHubRepoId(m.base.hfId)) throw fail('base.hfId must be a Hugging Face id (owner/name)');
  for (const [key, entry] of [['base', m.base], ['adapter', m.adapter]] as const) {
    if (!entry) continue;
    if (entry.revision !== undefined && (typeof entry.revision !== 'string' || entry.revision === '')) throw fail(`${key}.revision must be a non-empty string`);
    if (entry.subfolder !== undefined) {
      if (typeof entry.subfolder !== 'string' || entry.subfolder === '') throw fail(`${key}.subfolder must be a non-empty string (leave it out for the root)`);
      let normal: string;
      try {
        normal = normalizeSubfolder(entry.subfolder, `${key}.subfolder`);
      } catch (error) {
        throw fail((error as Error).message);
      }
      if (normal !== entry.subfolder) throw fail(`${key}.subfolder must be written ${JSON.stringify(normal)} (no leading, trailing or doubled '/')`);
    }
  }
  if (m.adapter !== null) {
    const a = m.adapter;
    if (!a || typeof a.hfId !== 'string' || !isHubRepoId(a.hfId) || a.kind !== 'peft-lora') throw fail('adapter must be null or {hfId: "owner/name", kind: "peft-lora", ...}');
    if (a.rank !== undefined && (!Number.isInteger(a.rank) || a.rank <= 0)) throw fail('adapter.rank must be a positive integer');
    if (a.targetModules !== undefined && !Array.isArray(a.targetModules)) throw fail('adapter.targetModules must be an array');
  }
  const arch = m.architecture;
  if (!arch || arch.family !== 'llama') throw fail('architecture.family must be "llama"');
  for (const key of ['hiddenSize', 'numLayers', 'numHeads', 'numKvHeads', 'headDim', 'intermediateSize', 'vocabSize'] as const) {
    if (!Number.isInteger(arch[key]) || arch[key] <= 0) throw fail(`architecture.${key} must be a positive integer`);
  }
  if (typeof arch.tieWordEmbeddings !== 'boolean') throw fail('architecture.tieWordEmbeddings must be a boolean');
  if (!m.prompt || typeof m.prompt.format !== 'string') throw fail('prompt.format is required');
  if (!Array.isArray(m.variants) || m.variants.length === 0) throw fail('variants must list at least one variant');
  for (const v of m.variants) {
    if (!(v.quantization in QUANTIZATIONS)) throw fail(`variant quantization ${JSON.stringify(v.quantization)} is unknown`);
    if (typeof v.modelLib !== 'string' || !v.modelLib.endsWith('.wasm')) throw fail('variant modelLib must name a .wasm file');
    if (typeof v.modelLibUrl !== 'string' || !v.modelLibUrl.endsWith(`/${v.modelLib}`)) throw fail('variant modelLibUrl must end with modelLib');
    if (!Array.isArray(v.requiredFeatures)) throw fail('variant requiredFeatures must be an array');
  }
  return { chatConfig: {}, ...m } as GuardManifest;
}

/** Where the manifest's base or adapter checkpoint is on the Hub. */
export function manifestRef(entry: { hfId: string; revision?: string; subfolder?: string }): HubRef {
  return { repo: entry.hfId, revision: entry.revision ?? 'main', subfolder: entry.subfolder ?? '' };
}

/** The --base / --adapter value that names the manifest's checkpoint, e.g. `owner/name:subfolder`. */
export function manifestSpec(entry: { hfId: string; revision?: string; subfolder?: string }): string {
  return formatHubRef(manifestRef(entry));
}

/** Loads a manifest by id (adapters/<id>/manifest.json) or by path to a manifest file or its folder. */
export async function loadManifest(idOrPath: string): Promise<GuardManifest> {
  const candidates = [idOrPath, join(idOrPath, 'manifest.json'), join(ADAPTERS_DIR, idOrPath, 'manifest.json')];
  const path = candidates.find((p) => p.endsWith('.json') && existsSync(p));
  if (!path) throw new MissingFileError(`no manifest ${idOrPath} (looked for ${candidates.join(', ')})`, candidates);
  return parseManifest(JSON.parse(await readFile(path, 'utf8')), path);
}

/** Differences between the manifest's expected adapter and an adapter_config.json (empty when they agree). */
export function adapterDifferences(
  expected: NonNullable<GuardManifest['adapter']>,
  actual: { r: number; alpha: number; targetModules: string[] | string },
): string[] {
  const diffs: string[] = [];
  if (expected.rank !== undefined && expected.rank !== actual.r) diffs.push(`r ${actual.r} (manifest: ${expected.rank})`);
  if (expected.alpha !== undefined && expected.alpha !== actual.alpha) diffs.push(`lora_alpha ${actual.alpha} (manifest: ${expected.alpha})`);
  if (expected.targetModules && Array.isArray(actual.targetModules)) {
    const a = [...actual.targetModules].sort().join(',');
    const e = [...expected.targetModules].sort().join(',');
    if (a !== e) diffs.push(`target_modules ${a} (manifest: ${e})`);
  }
  return diffs;
}

/** Differences between the manifest's architecture and a checkpoint's (empty when they agree). */
export function architectureDifferences(expected: ManifestArchitecture, actual: LlamaArchitecture): string[] {
  const diffs: string[] = [];
  for (const key of ['hiddenSize', 'numLayers', 'numHeads', 'numKvHeads', 'headDim', 'intermediateSize', 'vocabSize', 'tieWordEmbeddings'] as const) {
    if (expected[key] !== actual[key]) diffs.push(`${key} ${String(actual[key])} (manifest: ${String(expected[key])})`);
  }
  return diffs;
}
