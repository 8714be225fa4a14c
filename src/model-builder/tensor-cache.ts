/**
 * tensor-cache.json (the tvmjs tensor cache manifest WebLLM 0.2.86 reads; older mlc_llm called it
 * ndarray-cache.json): shard records with their tensor records. Writing and structural validation.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CheckpointError, rethrowDiskFull } from './errors.js';
import { DTYPE_BYTES, type ParamDtype } from './param-plan.js';
import type { ShardRecord, TensorRecord } from './shard-writer.js';

export const TENSOR_CACHE_FILE = 'tensor-cache.json';

export interface TensorCache {
  metadata: { ParamSize: number; ParamBytes: number; BitsPerParam: number };
  records: ShardRecord[];
}

/** `sourceParams` is the number of weights in the source model (for BitsPerParam). */
export function tensorCacheJson(shards: ShardRecord[], sourceParams: number): TensorCache {
  const records = shards.flatMap((s) => s.records);
  const bytes = records.reduce((n, r) => n + r.nbytes, 0);
  return {
    metadata: {
      ParamSize: records.length,
      ParamBytes: bytes,
      BitsPerParam: sourceParams > 0 ? Number(((bytes * 8) / sourceParams).toFixed(4)) : 0,
    },
    records: shards,
  };
}

export async function writeTensorCache(dir: string, cache: TensorCache): Promise<void> {
  const path = join(dir, TENSOR_CACHE_FILE);
  await writeFile(path, `${JSON.stringify(cache, null, 2)}\n`).catch((e: unknown) => rethrowDiskFull(e, path));
}

export async function readTensorCache(dir: string): Promise<TensorCache> {
  const path = join(dir, TENSOR_CACHE_FILE);
  let json: unknown;
  try {
    json = JSON.parse(await readFile(path, 'utf8'));
  } catch (error) {
    throw new CheckpointError(`cannot read ${path}: ${(error as Error).message}`, { cause: error });
  }
  const cache = json as Partial<TensorCache>;
  if (!cache || !Array.isArray(cache.records)) throw new CheckpointError(`${path} has no records array`);
  return cache as TensorCache;
}

/**
 * Problems with the structure of a tensor cache (no file access): formats, exact nbytes from shape and dtype,
 * records inside their shard and not overlapping, unique names.
 */
export function tensorCacheProblems(cache: TensorCache): string[] {
  const problems: string[] = [];
  const names = new Set<string>();
  for (const shard of cache.records) {
    const where = `shard ${shard.dataPath}`;
    if (shard.format !== 'raw-shard') problems.push(`${where}: format ${JSON.stringify(shard.format)}, expected "raw-shard"`);
    if (typeof shard.dataPath !== 'string' || shard.dataPath.includes('/')) problems.push(`${where}: bad dataPath`);
    if (!Array.isArray(shard.records)) {
      problems.push(`${where}: no records`);
      continue;
    }
    const spans: Array<[number, number, string]> = [];
    for (const r of shard.records as TensorRecord[]) {
      if (names.has(r.name)) problems.push(`${r.name}: appears twice`);
      names.add(r.name);
      if (r.format !== 'raw') problems.push(`${r.name}: format ${JSON.stringify(r.format)}, expected "raw"`);
      const size = DTYPE_BYTES[r.dtype as ParamDtype];
      if (size === undefined) {
        problems.push(`${r.name}: unknown dtype ${r.dtype}`);
        continue;
      }
      const expected = r.shape.reduce((a, b) => a * b, 1) * size;
      if (r.nbytes !== expected) problems.push(`${r.name}: nbytes ${r.nbytes}, but shape [${r.shape}] of ${r.dtype} needs ${expected}`);
      if (!Number.isInteger(r.byteOffset) || r.byteOffset < 0 || r.byteOffset + r.nbytes > shard.nbytes) {
        problems.push(`${r.name}: bytes [${r.byteOffset}, ${r.byteOffset + r.nbytes}) are outside ${where} (${shard.nbytes} bytes)`);
      }
      spans.push([r.byteOffset, r.byteOffset + r.nbytes, r.name]);
    }
    spans.sort((a, b) => a[0] - b[0]);
    for (let i = 1; i < spans.length; i++) {
      if (spans[i]![0] < spans[i - 1]![1]) problems.push(`${spans[i]![2]} overlaps ${spans[i - 1]![2]} in ${where}`);
    }
  }
  return problems;
}
