/**
 * A model folder picked in the page (the folder `aegis-guard build-model` writes), stored in the browser so
 * the guard loads it, and keeps loading it offline, without any server holding the files.
 *
 * URL scheme: the folder gets a URL under the page that no server has,
 *   <page folder>/local-models/<folder name>/
 * and each file is put into the Cache Storage scope WebLLM 0.2.86 reads it from, keyed by that URL plus the
 * file name (WebLLM resolves every file with `new URL(name, folder)`; internals §3.3-3.4, §3.7):
 *   webllm/config  mlc-chat-config.json
 *   webllm/model   tokenizer.json (or tokenizer.model), tensor-cache.json, every shard tensor-cache.json lists
 *   webllm/wasm    the model library, when the folder holds a .wasm (else WebLLM's stock library is used)
 * WebLLM looks in the cache before it fetches (`cache.match`, then `cache.add` on a miss), so a stored folder
 * never touches the network. The one exception, a model library whose URL contains "localhost" (WebLLM
 * fetches it with plain fetch), is answered from the cache by the demo's service worker (public/sw.js).
 */

export interface FolderFile {
  /** Path inside the picked folder, e.g. 'params_shard_0.bin'. */
  path: string;
  file: Blob & { name?: string };
}

export interface LocalModelPlan {
  name: string;
  variant: 'q4f16_1' | 'q4f32_1';
  entries: Array<{ path: string; file: Blob; scope: 'webllm/config' | 'webllm/model' | 'webllm/wasm' }>;
  /** The model library file, when the folder has one. */
  wasmPath?: string;
  totalBytes: number;
}

export interface StoreProgress {
  path: string;
  index: number;
  count: number;
  storedBytes: number;
  totalBytes: number;
}

/** A folder that cannot be used, with a message for the page. */
export class LocalModelError extends Error {
  override name = 'LocalModelError';
}

const SCOPES = ['webllm/config', 'webllm/model', 'webllm/wasm'] as const;

/** Files from `<input type=file webkitdirectory>`: paths inside the folder, and the folder's name. */
export function filesFromInput(list: Iterable<File>): { name: string; files: FolderFile[] } {
  let name = '';
  const files: FolderFile[] = [];
  for (const file of list) {
    const parts = (file.webkitRelativePath || file.name).split('/');
    if (parts.length > 1) name ||= parts[0]!;
    files.push({ path: parts.length > 1 ? parts.slice(1).join('/') : parts[0]!, file });
  }
  return { name: name || 'model', files };
}

async function readJson(file: Blob, path: string): Promise<Record<string, unknown>> {
  try {
    const value: unknown = JSON.parse(await file.text());
    if (typeof value === 'object' && value !== null && !Array.isArray(value)) return value as Record<string, unknown>;
  } catch {
    // Reported below.
  }
  throw new LocalModelError(`${path} in the folder is not a JSON object.`);
}

const formatMB = (bytes: number) => `${(bytes / 1e6).toFixed(bytes < 1e7 ? 1 : 0)} MB`;

