/**
 * Hugging Face downloads for build-model: files come from `<endpoint>/<repo>/resolve/<revision>/<file>`
 * (HF_ENDPOINT overrides the endpoint, HF_TOKEN authenticates gated repos such as meta-llama). Each file is
 * written to `<file>.incomplete` and renamed when complete, so a file under its final name is always whole;
 * an interrupted download resumes with an HTTP Range request, on the next run or on the next retry.
 */
import { existsSync } from 'node:fs';
import { mkdir, open, readFile, rename, rm, stat } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { BuildError, DownloadError, rethrowDiskFull } from './errors.js';
import { silentProgress, type Progress } from './progress.js';
import { TOKENIZER_FILE_NAMES } from './tokenizer-files.js';

export interface HubOptions {
  endpoint?: string;
  token?: string;
  cacheDir?: string;
  revision?: string;
  progress?: Progress;
  fetch?: typeof fetch;
  /** Attempts per file after the first (network errors, 5xx, 429, truncated bodies). */
  retries?: number;
}

interface ResolvedHub {
  endpoint: string;
  token: string | undefined;
  cacheDir: string;
  revision: string;
  progress: Progress;
  fetch: typeof fetch;
  retries: number;
}

function resolveHub(o: HubOptions): ResolvedHub {
  return {
    endpoint: (o.endpoint ?? process.env.HF_ENDPOINT ?? 'https://huggingface.co').replace(/\/+$/, ''),
    token: o.token ?? process.env.HF_TOKEN ?? process.env.HUGGING_FACE_HUB_TOKEN,
    cacheDir: o.cacheDir ?? process.env.AEGIS_GUARD_CACHE ?? join(homedir(), '.cache', 'aegis-guard', 'hub'),
    revision: o.revision ?? 'main',
    progress: o.progress ?? silentProgress,
    fetch: o.fetch ?? globalThis.fetch,
    retries: o.retries ?? 3,
  };
}

export function hubFileUrl(endpoint: string, repo: string, revision: string, file: string): string {
  const path = file.split('/').map(encodeURIComponent).join('/');
  return `${endpoint}/${repo}/resolve/${encodeURIComponent(revision)}/${path}`;
}

/** Local folder that holds the downloaded files of `repo` at `revision`. */
export function repoCacheDir(cacheDir: string, repo: string, revision: string): string {
  return join(cacheDir, repo.replace('/', '--'), revision);
}

class RetryableError extends Error {}

/**
 * Downloads one file (resuming a previous partial download). Returns the local path, or undefined when
 * `optional` and the hub answers 404.
 */
export async function downloadFile(repo: string, file: string, options: HubOptions & { optional?: boolean } = {}): Promise<string | undefined> {
  const hub = resolveHub(options);
  const dest = join(repoCacheDir(hub.cacheDir, repo, hub.revision), file);
  if (existsSync(dest)) return dest;
  await mkdir(dirname(dest), { recursive: true });
  const url = hubFileUrl(hub.endpoint, repo, hub.revision, file);
  let lastError: unknown;
  for (let attempt = 0; attempt <= hub.retries; attempt++) {
    try {
      const ok = await attempt1(hub, url, dest, repo, file, options.optional === true);
      return ok ? dest : undefined;
    } catch (error) {
      if (!(error instanceof RetryableError)) throw error;
      lastError = error;
      await new Promise((r) => setTimeout(r, Math.min(2000, 100 * 2 ** attempt)));
    }
  }
  throw new DownloadError(
    `download of ${url} failed after ${hub.retries + 1} attempts: ${(lastError as Error).message}; run the command again to resume`,
    url,
    undefined,
    { cause: lastError },
  );
}

