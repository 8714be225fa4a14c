/**
 * Hugging Face downloads for build-model: files come from `<endpoint>/<repo>/resolve/<revision>/<path>`
 * (HF_ENDPOINT overrides the endpoint, HF_TOKEN authenticates gated repos such as meta-llama). Each file is
 * written to `<file>.incomplete` and renamed when complete, so a file under its final name is always whole;
 * an interrupted download resumes with an HTTP Range request, on the next run or on the next retry.
 * Whole checkpoints (locate, check, then fetch) are in hub-checkpoint.ts.
 */
import { existsSync } from 'node:fs';
import { mkdir, open, readFile, rename, rm, stat } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { BuildArgumentError, BuildError, DownloadError, HubNotFoundError, HubResponseError, rethrowDiskFull } from './errors.js';
import { assertNotHtml, hubFetch, hubStatusError, RetryableError, withRetries, type HubClient, type RetryPolicy } from './hub-http.js';
import type { FreeBytes } from './output-dir.js';
import { count } from './plural.js';
import { silentProgress, type Progress } from './progress.js';

export interface HubOptions {
  endpoint?: string;
  token?: string;
  cacheDir?: string;
  /** Default revision for ids that do not name one (default main). */
  revision?: string;
  progress?: Progress;
  fetch?: typeof fetch;
  /** Attempts per Hub request after the first (network errors, 5xx, 429, truncated bodies). */
  retries?: number;
  /** Milliseconds to wait before retry `attempt` (0-based); default 100 * 2^attempt, at most 2 s. A 429's Retry-After waits longer. */
  retryDelayMs?: (attempt: number) => number;
  /** Waits before a retry (test hook; default a timer). */
  sleep?: (ms: number) => Promise<void>;
  /** Free bytes on the disk holding a folder (test hook; default statfs). */
  freeBytes?: FreeBytes;
}

export interface ResolvedHub extends HubClient, RetryPolicy {
  cacheDir: string;
  revision: string;
  freeBytes: FreeBytes | undefined;
}

export function resolveHub(o: HubOptions): ResolvedHub {
  const endpoint = (o.endpoint ?? (process.env.HF_ENDPOINT || undefined) ?? 'https://huggingface.co').trim().replace(/\/+$/, '');
  if (!/^https?:\/\/[^/]/i.test(endpoint) || !URL.canParse(endpoint)) {
    throw new BuildArgumentError(`HF_ENDPOINT ${JSON.stringify(endpoint)} is not an http(s) URL (expected e.g. https://huggingface.co)`);
  }
  // A token pasted from a file often ends in a newline, which no HTTP header may hold.
  const token = (o.token ?? (process.env.HF_TOKEN || process.env.HUGGING_FACE_HUB_TOKEN || undefined))?.trim() || undefined;
  if (token !== undefined && !/^[\x21-\x7e]+$/.test(token)) {
    throw new BuildArgumentError('HF_TOKEN contains spaces or characters a token never has; copy it again from the Hub settings (Access Tokens)');
  }
  return {
    endpoint,
    token,
    cacheDir: o.cacheDir ?? process.env.AEGIS_GUARD_CACHE ?? join(homedir(), '.cache', 'aegis-guard', 'hub'),
    revision: o.revision ?? 'main',
    progress: o.progress ?? silentProgress,
    fetch: o.fetch ?? globalThis.fetch,
    retries: o.retries ?? 3,
    retryDelayMs: o.retryDelayMs ?? ((attempt) => Math.min(2000, 100 * 2 ** attempt)),
    sleep: o.sleep ?? ((ms) => new Promise((done) => setTimeout(done, ms))),
    freeBytes: o.freeBytes,
  };
}

export function hubFileUrl(endpoint: string, repo: string, revision: string, file: string): string {
  const path = file.split('/').map(encodeURIComponent).join('/');
  return `${endpoint}/${repo}/resolve/${encodeURIComponent(revision)}/${path}`;
}

