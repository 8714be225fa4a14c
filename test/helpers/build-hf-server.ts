/**
 * A local stand-in for the Hugging Face Hub on 127.0.0.1, shaped like the real one (see
 * ../shared/reference/webllm-real-runtime.md §4 and the Hub's API):
 * - `/<owner>/<name>/resolve/<revision>/<path>`: small (git) files answer 200 directly; Git LFS files (per the
 *   repo's .gitattributes) answer 302 to a signed URL on a second server, the "CDN", on another origin,
 *   which refuses a request that also carries an Authorization header (as S3 does) and any bad signature;
 *   Range requests (206 / 416) on both; HEAD as GET without a body; renamed repos answer a relative 307.
 * - `/api/models/<owner>/<name>/tree/<revision>[/<path>]?recursive=true`: the file list, paginated with a
 *   `Link: <...>; rel="next"` header (page size configurable; the Hub's is 1000).
 * - `/api/models/<owner>/<name>`: model info (gated, cardData.license).
 * - Access as the Hub answers it, with `X-Error-Code`: a gated repo is 401 GatedRepo without a token and 403
 *   GatedRepo with a token that has not accepted its licence (its file list stays public); an unknown token is
 *   401; an unknown or private repo is 401 RepoNotFound without a token, 404 with one; 404 RevisionNotFound /
 *   EntryNotFound otherwise.
 * - JSON is gzip-compressed when the client accepts gzip (a compressed Content-Length differs from the file's).
 * - Fault injection: connections cut after N bytes (optionally held open until the test says so), bodies that
 *   end early without a Content-Length, HTML pages, 5xx answers, Range ignored, a captive portal.
 * Every request is recorded.
 */
import { createHash, createHmac } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, relative } from 'node:path';
import { gzipSync } from 'node:zlib';
import type { Progress } from '../../src/model-builder/progress.js';

export interface HubRepo {
  /** Folder whose files the repo holds at revision main. */
  dir: string;
  /** Further revisions: name (branch, tag or commit) -> folder. */
  revisions?: Record<string, string>;
  /** A gated repo: the tokens whose accounts have accepted the licence. */
  gated?: { accepted: string[]; licence?: string };
  /** Shorthand of older tests: gated, accepted by this token. */
  token?: string;
  /** A private repo: the tokens that can read it. */
  private?: string[];
}

export interface FakeHubOptions {
  /** Entries per tree page (the Hub sends 1000). */
  pageSize?: number;
  /** Tokens the Hub knows besides those named by repos (any other is refused with 401). */
  tokens?: string[];
  /** Renamed repos: old id -> current id. */
  renamed?: Record<string, string>;
  /** No tree API at all (a mirror serving only resolve URLs): bare 404s. */
  noTreeApi?: boolean;
}

export interface HubRequest {
  server: 'hub' | 'cdn';
  method: string;
  path: string;
  /** Path with the query string. */
  url: string;
  range: string | undefined;
  authorization: string | undefined;
  acceptEncoding: string | undefined;
  status: number;
}

export interface SentSlice {
  /** First byte sent (the Range start). */
  start: number;
  /** One past the last byte sent. */
  end: number;
}

export interface FakeHub {
  endpoint: string;
  cdnOrigin: string;
  requests: HubRequest[];
  /**
   * Cut the next `times` file responses whose path ends with `file` after `bytes` body bytes. With `hold`,
   * the connection is cut only once the returned promise settles (after the bytes were flushed), so a test can
   * wait until the client has stored them.
   */
  cutAfter(file: string, bytes: number, times?: number, hold?: (sent: SentSlice) => Promise<void>): void;
  /** The next `times` responses for `file` send `bytes` bytes without a Content-Length and end normally. */
  endEarly(file: string, bytes: number, times?: number): void;
  /** The next `times` requests whose path ends with `suffix` answer `status` (with `headers`, e.g. Retry-After). */
  failNext(suffix: string, status: number, times?: number, headers?: Record<string, string>): void;
  /** Requests whose path ends with `suffix` answer 200 with an HTML page (or with `body` of `contentType`). */
  htmlFor(suffix: string, body?: string, contentType?: string): void;
  /** Back to normal behaviour; forgets the recorded requests. */
  reset(): void;
  /** Answer 200 with the whole file even when a Range is asked. */
  ignoreRange: boolean;
  /** Every request answers an HTML login page (a captive portal in front of the network). */
  portal: boolean;
  /** Files whose contents were sent (resolve and CDN GETs answered 200/206), as `<repo>/<path>`. */
  downloads(): string[];
  close(): Promise<void>;
}

