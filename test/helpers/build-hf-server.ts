/**
 * A local stand-in for the Hugging Face hub on 127.0.0.1: `/<owner>/<name>/resolve/<revision>/<path>`
 * serves files of registered folders, with Range requests (206 / 416), gated repos (401 without the right
 * bearer token), an optional 302 to a "CDN" path as the real hub does, and fault injection (connections cut
 * after N bytes) for the resume tests. Every request is recorded.
 */
import { createReadStream, existsSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';

export interface HubRepo {
  dir: string;
  /** Requires `authorization: Bearer <token>`. */
  token?: string;
}

export interface HubRequest {
  path: string;
  range: string | undefined;
  authorization: string | undefined;
  status: number;
}

export interface FakeHub {
  endpoint: string;
  requests: HubRequest[];
  /** Cut the next `times` responses for `file` (a path suffix) after `bytes` body bytes. */
  cutAfter(file: string, bytes: number, times?: number): void;
  /** Back to normal behaviour (no cuts, Range honoured, no redirect). */
  reset(): void;
  /** Answer 200 with the whole file even when a Range is asked. */
  ignoreRange: boolean;
  /** Answer resolve URLs with a 302 to /cdn/... first. */
  redirect: boolean;
  close(): Promise<void>;
}

export async function startFakeHub(repos: Record<string, HubRepo>): Promise<FakeHub> {
  const requests: HubRequest[] = [];
  const cuts: Array<{ file: string; bytes: number; times: number }> = [];
  const state = { ignoreRange: false, redirect: false };
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const record: HubRequest = { path: url.pathname, range: req.headers.range, authorization: req.headers.authorization, status: 0 };
    requests.push(record);
    const answer = (status: number, body = '', headers: Record<string, string> = {}) => {
      record.status = status;
      res.writeHead(status, { 'content-type': 'text/plain', ...headers });
      res.end(body);
    };
    const cdn = url.pathname.startsWith('/cdn/');
    const path = cdn ? url.pathname.slice(4) : url.pathname;
    const m = /^\/([^/]+\/[^/]+)\/resolve\/([^/]+)\/(.+)$/.exec(path);
    if (!m) return answer(404, 'Not found');
    const [, repoId, , file] = m as unknown as [string, string, string, string];
    const repo = repos[repoId];
    if (!repo) return answer(401, 'Repository not found'); // the hub answers 401 for unknown or private repos
    if (repo.token && req.headers.authorization !== `Bearer ${repo.token}` && !cdn) {
      return answer(401, 'Access to this model is restricted');
    }
    const full = join(repo.dir, decodeURIComponent(file));
    if (!existsSync(full) || !statSync(full).isFile()) return answer(404, 'Entry not found', { 'x-error-code': 'EntryNotFound' });
    if (state.redirect && !cdn) return answer(302, '', { location: `/cdn${url.pathname}` });
    const size = statSync(full).size;
    let start = 0;
    let status = 200;
    const headers: Record<string, string> = { 'content-type': 'application/octet-stream', 'accept-ranges': 'bytes', etag: '"x"' };
    const range = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
    if (range && !state.ignoreRange) {
      start = Number(range[1]);
      if (start >= size) return answer(416, '', { 'content-range': `bytes */${size}` });
      status = 206;
      headers['content-range'] = `bytes ${start}-${size - 1}/${size}`;
    }
    headers['content-length'] = String(size - start);
    record.status = status;
    res.writeHead(status, headers);
    const cut = cuts.find((c) => c.times > 0 && full.endsWith(c.file));
    if (cut) {
      cut.times--;
      const stream = createReadStream(full, { start, end: Math.min(size, start + cut.bytes) - 1 });
      stream.on('data', (chunk) => res.write(chunk));
      stream.on('end', () => res.socket?.destroy()); // connection lost mid-body
      return;
    }
    createReadStream(full, { start }).pipe(res);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    requests,
    cutAfter: (file, bytes, times = 1) => void cuts.push({ file, bytes, times }),
    reset: () => {
      cuts.length = 0;
      state.ignoreRange = false;
      state.redirect = false;
      requests.length = 0;
    },
    get ignoreRange() {
      return state.ignoreRange;
    },
    set ignoreRange(v: boolean) {
      state.ignoreRange = v;
    },
    get redirect() {
      return state.redirect;
    },
    set redirect(v: boolean) {
      state.redirect = v;
    },
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
