/**
 * Loading a set: get each of its files (over HTTP here; the Node CLI adds a disk cache and local folders),
 * parse them, and describe where they came from for the report.
 */
import { sha256Hex } from '../../core/sha256.js';
import { DatasetError } from '../../core/errors.js';
import type { EvalItem, SetInfo, SetSource } from '../types.js';
import { fileUrl, type UrlOptions } from './catalog.js';
import type { DatasetDefinition, DatasetFile } from './definition.js';

export interface ObtainedFile {
  bytes: Uint8Array;
  source: SetSource;
}

/** Gets one file of a set. */
export type FileSource = (set: DatasetDefinition, file: DatasetFile) => Promise<ObtainedFile>;

export interface LoadedSet {
  items: EvalItem[];
  info: SetInfo;
}

/** A file's bytes with where they came from: the set's file, how this run obtained it, its digest. */
export async function obtainedFile(
  bytes: Uint8Array,
  set: DatasetDefinition,
  file: DatasetFile,
  url: string,
  obtained: NonNullable<SetSource['obtained']>,
  resolvedRevision?: string,
): Promise<ObtainedFile> {
  return {
    bytes,
    source: {
      url,
      revision: file.revision,
      licence: set.licence,
      obtained,
      sha256: await sha256Hex(bytes as Uint8Array<ArrayBuffer>),
      ...(resolvedRevision ? { resolvedRevision } : {}),
    },
  };
}

export async function loadSet(set: DatasetDefinition, getFile: FileSource): Promise<LoadedSet> {
  const files: Record<string, Uint8Array> = {};
  const sources: SetSource[] = [];
  for (const file of set.files) {
    const obtained = await getFile(set, file);
    files[file.key] = obtained.bytes;
    sources.push(obtained.source);
  }
  const items = await set.parse(files);
  if (items.length === 0) throw new DatasetError(`${set.id}: the files hold no items.`, set.id);
  return { items, info: { title: set.title, sources, labelMapping: set.labelMapping, published: set.published } };
}

export interface HttpSourceOptions extends UrlOptions {
  fetch?: typeof fetch;
  /** A Hugging Face token, sent to the Hub only (needed for gated sets). */
  hfToken?: string;
  signal?: AbortSignal;
}

/** Explains a refused download in terms the user can act on. */
export function downloadError(set: DatasetDefinition, url: string, status: number, hasToken: boolean): DatasetError {
  if ((status === 401 || status === 403) && set.gated) {
    const what = hasToken
      ? 'the token was refused: accept the dataset\'s terms with the account the token belongs to'
      : 'set HF_TOKEN (or pass --hf-token) to a token of an account that accepted the dataset\'s terms';
    return new DatasetError(`${set.title} is gated on the Hugging Face Hub (HTTP ${status}): ${what}, at ${set.homepage}.`, set.id, url, status);
  }
  if (status === 401 || status === 403) {
    return new DatasetError(`${set.title}: ${url} answered HTTP ${status} (access refused).`, set.id, url, status);
  }
  if (status === 404) {
    return new DatasetError(`${set.title}: ${url} does not exist (HTTP 404); the upstream may have moved the file.`, set.id, url, status);
  }
  return new DatasetError(`${set.title}: downloading ${url} failed with HTTP ${status}.`, set.id, url, status);
}

/** Downloads from the files' public homes. */
export function httpFileSource(options: HttpSourceOptions = {}): FileSource {
  const doFetch = options.fetch ?? globalThis.fetch.bind(globalThis);
  return async (set, file) => {
    const url = fileUrl(file, options);
    const headers: Record<string, string> = {};
    if (file.host === 'huggingface' && options.hfToken) headers.authorization = `Bearer ${options.hfToken}`;
    let response: Response;
    try {
      response = await doFetch(url, { headers, ...(options.signal ? { signal: options.signal } : {}) });
    } catch (error) {
      throw new DatasetError(`${set.title}: could not reach ${url} (${error instanceof Error ? error.message : String(error)}).`, set.id, url, undefined, {
        cause: error,
      });
    }
    if (!response.ok) throw downloadError(set, url, response.status, Boolean(options.hfToken));
    const bytes = new Uint8Array(await response.arrayBuffer());
    const served = response.headers.get('x-repo-commit') ?? undefined;
    return obtainedFile(bytes, set, file, url, 'download', served !== file.revision ? served : undefined);
  };
}