const SECRET = 'fake-cdn-secret';
const DEFAULT_LFS = ['*.safetensors', '*.bin', '*.pth', '*.pt'];

interface Fault {
  suffix: string;
  times: number;
}

export async function startFakeHub(repos: Record<string, HubRepo>, options: FakeHubOptions = {}): Promise<FakeHub> {
  const requests: HubRequest[] = [];
  const cuts: Array<Fault & { bytes: number; hold?: (sent: SentSlice) => Promise<void> }> = [];
  const early: Array<Fault & { bytes: number }> = [];
  const failures: Array<Fault & { status: number; headers?: Record<string, string> }> = [];
  const html = new Map<string, { body: string; contentType: string }>();
  const state = { ignoreRange: false, portal: false };
  const pageSize = options.pageSize ?? 1000;
  const accepted = (repo: HubRepo) => repo.gated?.accepted ?? (repo.token ? [repo.token] : undefined);
  const known = new Set([
    ...(options.tokens ?? []),
    ...Object.values(repos).flatMap((r) => [...(accepted(r) ?? []), ...(r.private ?? [])]),
  ]);
  /** sha256 of a file -> the file, for the CDN. */
  const blobs = new Map<string, { full: string; repoPath: string }>();

  const take = <T extends Fault>(list: T[], path: string) => {
    const f = list.find((c) => c.times > 0 && path.endsWith(c.suffix));
    if (f) f.times--;
    return f;
  };

  const record = (server: 'hub' | 'cdn', req: IncomingMessage): HubRequest => {
    const url = new URL(req.url ?? '/', 'http://x');
    const r: HubRequest = {
      server,
      method: req.method ?? 'GET',
      path: decodeURIComponent(url.pathname),
      url: req.url ?? '/',
      range: req.headers.range,
      authorization: req.headers.authorization,
      acceptEncoding: req.headers['accept-encoding'] as string | undefined,
      status: 0,
    };
    requests.push(r);
    return r;
  };

  const answer = (res: ServerResponse, r: HubRequest, status: number, body = '', headers: Record<string, string> = {}) => {
    r.status = status;
    res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', ...headers });
    res.end(r.method === 'HEAD' ? undefined : body);
  };
  const hubError = (res: ServerResponse, r: HubRequest, status: number, code: string | undefined, message: string) =>
    answer(res, r, status, JSON.stringify({ error: message }), {
      'content-type': 'application/json; charset=utf-8',
      'x-error-message': message,
      ...(code ? { 'x-error-code': code } : {}),
    });

  /** The Hub's access rules; returns true when the request was answered (refused). */
  const refuse = (req: IncomingMessage, res: ServerResponse, r: HubRequest, id: string, repo: HubRepo | undefined, forFiles: boolean): boolean => {
    const auth = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
    if (auth !== undefined && !known.has(auth)) {
      hubError(res, r, 401, undefined, 'Invalid credentials in Authorization header');
      return true;
    }
    if (!repo || (repo.private && !repo.private.includes(auth ?? ''))) {
      hubError(res, r, auth ? 404 : 401, 'RepoNotFound', 'Repository not found');
      return true;
    }
    const gate = accepted(repo);
    if (forFiles && gate && !gate.includes(auth ?? '')) {
      if (auth === undefined) {
        hubError(res, r, 401, 'GatedRepo', `Access to model ${id} is restricted. You must have access to it and be authenticated to access it. Please log in.`);
      } else {
        hubError(res, r, 403, 'GatedRepo', `Access to model ${id} is restricted and you are not in the authorized list. Visit ${endpoint}/${id} to ask for access.`);
      }
      return true;
    }
    return false;
  };

  const repoDir = (repo: HubRepo, revision: string) => (revision === 'main' ? repo.dir : repo.revisions?.[revision]);

  const isLfs = (dir: string, path: string) => {
    const attributes = join(dir, '.gitattributes');
    const patterns = existsSync(attributes)
      ? readFileSync(attributes, 'utf8')
          .split('\n')
          .filter((l) => /filter=lfs/.test(l))
          .map((l) => l.trim().split(/\s+/)[0]!)
      : DEFAULT_LFS;
    const name = path.split('/').at(-1)!;
    return patterns.some((p) => (p.startsWith('*') ? name.endsWith(p.slice(1)) : p === path || p === name));
  };

  const walk = (dir: string, rel = ''): Array<{ type: 'file' | 'directory'; path: string; full: string }> =>
    readdirSync(join(dir, rel), { withFileTypes: true })
      .sort((a, b) => a.name.localeCompare(b.name))
      .flatMap((e) => {
        const path = rel ? `${rel}/${e.name}` : e.name;
        if (e.isDirectory()) return [{ type: 'directory' as const, path, full: join(dir, path) }, ...walk(dir, path)];
        return [{ type: 'file' as const, path, full: join(dir, path) }];
      });

  const sha256 = (full: string, repoPath: string) => {
    const hash = createHash('sha256').update(readFileSync(full)).digest('hex');
    blobs.set(hash, { full, repoPath });
    return hash;
  };

  /** Sends a file (or part of it) with Range, faults and gzip handled. */
  const sendFile = (req: IncomingMessage, res: ServerResponse, r: HubRequest, full: string, extra: Record<string, string>, compressible: boolean) => {
    const size = statSync(full).size;
    const fail = take(failures, r.path);
    if (fail) return answer(res, r, fail.status, `error ${fail.status}`, fail.headers);
    const replaced = [...html].find(([suffix]) => r.path.endsWith(suffix))?.[1];
    if (replaced) return answer(res, r, 200, replaced.body, { 'content-type': replaced.contentType });
    let start = 0;
    let status = 200;
    const headers: Record<string, string> = { 'content-type': 'application/octet-stream', 'accept-ranges': 'bytes', etag: '"x"', ...extra };
    const range = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
    if (range && !state.ignoreRange) {
      start = Number(range[1]);
      if (start >= size) return answer(res, r, 416, '', { 'content-range': `bytes */${size}` });
      status = 206;
      headers['content-range'] = `bytes ${start}-${size - 1}/${size}`;
    }
    if (compressible && status === 200 && /gzip/.test(req.headers['accept-encoding'] ?? '')) {
      const body = gzipSync(readFileSync(full));
      r.status = 200;
      res.writeHead(200, { ...headers, 'content-type': 'application/json; charset=utf-8', 'content-encoding': 'gzip', 'content-length': String(body.length) });
      return res.end(r.method === 'HEAD' ? undefined : body);
    }
    const body = readFileSync(full).subarray(start);
    const quiet = r.method === 'GET' ? take(early, r.path) : undefined;
    if (quiet) {
      r.status = status;
      res.writeHead(status, headers); // no Content-Length: chunked, ended early but cleanly
      return res.end(body.subarray(0, quiet.bytes));
    }
    headers['content-length'] = String(body.length);
    r.status = status;
    res.writeHead(status, headers);
    if (r.method === 'HEAD') return res.end();
    const cut = take(cuts, r.path);
    if (cut) {
      const slice = body.subarray(0, cut.bytes);
      res.write(slice, () => {
        void Promise.resolve(cut.hold?.({ start, end: start + slice.length })).then(() => res.socket?.destroy()); // connection lost mid-body
      });
      return;
    }
    res.end(body);
  };

  const portalPage = (res: ServerResponse, r: HubRequest) =>
    answer(res, r, 200, '<!doctype html><html><body><form>Log in to the network</form></body></html>', { 'content-type': 'text/html; charset=utf-8' });

  const hubServer: Server = createServer((req, res) => {
    const r = record('hub', req);
    if (state.portal) return portalPage(res, r);
    const url = new URL(req.url ?? '/', 'http://x');
    const path = url.pathname;
    const api = /^\/api\/models\/([^/]+\/[^/]+)(?:\/tree\/([^/]+)(?:\/(.*))?)?$/.exec(path);
    if (api) {
      const [, id, rawRevision, sub] = api as unknown as [string, string, string | undefined, string | undefined];
      if (rawRevision !== undefined && options.noTreeApi) return answer(res, r, 404, 'Not Found');
      const fail = take(failures, r.path);
      if (fail) return answer(res, r, fail.status, `error ${fail.status}`, fail.headers);
      const repo = repos[id];
      if (refuse(req, res, r, id, repo, false)) return;
      if (rawRevision === undefined) {
        const gate = repo!.gated ?? (repo!.token ? {} : undefined);
        return answer(res, r, 200, JSON.stringify({ id, gated: gate ? 'manual' : false, cardData: { license: repo!.gated?.licence ?? 'other' } }), {
          'content-type': 'application/json; charset=utf-8',
        });
      }
      const revision = decodeURIComponent(rawRevision);
      const dir = repoDir(repo!, revision);
      if (!dir) return hubError(res, r, 404, 'RevisionNotFound', `Invalid rev id: ${revision}`);
      const prefix = sub ? decodeURIComponent(sub).replace(/\/$/, '') : '';
      if (prefix && !existsSync(join(dir, prefix))) return hubError(res, r, 404, 'EntryNotFound', `${prefix} does not exist on "${revision}"`);
      const recursive = url.searchParams.get('recursive') === 'true';
      const all = walk(dir, prefix).filter((e) => recursive || !e.path.slice(prefix ? prefix.length + 1 : 0).includes('/'));
      const offset = Number(Buffer.from(url.searchParams.get('cursor') ?? 'MA==', 'base64').toString()) || 0;
      const page = all.slice(offset, offset + pageSize).map((e) => {
        const size = e.type === 'file' ? statSync(e.full).size : 0;
        const lfs = e.type === 'file' && isLfs(dir, e.path) ? { oid: sha256(e.full, `${id}/${e.path}`), size, pointerSize: 134 } : undefined;
        return { type: e.type, oid: createHash('sha1').update(e.path).digest('hex'), size, path: e.path, ...(lfs ? { lfs } : {}) };
      });
      const headers: Record<string, string> = { 'content-type': 'application/json; charset=utf-8' };
      if (offset + pageSize < all.length) {
        const next = new URL(req.url ?? '/', endpoint);
        next.searchParams.set('cursor', Buffer.from(String(offset + pageSize)).toString('base64'));
        headers.link = `<${next.href}>; rel="next"`;
      }
      return answer(res, r, 200, JSON.stringify(page), headers);
    }
    const m = /^\/([^/]+\/[^/]+)\/resolve\/([^/]+)\/(.+)$/.exec(path);
    if (!m) return answer(res, r, 404, 'Not found');
    const [, id, rawRevision, rawFile] = m as unknown as [string, string, string, string];
    const renamed = options.renamed?.[id];
    if (renamed) return answer(res, r, 307, '', { location: `/${renamed}/resolve/${rawRevision}/${rawFile}` });
    const repo = repos[id];
    if (refuse(req, res, r, id, repo, true)) return;
    const revision = decodeURIComponent(rawRevision);
    const dir = repoDir(repo!, revision);
    if (!dir) return hubError(res, r, 404, 'RevisionNotFound', `Invalid rev id: ${revision}`);
    const file = decodeURIComponent(rawFile);
    const full = join(dir, file);
    if (relative(dir, full).startsWith('..') || !existsSync(full) || !statSync(full).isFile()) {
      return hubError(res, r, 404, 'EntryNotFound', `${file} does not exist on "${revision}"`);
    }
    if (isLfs(dir, file)) {
      // An access check (HEAD) stops here, at the redirect; a GET's faults are the CDN's.
      const fail = req.method === 'HEAD' ? take(failures, r.path) : undefined;
      if (fail) return answer(res, r, fail.status, `error ${fail.status}`, fail.headers);
      const hash = sha256(full, `${id}/${file}`);
      const size = String(statSync(full).size);
      const sig = createHmac('sha256', SECRET).update(hash).digest('hex');
      return answer(res, r, 302, '', {
        location: `${cdnOrigin}/repos/${hash}?X-Amz-Expires=3600&X-Amz-Signature=${sig}`,
        'x-linked-size': size,
        'x-linked-etag': `"${hash}"`,
      });
    }
    sendFile(req, res, r, full, {}, file.endsWith('.json'));
  });

  const cdnServer: Server = createServer((req, res) => {
    const r = record('cdn', req);
    if (state.portal) return portalPage(res, r);
    const url = new URL(req.url ?? '/', 'http://x');
    const hash = /^\/repos\/([0-9a-f]{64})$/.exec(url.pathname)?.[1];
    const blob = hash ? blobs.get(hash) : undefined;
    if (!hash || !blob) return answer(res, r, 404, '<Error><Code>NoSuchKey</Code></Error>', { 'content-type': 'application/xml' });
    if (req.headers.authorization) {
      return answer(res, r, 400, '<Error><Code>InvalidArgument</Code><Message>Only one auth mechanism allowed</Message></Error>', { 'content-type': 'application/xml' });
    }
    if (url.searchParams.get('X-Amz-Signature') !== createHmac('sha256', SECRET).update(hash).digest('hex')) {
      return answer(res, r, 403, '<Error><Code>SignatureDoesNotMatch</Code></Error>', { 'content-type': 'application/xml' });
    }
    // The CDN path has no file name; record it as /cdn/<repo>/<file> (what faults and downloads() match).
    r.path = `/cdn/${blob.repoPath}`;
    sendFile(req, res, r, blob.full, {}, false);
  });

  await new Promise<void>((done) => hubServer.listen(0, '127.0.0.1', done));
  await new Promise<void>((done) => cdnServer.listen(0, '127.0.0.1', done));
  const endpoint = `http://127.0.0.1:${(hubServer.address() as AddressInfo).port}`;
  const cdnOrigin = `http://127.0.0.1:${(cdnServer.address() as AddressInfo).port}`;

  return {
    endpoint,
    cdnOrigin,
    requests,
    cutAfter: (file, bytes, times = 1, hold) => void cuts.push({ suffix: file, bytes, times, ...(hold ? { hold } : {}) }),
    endEarly: (file, bytes, times = 1) => void early.push({ suffix: file, bytes, times }),
    failNext: (suffix, status, times = 1, headers) => void failures.push({ suffix, status, times, ...(headers ? { headers } : {}) }),
    htmlFor: (suffix, body = '<!doctype html><html><body>Sign in</body></html>', contentType = 'text/html; charset=utf-8') =>
      void html.set(suffix, { body, contentType }),
    reset: () => {
      cuts.length = 0;
      early.length = 0;
      failures.length = 0;
      html.clear();
      state.ignoreRange = false;
      state.portal = false;
      requests.length = 0;
    },
    get ignoreRange() {
      return state.ignoreRange;
    },
    set ignoreRange(v: boolean) {
      state.ignoreRange = v;
    },
    get portal() {
      return state.portal;
    },
    set portal(v: boolean) {
      state.portal = v;
    },
    downloads: () =>
      requests
        .filter((q) => q.method === 'GET' && (q.status === 200 || q.status === 206) && (q.server === 'cdn' || q.path.includes('/resolve/')))
        .map((q) => (q.server === 'cdn' ? q.path.slice('/cdn/'.length) : q.path.slice(1).replace(/\/resolve\/[^/]+\//, '/'))),
    close: () =>
      Promise.all(
        [hubServer, cdnServer].map(
          (s) =>
            new Promise<void>((done) => {
              s.closeAllConnections();
              s.close(() => done());
            }),
        ),
      ).then(() => undefined),
  };
}

/**
 * A Progress that reports what a download has stored: `reached(n)` settles once the current download task
 * has written `n` bytes (counting the bytes a resumed file already had). With `cutAfter(..., hold)` it makes a
 * cut connection deterministic: the server cuts only after the client stored what was sent.
 */
export function downloadProbe(): { progress: Progress; reached(bytes: number): Promise<void> } {
  let stored = 0;
  let waiters: Array<{ bytes: number; resolve: () => void }> = [];
  const settle = () => {
    const ready = waiters.filter((w) => stored >= w.bytes);
    waiters = waiters.filter((w) => stored < w.bytes);
    for (const w of ready) w.resolve();
  };
  return {
    progress: {
      log: () => undefined,
      task: () => {
        stored = 0;
        return {
          advance: (n) => {
            stored += n;
            settle();
          },
          done: () => undefined,
        };
      },
    },
    reached: (bytes) => new Promise<void>((resolve) => {
      waiters.push({ bytes, resolve });
      settle();
    }),
  };
}