async function attempt1(hub: ResolvedHub, url: string, dest: string, repo: string, file: string, optional: boolean): Promise<boolean> {
  const part = `${dest}.incomplete`;
  const have = existsSync(part) ? (await stat(part)).size : 0;
  const headers: Record<string, string> = {};
  if (hub.token) headers.authorization = `Bearer ${hub.token}`;
  if (have > 0) headers.range = `bytes=${have}-`;
  let res: Response;
  try {
    res = await hub.fetch(url, { headers, redirect: 'follow' });
  } catch (error) {
    throw new RetryableError(`network error: ${(error as Error).message}`);
  }
  if (res.status === 404) {
    await res.body?.cancel();
    if (optional) return false;
    throw new DownloadError(`${repo} has no file ${file} (404 from ${url})`, url, 404);
  }
  if (res.status === 401 || res.status === 403) {
    await res.body?.cancel();
    throw new DownloadError(
      `${url} answered ${res.status}: ${repo} is gated or private. Accept its licence on huggingface.co and set HF_TOKEN to a token of that account` +
        (hub.token ? ' (the HF_TOKEN given was refused)' : ' (no HF_TOKEN is set)'),
      url,
      res.status,
    );
  }
  if (res.status === 416 && have > 0) {
    await res.body?.cancel();
    const total = Number(/\/(\d+)$/.exec(res.headers.get('content-range') ?? '')?.[1]);
    if (total === have) {
      await rename(part, dest);
      return true;
    }
    await rm(part, { force: true });
    throw new RetryableError('the partial file no longer matches the remote file; restarting');
  }
  if (res.status >= 500 || res.status === 429) {
    await res.body?.cancel();
    throw new RetryableError(`HTTP ${res.status}`);
  }
  if (!res.ok || !res.body) {
    await res.body?.cancel();
    throw new DownloadError(`${url} answered HTTP ${res.status}`, url, res.status);
  }

  let append = false;
  let total: number | undefined;
  const length = Number(res.headers.get('content-length') ?? NaN);
  if (res.status === 206) {
    const m = /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(res.headers.get('content-range') ?? '');
    if (!m || Number(m[1]) !== have) {
      await res.body.cancel();
      await rm(part, { force: true });
      throw new RetryableError('the server resumed at the wrong offset; restarting');
    }
    append = true;
    total = m[3] === '*' ? undefined : Number(m[3]);
  } else {
    total = Number.isFinite(length) ? length : undefined;
  }

  const task = hub.progress.task(`download ${repo}/${file}`, total ?? 0);
  if (append) task.advance(have);
  const handle = await open(part, append ? 'a' : 'w').catch((e: unknown) => rethrowDiskFull(e, part));
  try {
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      let done = 0;
      while (done < chunk.byteLength) {
        const { bytesWritten } = await handle.write(chunk, done).catch((e: unknown) => rethrowDiskFull(e, part));
        done += bytesWritten;
      }
      task.advance(chunk.byteLength);
    }
  } catch (error) {
    if (error instanceof BuildError) throw error;
    throw new RetryableError(`connection lost: ${(error as Error).message}`);
  } finally {
    await handle.close();
  }
  const size = (await stat(part)).size;
  if (total !== undefined && size !== total) throw new RetryableError(`got ${size} of ${total} bytes`);
  task.done();
  await rename(part, dest);
  return true;
}

/** Downloads what build-model needs from a base model repo; returns the local folder. */
export async function downloadBaseModel(repo: string, options: HubOptions = {}): Promise<string> {
  const hub = resolveHub(options);
  const dir = repoCacheDir(hub.cacheDir, repo, hub.revision);
  await downloadFile(repo, 'config.json', options);
  await downloadFile(repo, 'generation_config.json', { ...options, optional: true });
  for (const f of TOKENIZER_FILE_NAMES) await downloadFile(repo, f, { ...options, optional: true });
  const index = await downloadFile(repo, 'model.safetensors.index.json', { ...options, optional: true });
  if (index) {
    const map = (JSON.parse(await readFile(index, 'utf8')) as { weight_map?: Record<string, string> }).weight_map ?? {};
    for (const shard of [...new Set(Object.values(map))].sort()) await downloadFile(repo, shard, options);
  } else {
    await downloadFile(repo, 'model.safetensors', options);
  }
  return dir;
}

/** Downloads a PEFT adapter repo (adapter_config.json + adapter_model.safetensors); returns the local folder. */
export async function downloadAdapter(repo: string, options: HubOptions = {}): Promise<string> {
  const hub = resolveHub(options);
  await downloadFile(repo, 'adapter_config.json', options);
  await downloadFile(repo, 'adapter_model.safetensors', options);
  return repoCacheDir(hub.cacheDir, repo, hub.revision);
}
