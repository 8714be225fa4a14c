/**
 * A repo's file list from the Hub's tree API: `GET <endpoint>/api/models/<repo>/tree/<revision>?recursive=true`
 * answers a JSON array of `{ type: 'file' | 'directory', path, size, lfs? }`, one page at a time; the next page
 * is named by a `Link: <url>; rel="next"` header. Used to say where a checkpoint is when it is not where it
 * was looked for, and for the sizes of the files to download.
 */
import { HubResponseError } from './errors.js';
import { assertNotHtml, hubFetch, hubStatusError, withRetries, type HubClient, type RetryPolicy } from './hub-http.js';

export interface RepoEntry {
  type: 'file' | 'directory';
  path: string;
  /** Bytes; undefined when the list did not say. */
  size: number | undefined;
  /** sha256 of a Git LFS file's content. */
  lfsSha256?: string;
}

/** More pages than any model repo has (the Hub sends 1000 entries a page); stops a server that loops. */
const MAX_PAGES = 1000;

export function treeUrl(endpoint: string, repo: string, revision: string): string {
  return `${endpoint}/api/models/${repo}/tree/${encodeURIComponent(revision)}?recursive=true`;
}

/**
 * Every entry of the repo at `revision`, all pages. HubResponseError when the endpoint has no usable tree API
 * (bare 404, HTML, not a JSON array); HubNotFoundError / HubAccessError for what the Hub says is wrong;
 * RetryableError once the hub's retries are spent.
 */
export async function listRepoFiles(hub: HubClient & RetryPolicy, repo: string, revision: string): Promise<RepoEntry[]> {
  const entries: RepoEntry[] = [];
  const seen = new Set<string>();
  let url: string | undefined = treeUrl(hub.endpoint, repo, revision);
  for (let page = 0; url; page++) {
    if (page >= MAX_PAGES || seen.has(url)) throw new HubResponseError(`the file list of ${repo} does not end (page ${page + 1} at ${url})`, url);
    seen.add(url);
    const pageUrl: string = url;
    const { body, next } = await withRetries(hub, () => treePage(hub, pageUrl, repo, revision));
    entries.push(...body);
    url = next;
  }
  return entries;
}

/** One page of the list; RetryableError for what another attempt may cure. */
async function treePage(hub: HubClient, url: string, repo: string, revision: string): Promise<{ body: RepoEntry[]; next: string | undefined }> {
  const { res, url: answered } = await hubFetch(hub, url, { headers: { accept: 'application/json' } });
  if (res.status === 404 && !res.headers.get('x-error-code')) {
    await res.body?.cancel();
    // The Hub marks a missing repo or revision; a bare 404 means the endpoint has no tree API at all.
    throw new HubResponseError(`${url} answered 404 (no file-list API)`, url, 404);
  }
  if (!res.ok) throw await hubStatusError(hub, res, { repo, revision, path: undefined, url });
  assertNotHtml(hub, res, url);
  let json: unknown;
  try {
    json = await res.json();
  } catch (error) {
    throw new HubResponseError(`the file list of ${repo} from ${url} is not JSON`, url, res.status, { cause: error });
  }
  return { body: parseEntries(json, url), next: nextLink(res.headers.get('link'), answered) };
}

function parseEntries(json: unknown, url: string): RepoEntry[] {
  if (!Array.isArray(json)) throw new HubResponseError(`${url} did not answer a JSON array of files`, url);
  return json.map((e: unknown, i) => {
    const entry = e as { type?: unknown; path?: unknown; size?: unknown; lfs?: { oid?: unknown; size?: unknown } } | null;
    if (!entry || (entry.type !== 'file' && entry.type !== 'directory') || typeof entry.path !== 'string' || entry.path === '') {
      throw new HubResponseError(`${url}: entry ${i} is not {type: "file" | "directory", path, size}`, url);
    }
    // An LFS file's own size is in lfs.size (the Hub repeats it in size; never trust a pointer's size).
    const raw = entry.lfs?.size ?? entry.size;
    const size = typeof raw === 'number' && Number.isSafeInteger(raw) && raw >= 0 ? raw : undefined;
    const lfs = typeof entry.lfs?.oid === 'string' ? entry.lfs.oid : undefined;
    return { type: entry.type, path: entry.path.replace(/^\/+|\/+$/g, ''), size, ...(lfs ? { lfsSha256: lfs } : {}) };
  });
}

/** The `rel="next"` target of an RFC 8288 Link header, resolved against the page's URL. */
export function nextLink(header: string | null, base: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(/,(?=\s*<)/)) {
    const m = /^\s*<([^>]*)>\s*;(.*)$/.exec(part);
    if (!m) continue;
    const rels = /(?:^|;)\s*rel\s*=\s*(?:"([^"]*)"|([^\s;]+))/i.exec(m[2]!);
    if ((rels?.[1] ?? rels?.[2] ?? '').split(/\s+/).includes('next')) return new URL(m[1]!, base).href;
  }
  return undefined;
}

/** The folders ('' = root) that hold a file named `name`, shallowest first. */
export function foldersHolding(entries: readonly RepoEntry[], name: string): string[] {
  const folders = entries
    .filter((e) => e.type === 'file' && (e.path === name || e.path.endsWith(`/${name}`)))
    .map((e) => e.path.slice(0, e.path.length - name.length).replace(/\/$/, ''));
  return [...new Set(folders)].sort((a, b) => a.split('/').length - b.split('/').length || a.localeCompare(b));
}

/** The repo's folders ('' excluded), from directory entries and file paths alike. */
export function foldersOf(entries: readonly RepoEntry[]): string[] {
  const folders = new Set<string>();
  for (const e of entries) {
    const parts = e.path.split('/');
    const depth = e.type === 'directory' ? parts.length : parts.length - 1;
    for (let i = 1; i <= depth; i++) folders.add(parts.slice(0, i).join('/'));
  }
  return [...folders].sort();
}
