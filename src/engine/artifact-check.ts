/**
 * Checks, and pre-caches, the files WebLLM fetches before it reports any progress, so that a wrong URL
 * fails with a `ModelLoadError` naming that URL instead of a confusing error from deep inside WebLLM.
 *
 * Why: WebLLM fetches the model library with plain `fetch` and no status check when its URL contains
 * "localhost" (idx:18251-18253), so a 404 page reaches `WebAssembly.instantiate` as a CompileError; the other
 * files go through `Cache.add`, whose failure ("Request failed") names no URL; and a 200 HTML page from a dev
 * server's fallback would be cached as if it were the file (internals §3.3, §3.7).
 *
 * Each file is looked up in the Cache Storage scope WebLLM reads it from (idx:18231, 18246, 14916, 18313
 * with the scopes of getTensorCacheAccessOptions); a cached copy that fails validation is deleted and fetched
 * again. A fetched and validated file is stored there, so WebLLM's own `fetchWithCache` finds it
 * (`cache.match` before `cache.add`, idx:6543-6564) and nothing is downloaded twice. The exception is a
 * "localhost" model library, which WebLLM never reads from the cache: it is only checked.
 */
import { AegisAbortError, ModelLoadError } from '../core/errors.js';

export type ArtifactKind = 'json' | 'wasm' | 'binary';

export interface ArtifactRequest {
  url: string;
  /** What the file is, in words, for error messages ("the model library"). */
  what: string;
  kind: ArtifactKind;
  /** Cache Storage scope WebLLM reads the file from; undefined: WebLLM fetches it itself, only check. */
  cacheScope?: 'webllm/config' | 'webllm/wasm' | 'webllm/model';
  signal?: AbortSignal;
}

const WASM_HEADER = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00]; // "\0asm", version 1

/** Why the bytes cannot be the file, or undefined when they look right. */
export function findContentProblem(kind: ArtifactKind, bytes: Uint8Array): string | undefined {
  if (bytes.length === 0) return 'the file is empty';
  const head = new TextDecoder().decode(bytes.subarray(0, 64)).trimStart().toLowerCase();
  if (head.startsWith('<!doctype') || head.startsWith('<html')) return 'the server answered with an HTML page';
  if (kind === 'wasm') {
    const header = bytes.subarray(0, WASM_HEADER.length);
    if (header.length < WASM_HEADER.length || WASM_HEADER.some((b, i) => header[i] !== b)) {
      return 'it does not start with the WebAssembly header (\\0asm, version 1)';
    }
  }
  if (kind === 'json') {
    try {
      const value: unknown = JSON.parse(new TextDecoder().decode(bytes));
      if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'it is not a JSON object';
    } catch (error) {
      return `it is not valid JSON (${(error as Error).message})`;
    }
  }
  return undefined;
}

function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new AegisAbortError('Loading the model was cancelled.');
}

async function openScope(scope: string, url: string): Promise<Cache> {
  if (typeof caches === 'undefined') {
    throw new ModelLoadError(
      'The Cache Storage API is unavailable here (the page must be served over https or from localhost), and WebLLM stores the model in it.',
      url,
    );
  }
  return caches.open(scope);
}

async function download(request: ArtifactRequest, onlyHead: boolean): Promise<Uint8Array> {
  const { url, what, signal } = request;
  let response: Response;
  try {
    response = await fetch(url, { signal });
  } catch (error) {
    throwIfAborted(signal);
    throw new ModelLoadError(
      `Could not download ${what} from ${url}: ${(error as Error).message ?? String(error)} (network error, or the server does not allow this origin via CORS).`,
      url,
      { cause: error },
    );
  }
  if (!response.ok) {
    await response.body?.cancel().catch(() => undefined);
    throw new ModelLoadError(`${capitalise(what)} was not found at ${url} (HTTP ${response.status}).`, url);
  }
  const type = response.headers.get('content-type') ?? '';
  if (type.includes('text/html')) {
    await response.body?.cancel().catch(() => undefined);
    throw new ModelLoadError(
      `${url} answered with an HTML page instead of ${what}; check the URL (a dev server may serve its index page for missing files).`,
      url,
    );
  }
  try {
    if (onlyHead && response.body) return await readPrefix(response.body, 64);
    return new Uint8Array(await response.arrayBuffer());
  } catch (error) {
    throwIfAborted(signal);
    throw new ModelLoadError(`Downloading ${what} from ${url} broke off: ${String(error)}`, url, { cause: error });
  }
}

/** Reads at least `count` bytes (or the whole body if shorter), then cancels the rest of the download. */
async function readPrefix(body: ReadableStream<Uint8Array>, count: number): Promise<Uint8Array> {
  const reader = body.getReader();
  const chunks: Uint8Array[] = [];
  let length = 0;
  while (length < count) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    length += value.length;
  }
  await reader.cancel().catch(() => undefined);
  const out = new Uint8Array(length);
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.length;
  }
  return out;
}

const capitalise = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);

/**
 * Makes sure one file exists and looks like what it should be; returns its bytes (only a prefix for a
 * file that is checked but not cached). Throws `ModelLoadError` naming the URL, or `AegisAbortError`.
 */
export async function ensureArtifact(request: ArtifactRequest): Promise<Uint8Array> {
  const { url, what, kind, cacheScope, signal } = request;
  throwIfAborted(signal);
  const cache = cacheScope ? await openScope(cacheScope, url) : undefined;
  if (cache) {
    const cached = await cache.match(url);
    if (cached) {
      const bytes = new Uint8Array(await cached.arrayBuffer());
      if (findContentProblem(kind, bytes) === undefined) return bytes;
      // A bad copy (e.g. an HTML page cached by an earlier load) would otherwise break every later load.
      await cache.delete(url);
    }
  }
  const bytes = await download(request, !cache);
  const problem = findContentProblem(kind, bytes);
  if (problem) throw new ModelLoadError(`${capitalise(what)} at ${url} is not usable: ${problem}.`, url);
  throwIfAborted(signal);
  if (cache) {
    try {
      await cache.put(url, new Response(bytes as Uint8Array<ArrayBuffer>, { headers: { 'content-length': String(bytes.length) } }));
    } catch (error) {
      throw new ModelLoadError(
        `The browser could not store ${what} (${(error as Error).name}: ${(error as Error).message}); storage may be full.`,
        url,
        { cause: error },
      );
    }
  }
  return bytes;
}

/** A tensor-cache.json's shards, as far as they matter here. */
export interface TensorCacheSummary {
  shardUrls: string[];
  totalBytes: number;
}

/** Reads tensor-cache.json (idx:8187-8194 uses `records[].dataPath` and `records[].nbytes`). */
export function summariseTensorCache(bytes: Uint8Array, url: string): TensorCacheSummary {
  const json = JSON.parse(new TextDecoder().decode(bytes)) as { records?: unknown };
  if (!Array.isArray(json.records)) {
    throw new ModelLoadError(`${url} has no "records" list; it is not a WebLLM tensor cache.`, url);
  }
  let totalBytes = 0;
  const shardUrls: string[] = [];
  for (const record of json.records as Array<{ dataPath?: unknown; nbytes?: unknown }>) {
    if (typeof record?.dataPath !== 'string' || typeof record.nbytes !== 'number') {
      throw new ModelLoadError(`${url} has a shard record without "dataPath" and "nbytes".`, url);
    }
    shardUrls.push(new URL(record.dataPath, url).href);
    totalBytes += record.nbytes;
  }
  return { shardUrls, totalBytes };
}
