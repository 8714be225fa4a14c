/**
 * The pre-load check of a WebLLM record's files, in the order WebLLM's reload fetches them (config, model
 * library, tokenizer, tensor-cache.json: idx:18239, 18266, 18312, 18313).
 */
import type { ModelRecord } from '@mlc-ai/web-llm';
import { ModelLoadError } from '../core/errors.js';
import { ensureArtifact, summariseTensorCache } from './artifact-check.js';
import { webllmFolderUrl } from './webllm-urls.js';

export interface CheckedModelFiles {
  /** The folder WebLLM fetches the weights from. */
  folderUrl: string;
  /** The context window the model will get (record override, else mlc-chat-config.json). */
  contextWindow?: number;
  /** Sum of the shard sizes in tensor-cache.json, for byte-accurate progress. */
  totalBytes?: number;
}

export interface CheckOptions {
  signal?: AbortSignal;
  /** Called before each file is checked. */
  onFile?: (index: number, count: number, url: string) => void;
}

/** Where WebLLM gets a model library from (idx:18251-18265). */
function libraryCacheScope(modelLib: string): 'webllm/wasm' | undefined {
  // "localhost" anywhere in the URL: plain fetch, never cached. Not http: plain fetch against the page.
  if (modelLib.includes('localhost') || !modelLib.startsWith('http')) return undefined;
  return 'webllm/wasm';
}

/** Checks every file WebLLM needs before its first progress report; throws `ModelLoadError` naming the URL. */
export async function checkModelFiles(record: ModelRecord, options: CheckOptions = {}): Promise<CheckedModelFiles> {
  const { signal, onFile } = options;
  const folderUrl = webllmFolderUrl(record.model);
  const overrideWindow = record.overrides?.context_window_size;
  const libStep = { url: record.model_lib, what: 'the model library (.wasm)', kind: 'wasm' as const };

  if (record.model_manifest !== undefined) {
    // A manifest names its own file layout (idx:18232-18236); only the library is checked here.
    onFile?.(0, 1, record.model_lib);
    await ensureArtifact({ ...libStep, cacheScope: libraryCacheScope(record.model_lib), signal });
    return { folderUrl, contextWindow: overrideWindow };
  }

  const count = 4;
  const configUrl = new URL('mlc-chat-config.json', folderUrl).href;
  onFile?.(0, count, configUrl);
  const configBytes = await ensureArtifact({
    url: configUrl,
    what: 'the model configuration (mlc-chat-config.json)',
    kind: 'json',
    cacheScope: 'webllm/config',
    signal,
  });
  const config = JSON.parse(new TextDecoder().decode(configBytes)) as Record<string, unknown>;

  onFile?.(1, count, record.model_lib);
  await ensureArtifact({ ...libStep, cacheScope: libraryCacheScope(record.model_lib), signal });

  // asyncLoadTokenizer (idx:14914-14935) prefers tokenizer.json, then tokenizer.model.
  const files = config.tokenizer_files;
  if (!Array.isArray(files)) {
    throw new ModelLoadError(`${configUrl} has no "tokenizer_files" list.`, configUrl);
  }
  const tokenizerName = files.includes('tokenizer.json')
    ? 'tokenizer.json'
    : files.includes('tokenizer.model')
      ? 'tokenizer.model'
      : undefined;
  if (!tokenizerName) {
    throw new ModelLoadError(
      `${configUrl} lists neither tokenizer.json nor tokenizer.model in "tokenizer_files"; WebLLM can load no other tokenizer.`,
      configUrl,
    );
  }
  const tokenizerUrl = new URL(tokenizerName, folderUrl).href;
  onFile?.(2, count, tokenizerUrl);
  await ensureArtifact({
    url: tokenizerUrl,
    what: `the tokenizer (${tokenizerName})`,
    kind: tokenizerName === 'tokenizer.json' ? 'json' : 'binary',
    cacheScope: 'webllm/model',
    signal,
  });

  const tensorCacheUrl = new URL('tensor-cache.json', folderUrl).href;
  onFile?.(3, count, tensorCacheUrl);
  const tensorCache = summariseTensorCache(
    await ensureArtifact({
      url: tensorCacheUrl,
      what: 'the weight index (tensor-cache.json)',
      kind: 'json',
      cacheScope: 'webllm/model',
      signal,
    }),
    tensorCacheUrl,
  );

  const configWindow = config.context_window_size;
  return {
    folderUrl,
    contextWindow: overrideWindow ?? (typeof configWindow === 'number' ? configWindow : undefined),
    totalBytes: tensorCache.totalBytes,
  };
}