/** Local folder that holds the downloaded files of `repo` at `revision`. */
export function repoCacheDir(cacheDir: string, repo: string, revision: string): string {
  return join(cacheDir, repo.replace('/', '--'), revision.replace(/\//g, '--'));
}

/**
 * Downloads one repo file (resuming a previous partial download). Returns the local path, or undefined when
 * `optional` and the repo has no such file. `expectedSize` (from the file list) catches a body cut short
 * even when the server sends no Content-Length.
 */
export async function downloadFile(
  repo: string,
  file: string,
  options: HubOptions & { optional?: boolean; expectedSize?: number; licence?: string | undefined } = {},
): Promise<string | undefined> {
  const hub = resolveHub(options);
  assertRepoPath(file, repo);
  const dest = join(repoCacheDir(hub.cacheDir, repo, hub.revision), file);
  if (existsSync(dest)) return dest;
  await mkdir(dirname(dest), { recursive: true });
  const url = hubFileUrl(hub.endpoint, repo, hub.revision, file);
  try {
    return (await withRetries(hub, () => attempt1(hub, url, dest, repo, file, options))) ? dest : undefined;
  } catch (error) {
    if (!(error instanceof RetryableError)) throw error;
    throw new DownloadError(
      `download of ${url} failed after ${count(hub.retries + 1, 'attempt')}: ${error.message}; run the command again to resume`,
      url,
      undefined,
      { cause: error },
    );
  }
}

/** A path from the repo (or from a file in it, such as an index) must stay inside the cache folder. */
export function assertRepoPath(file: string, repo: string): void {
  if (file === '' || file.startsWith('/') || file.includes('\\') || file.split('/').some((p) => p === '' || p === '.' || p === '..')) {
    throw new HubResponseError(`${repo}: refusing the file path ${JSON.stringify(file)} (it would leave the repo's folder)`, file);
  }
}

async function attempt1(
  hub: ResolvedHub,
  url: string,
  dest: string,
  repo: string,
  file: string,
  options: { optional?: boolean; expectedSize?: number; licence?: string | undefined },
): Promise<boolean> {
  const part = `${dest}.incomplete`;
  const have = existsSync(part) ? (await stat(part)).size : 0;
  const { res } = await hubFetch(hub, url, { headers: have > 0 ? { range: `bytes=${have}-` } : {} });
  if (res.status === 416 && have > 0) {
    await res.body?.cancel();
    const total = Number(/\/(\d+)$/.exec(res.headers.get('content-range') ?? '')?.[1]);
    if (total === have && (options.expectedSize === undefined || options.expectedSize === have)) {
      await rename(part, dest);
      return true;
    }
    await rm(part, { force: true });
    throw new RetryableError('the partial file no longer matches the remote file; restarting');
  }
  if (!res.ok || !res.body) {
    const error = await hubStatusError(hub, res, { repo, revision: hub.revision, path: file, url }, options.licence);
    if (options.optional && error instanceof HubNotFoundError && error.what === 'file') return false;
    throw error;
  }
  assertNotHtml(hub, res, url);

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
  if (options.expectedSize !== undefined) {
    if (total !== undefined && total !== options.expectedSize) {
      await res.body.cancel();
      throw new HubResponseError(
        `${repo}/${file}: the file list says ${options.expectedSize} bytes but ${url} serves ${total}; the repo may have changed during the download, run the command again`,
        url,
        res.status,
      );
    }
    total = options.expectedSize;
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
  if (total !== undefined && size < total) throw new RetryableError(`got ${size} of ${total} bytes`);
  if (total !== undefined && size > total) {
    await rm(part, { force: true });
    throw new HubResponseError(`${url} sent ${size} bytes for a file of ${total}`, url, res.status);
  }
  if (file.endsWith('.json')) await assertJsonFile(part, url, res.status);
  task.done();
  await rename(part, dest);
  return true;
}

/** A JSON file that does not parse is never cached under its final name (a later run would trust it). */
async function assertJsonFile(path: string, url: string, status: number): Promise<void> {
  try {
    JSON.parse(await readFile(path, 'utf8'));
  } catch (error) {
    await rm(path, { force: true });
    throw new HubResponseError(`${url} answered something that is not JSON; HF_ENDPOINT or a proxy may be serving another page`, url, status, { cause: error });
  }
}

