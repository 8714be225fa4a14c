/**
 * A static file server for the consumer-app tests (bundlers' output opened in Chromium): serves one folder,
 * 404 for anything else, with optional extra headers (CORS for a second "CDN" origin).
 */
import { readFileSync } from 'node:fs';
import { type Server, createServer } from 'node:http';
import { extname, join } from 'node:path';

const TYPES: Record<string, string> = { '.js': 'text/javascript', '.html': 'text/html', '.map': 'application/json' };

export interface StaticServer {
  /** `http://127.0.0.1:<port>` */
  origin: string;
  close(): void;
}

export function serveFolder(dir: string, headers: Record<string, string> = {}): Promise<StaticServer> {
  const server: Server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    const file = join(dir, path === '/' ? 'index.html' : decodeURIComponent(path));
    try {
      const body = readFileSync(file);
      res.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream', ...headers });
      res.end(body);
    } catch {
      res.writeHead(404, { 'content-type': 'text/plain', ...headers });
      res.end('not found');
    }
  });
  return new Promise((done) =>
    server.listen(0, '127.0.0.1', () =>
      done({ origin: `http://127.0.0.1:${(server.address() as { port: number }).port}`, close: () => server.close() }),
    ),
  );
}
