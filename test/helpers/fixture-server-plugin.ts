/**
 * Vite plugin that serves test fixtures and the test tokenizer with honest HTTP semantics.
 *
 * Vite's dev server answers unknown paths with index.html and status 200; WebLLM caches such an answer as
 * if it were the artifact (internals notes §3.7). Model-loading tests need real 404s, real content types and
 * byte-exact bodies, so these prefixes bypass Vite entirely:
 *   /__fixtures/<path>                      -> test/fixtures/<path>
 *   /__tokenizer/llama-3.1/tokenizer.json   -> the Llama-3.1 tokenizer from node_modules, with Llama 3.1's
 *                                              special-token names (test/helpers/llama31-tokenizer.ts)
 * A path containing `/__status/<code>/` answers with that status (for fault tests). Nothing here reads outside
 * the project, so a plain clone serves everything the tests need.
 */
import { createReadStream, existsSync, statSync } from 'node:fs';
import { extname, join, resolve, sep } from 'node:path';
import type { Plugin } from 'vite';
import { llama31TokenizerJson } from './llama31-tokenizer.js';

/** Where browser tests fetch the tokenizer from. */
export const TOKENIZER_URL_PATH = '/__tokenizer/llama-3.1/tokenizer.json';

const TYPES: Record<string, string> = {
  '.json': 'application/json',
  '.wasm': 'application/wasm',
  '.bin': 'application/octet-stream',
  '.model': 'application/octet-stream',
  '.csv': 'text/csv',
  '.gz': 'application/gzip',
  '.txt': 'text/plain',
};

export function fixtureServer(roots: { fixtures: string }): Plugin {
  const mounts: Array<[string, string]> = [['/__fixtures/', resolve(roots.fixtures)]];
  return {
    name: 'aegis-fixture-server',
    configureServer(server) {
      server.middlewares.use((req, res, next) => {
        const url = new URL(req.url ?? '/', 'http://x');
        if (url.pathname === TOKENIZER_URL_PATH) {
          const body = llama31TokenizerJson();
          res.statusCode = 200;
          res.setHeader('content-type', 'application/json');
          res.setHeader('content-length', String(body.byteLength));
          res.setHeader('cache-control', 'no-store');
          res.end(body);
          return;
        }
        const mount = mounts.find(([prefix]) => url.pathname.startsWith(prefix));
        if (!mount) return next();
        const forced = /\/__status\/(\d{3})\//.exec(url.pathname);
        if (forced) {
          res.statusCode = Number(forced[1]);
          res.end(`forced status ${forced[1]}`);
          return;
        }
        const [prefix, dir] = mount;
        const file = resolve(join(dir, decodeURIComponent(url.pathname.slice(prefix.length))));
        if ((file !== dir && !file.startsWith(dir + sep)) || !existsSync(file) || !statSync(file).isFile()) {
          res.statusCode = 404;
          res.setHeader('content-type', 'text/plain');
          res.end('not found');
          return;
        }
        res.statusCode = 200;
        res.setHeader('content-type', TYPES[extname(file)] ?? 'application/octet-stream');
        res.setHeader('content-length', String(statSync(file).size));
        res.setHeader('cache-control', 'no-store');
        createReadStream(file).pipe(res);
      });
    },
  };
}