/** Checks the folder holds a complete WebLLM model build and works out what to store where. */
export async function planLocalModel(name: string, files: FolderFile[]): Promise<LocalModelPlan> {
  const byPath = new Map(files.map((f) => [f.path, f.file]));
  const config = byPath.get('mlc-chat-config.json');
  if (!config) {
    throw new LocalModelError(
      'The folder has no mlc-chat-config.json. Pick the folder `aegis-guard build-model` wrote: it holds mlc-chat-config.json, tensor-cache.json, params_shard_*.bin and tokenizer.json.',
    );
  }
  const chatConfig = await readJson(config, 'mlc-chat-config.json');
  const quantization = chatConfig.quantization;
  if (quantization !== 'q4f16_1' && quantization !== 'q4f32_1') {
    throw new LocalModelError(`This build is quantized as ${JSON.stringify(quantization)}; the guard runs q4f16_1 or q4f32_1 builds.`);
  }
  const tensorCache = byPath.get('tensor-cache.json');
  if (!tensorCache) {
    throw new LocalModelError(
      byPath.has('ndarray-cache.json')
        ? 'The folder has ndarray-cache.json but no tensor-cache.json: it was converted by an older mlc_llm, and WebLLM 0.2.86 reads tensor-cache.json. Rebuild it with `aegis-guard build-model`.'
        : 'The folder has no tensor-cache.json (the list of weight shards).',
    );
  }
  const records = (await readJson(tensorCache, 'tensor-cache.json')).records;
  if (!Array.isArray(records) || records.some((r) => typeof (r as { dataPath?: unknown })?.dataPath !== 'string')) {
    throw new LocalModelError('tensor-cache.json has no valid "records" list of shards.');
  }
  const shards = (records as Array<{ dataPath: string }>).map((r) => r.dataPath);
  const missing = shards.filter((path) => !byPath.has(path));
  if (missing.length > 0) {
    const shown = missing.slice(0, 3).join(', ');
    throw new LocalModelError(`The folder lacks ${missing.length} weight shard${missing.length > 1 ? 's' : ''} listed in tensor-cache.json (${shown}${missing.length > 3 ? ', …' : ''}).`);
  }
  const listed = Array.isArray(chatConfig.tokenizer_files) ? (chatConfig.tokenizer_files as unknown[]) : [];
  const tokenizer = ['tokenizer.json', 'tokenizer.model'].find((t) => listed.includes(t) && byPath.has(t));
  if (!tokenizer) throw new LocalModelError('The folder has no tokenizer.json (or tokenizer.model) listed in mlc-chat-config.json "tokenizer_files".');
  // A model library in the folder is used instead of WebLLM's stock one (and makes the folder work offline).
  const wasms = files.filter((f) => !f.path.includes('/') && f.path.endsWith('.wasm')).map((f) => f.path);
  const wasmPath = wasms.find((w) => w.includes(quantization)) ?? wasms[0];

  const entries: LocalModelPlan['entries'] = [
    { path: 'mlc-chat-config.json', file: config, scope: 'webllm/config' },
    { path: tokenizer, file: byPath.get(tokenizer)!, scope: 'webllm/model' },
    { path: 'tensor-cache.json', file: tensorCache, scope: 'webllm/model' },
    ...shards.map((path) => ({ path, file: byPath.get(path)!, scope: 'webllm/model' as const })),
    ...(wasmPath ? [{ path: wasmPath, file: byPath.get(wasmPath)!, scope: 'webllm/wasm' as const }] : []),
  ];
  return { name, variant: quantization, entries, wasmPath, totalBytes: entries.reduce((sum, e) => sum + e.file.size, 0) };
}

/** The URL a stored folder lives under, relative to the page. */
export function localFolderUrl(name: string, pageUrl: string): string {
  const slug = name.replace(/[^A-Za-z0-9._-]+/g, '-').replace(/^[.-]+/, '') || 'model';
  return new URL(`local-models/${slug}/`, pageUrl).href;
}

/** Stores a planned folder in Cache Storage. Resolves with what to pass to the guard. */
export async function storeLocalModel(
  plan: LocalModelPlan,
  pageUrl: string,
  onProgress?: (progress: StoreProgress) => void,
): Promise<{ weightsUrl: string; modelLibUrl?: string }> {
  if (typeof caches === 'undefined') throw new LocalModelError('This page cannot use Cache Storage (it needs https or localhost).');
  const storage = (navigator as Navigator & { storage?: StorageManager }).storage;
  const estimate = await storage?.estimate?.().catch(() => undefined);
  if (estimate?.quota !== undefined && estimate.usage !== undefined && estimate.quota - estimate.usage < plan.totalBytes) {
    throw new LocalModelError(`The model needs ${formatMB(plan.totalBytes)}, but this browser offers only ${formatMB(estimate.quota - estimate.usage)} more for this site.`);
  }
  // Ask the browser not to evict the model under storage pressure (it may refuse; then it is best effort).
  await storage?.persist?.().catch(() => false);
  const weightsUrl = localFolderUrl(plan.name, pageUrl);
  let storedBytes = 0;
  for (const [index, entry] of plan.entries.entries()) {
    const cache = await caches.open(entry.scope);
    const url = new URL(entry.path, weightsUrl).href;
    const type = entry.path.endsWith('.json') ? 'application/json' : entry.path.endsWith('.wasm') ? 'application/wasm' : 'application/octet-stream';
    try {
      await cache.put(url, new Response(entry.file, { headers: { 'content-type': type, 'content-length': String(entry.file.size) } }));
    } catch (error) {
      const name = (error as Error).name;
      throw new LocalModelError(
        name === 'QuotaExceededError'
          ? `The browser ran out of storage while storing ${entry.path}.`
          : `Storing ${entry.path} failed: ${name}: ${(error as Error).message}`,
      );
    }
    storedBytes += entry.file.size;
    onProgress?.({ path: entry.path, index, count: plan.entries.length, storedBytes, totalBytes: plan.totalBytes });
  }
  return { weightsUrl, ...(plan.wasmPath ? { modelLibUrl: new URL(plan.wasmPath, weightsUrl).href } : {}) };
}

/** Removes every stored file of a folder from the three scopes. */
export async function forgetLocalModel(weightsUrl: string): Promise<number> {
  let removed = 0;
  for (const scope of SCOPES) {
    if (!(await caches.has(scope))) continue;
    const cache = await caches.open(scope);
    for (const request of await cache.keys()) {
      if (request.url.startsWith(weightsUrl) && (await cache.delete(request))) removed++;
    }
  }
  return removed;
}
