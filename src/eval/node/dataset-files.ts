/**
 * Where the CLI gets a set's files: a local folder when given (nothing downloaded), else the disk cache,
 * else the public home (then cached). Nothing fetched lands in the repository: the cache defaults to the
 * user's cache folder.
 */
import { existsSync } from 'node:fs';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { DatasetError } from '../../core/errors.js';
import type { SetSource } from '../types.js';
import { fileUrl } from '../datasets/catalog.js';
import type { DatasetDefinition, DatasetFile } from '../datasets/definition.js';
import { httpFileSource, obtainedFile, type FileSource, type HttpSourceOptions } from '../datasets/load.js';

/** `$AEGIS_GUARD_CACHE`, else `$XDG_CACHE_HOME/aegis-guard`, else `~/.cache/aegis-guard`. */
export function defaultCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.AEGIS_GUARD_CACHE) return env.AEGIS_GUARD_CACHE;
  return join(env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'aegis-guard');
}

export interface NodeFileSourceOptions extends HttpSourceOptions {
  /** A folder holding the files (`<dir>/<set folder>/<name>` or `<dir>/<name>`); nothing is downloaded. */
  dataDir?: string;
  cacheDir?: string;
  /** Never download (a missing file is an error). */
  offline?: boolean;
}

function localCandidates(dataDir: string, set: DatasetDefinition, file: DatasetFile): string[] {
  return file.localNames.flatMap((name) => [join(dataDir, set.folder, name), join(dataDir, name)]);
}

function cachePath(cacheDir: string, file: DatasetFile): string {
  return join(cacheDir, 'datasets', file.host, ...file.repo.split('/'), encodeURIComponent(file.revision), ...file.path.split('/'));
}

export function nodeFileSource(options: NodeFileSourceOptions = {}): FileSource {
  const download = httpFileSource(options);
  const cacheDir = options.cacheDir ?? defaultCacheDir();
  return async (set, file) => {
    const url = fileUrl(file, options);
    if (options.dataDir) {
      const found = localCandidates(options.dataDir, set, file).find((p) => existsSync(p));
      if (!found) {
        throw new DatasetError(
          `${set.title}: ${file.localNames[0]} is not in ${options.dataDir} (looked for ${localCandidates(options.dataDir, set, file).join(', ')}).`,
          set.id,
        );
      }
      return obtainedFile(new Uint8Array(await readFile(found)), set, file, url, 'local');
    }
    const path = cachePath(cacheDir, file);
    if (existsSync(path)) {
      const bytes = new Uint8Array(await readFile(path));
      const meta = await readFile(`${path}.source.json`, 'utf8').then((t) => JSON.parse(t) as Partial<SetSource>, (): Partial<SetSource> => ({}));
      return obtainedFile(bytes, set, file, url, 'cache', meta.resolvedRevision);
    }
    if (options.offline) throw new DatasetError(`${set.title}: ${url} is not cached in ${cacheDir} and downloads are off.`, set.id, url);
    const obtained = await download(set, file);
    await mkdir(dirname(path), { recursive: true });
    // Write-then-rename: an interrupted download never leaves a truncated file that looks cached.
    await writeFile(`${path}.partial`, obtained.bytes);
    await writeFile(`${path}.source.json`, JSON.stringify(obtained.source, null, 2));
    await rename(`${path}.partial`, path);
    return obtained;
  };
}
