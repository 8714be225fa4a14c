/**
 * A Hugging Face safetensors checkpoint folder: one `model.safetensors`, or shards named by
 * `model.safetensors.index.json`. Tensors are located by name across shards; nothing is read until asked.
 */
import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CheckpointError, MissingFileError } from './errors.js';
import { count } from './plural.js';
import { SafetensorsFile, type TensorInfo } from './safetensors.js';

export interface CheckpointTensor extends TensorInfo {
  file: SafetensorsFile;
}

export class Checkpoint {
  private constructor(
    readonly dir: string,
    private readonly files: SafetensorsFile[],
    private readonly byName: ReadonlyMap<string, CheckpointTensor>,
  ) {}

  /** Opens every shard of the checkpoint in `dir` (headers only). */
  static async open(dir: string, options: { exclude?: readonly string[] } = {}): Promise<Checkpoint> {
    const shardNames = await listShards(dir, options.exclude ?? []);
    const files: SafetensorsFile[] = [];
    try {
      for (const name of shardNames) files.push(await SafetensorsFile.open(join(dir, name)));
    } catch (error) {
      await Promise.all(files.map((f) => f.close()));
      throw error;
    }
    const byName = new Map<string, CheckpointTensor>();
    for (const file of files) {
      for (const info of file.tensors.values()) {
        if (byName.has(info.name)) {
          await Promise.all(files.map((f) => f.close()));
          throw new CheckpointError(`tensor ${info.name} appears in two shards of ${dir}`);
        }
        byName.set(info.name, { ...info, file });
      }
    }
    return new Checkpoint(dir, files, byName);
  }

  get names(): string[] {
    return [...this.byName.keys()];
  }

  has(name: string): boolean {
    return this.byName.has(name);
  }

  get(name: string): CheckpointTensor {
    const t = this.byName.get(name);
    if (!t) throw new CheckpointError(`tensor ${name} is missing from the checkpoint in ${this.dir}`);
    return t;
  }

  /** Total bytes of tensor data (the "input size" the benchmark reports). */
  get dataBytes(): number {
    let n = 0;
    for (const t of this.byName.values()) n += t.byteLength;
    return n;
  }

  async close(): Promise<void> {
    await Promise.all(this.files.map((f) => f.close()));
  }
}

/** Shard file names of the checkpoint in `dir`; throws MissingFileError naming every absent shard. */
export async function listShards(dir: string, exclude: readonly string[] = []): Promise<string[]> {
  if (!existsSync(dir)) throw new MissingFileError(`checkpoint folder ${dir} does not exist`, [dir]);
  const indexPath = join(dir, 'model.safetensors.index.json');
  if (existsSync(indexPath)) {
    let index: { weight_map?: Record<string, string> };
    try {
      index = JSON.parse(await readFile(indexPath, 'utf8')) as typeof index;
    } catch (error) {
      throw new CheckpointError(`${indexPath} is not valid JSON`, { cause: error });
    }
    if (!index.weight_map || typeof index.weight_map !== 'object') {
      throw new CheckpointError(`${indexPath} has no weight_map`);
    }
    const shards = [...new Set(Object.values(index.weight_map))].sort();
    const missing = shards.filter((s) => !existsSync(join(dir, s)));
    if (missing.length > 0) {
      throw new MissingFileError(
        `missing ${missing.length} of ${count(shards.length, 'checkpoint shard')} in ${dir}: ${missing.join(', ')}`,
        missing.map((m) => join(dir, m)),
      );
    }
    return shards;
  }
  if (existsSync(join(dir, 'model.safetensors'))) return ['model.safetensors'];
  const found = (await readdir(dir)).filter((f) => f.endsWith('.safetensors') && !exclude.includes(f)).sort();
  if (found.length > 0) return found;
  const hasBin = (await readdir(dir)).some((f) => f.endsWith('.bin') || f.endsWith('.pth'));
  throw new MissingFileError(
    `no safetensors weights in ${dir}` +
      (hasBin ? ' (only PyTorch .bin/.pth files: download the safetensors version of the model)' : ''),
    [join(dir, 'model.safetensors')],
  );
}
