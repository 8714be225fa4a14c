/**
 * The local HTTP server the evaluation page runs on: the package's own modules (TypeScript transpiled on
 * the fly in a source checkout, bare imports rewritten), a model folder and a model library from disk, and
 * generated pages. Real status codes and lengths (WebLLM caches whatever answers 200), bound to 127.0.0.1.
 */
import { createReadStream, existsSync, readFileSync, statSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, join, resolve, sep } from 'node:path';
import { rewriteBareImports, wrapCommonJs } from './module-resolver.js';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.ts': 'text/javascript; charset=utf-8',
  '.json': 'application/json',
  '.wasm': 'application/wasm',
  '.bin': 'application/octet-stream',
  '.css': 'text/css',
  '.csv': 'text/csv',
  '.txt': 'text/plain; charset=utf-8',
};

export interface Mount {
  /** URL prefix ending in `/`, e.g. `/models/aegis/`. */
  prefix: string;
  dir: string;
  /** Serve JavaScript and TypeScript as browser modules (transpile .ts, rewrite bare imports). */
  modules?: boolean;
}

export interface StaticServerOptions {
  mounts: Mount[];
  /** Fixed responses by exact path (pages, JSON). */
  routes?: Record<string, { type: string; body: string }>;
}

export interface StaticServer {
  /** `http://127.0.0.1:<port>` */
  origin: string;
  close(): Promise<void>;
}

/** Resolved package files are served from here: `/@fs/<absolute path>`. */
const FS_PREFIX = '/@fs/';

type Transpile = (source: string, fileName: string) => string;
let transpiler: Promise<Transpile> | undefined;

/** TypeScript's single-file transpiler, loaded only when a .ts file is asked for (a source checkout). */
function loadTranspiler(): Promise<Transpile> {
  transpiler ??= import('typescript').then((mod) => {
    const ts = (mod as { default?: typeof import('typescript') }).default ?? (mod as typeof import('typescript'));
    return (source: string, fileName: string) =>
      ts.transpileModule(source, {
        fileName,
        compilerOptions: {
          target: ts.ScriptTarget.ES2022,
          module: ts.ModuleKind.ESNext,
          experimentalDecorators: true,
          useDefineForClassFields: false,
          verbatimModuleSyntax: false,
          sourceMap: false,
          inlineSourceMap: true,
        },
      }).outputText;
  });
  return transpiler;
}

function within(file: string, dir: string): boolean {
  return file === dir || file.startsWith(dir.endsWith(sep) ? dir : dir + sep);
}

const isFile = (p: string) => existsSync(p) && statSync(p).isFile();

export async function startStaticServer(options: StaticServerOptions): Promise<StaticServer> {
  const mounts = options.mounts.map((m) => ({ ...m, dir: resolve(m.dir) }));
  const moduleRoots = mounts.filter((m) => m.modules).map((m) => m.dir);
  const toUrl = (file: string) => `${FS_PREFIX}${file.split(sep).map(encodeURIComponent).join('/').replace(/^\//, '')}`;
  /** Files a rewritten import points at: inside a module mount or any node_modules folder. */
  const allowedModuleFile = (file: string) => moduleRoots.some((d) => within(file, d)) || file.split(sep).includes('node_modules');

  const sendModule = async (res: ServerResponse, file: string, head: boolean) => {
    let source = readFileSync(file, 'utf8');
    if (file.endsWith('.ts')) source = (await loadTranspiler())(source, file);
    else if (file.split(sep).includes('node_modules')) source = wrapCommonJs(source) ?? source;
    source = rewriteBareImports(source, file, toUrl);
    const body = Buffer.from(source);
    res.writeHead(200, { 'content-type': TYPES['.js']!, 'content-length': body.length, 'cache-control': 'no-store' });
    res.end(head ? undefined : body);
  };

  const sendFile = (res: ServerResponse, file: string, head: boolean) => {
    const size = statSync(file).size;
    res.writeHead(200, {
      'content-type': TYPES[extname(file)] ?? 'application/octet-stream',
      'content-length': size,
      'cache-control': 'no-store',
    });
    if (head) res.end();
    else createReadStream(file).pipe(res);
  };

  const notFound = (res: ServerResponse, what: string) => {
    res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' });
    res.end(`not found: ${what}`);
  };

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const head = req.method === 'HEAD';
    if (req.method !== 'GET' && !head) {
      res.writeHead(405).end();
      return;
    }
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const path = decodeURIComponent(url.pathname);
    const route = options.routes?.[path];
    if (route) {
      const body = Buffer.from(route.body);
      res.writeHead(200, { 'content-type': route.type, 'content-length': body.length, 'cache-control': 'no-store' });
      res.end(head ? undefined : body);
      return;
    }
    if (path.startsWith(FS_PREFIX)) {
      const file = resolve(sep, path.slice(FS_PREFIX.length));
      if (!allowedModuleFile(file) || !isFile(file)) return notFound(res, path);
      return /\.(m?js|ts)$/.test(file) ? sendModule(res, file, head) : sendFile(res, file, head);
    }
    const mount = mounts.find((m) => path.startsWith(m.prefix));
    if (!mount) return notFound(res, path);
    let file = resolve(join(mount.dir, path.slice(mount.prefix.length)));
    if (!within(file, mount.dir)) return notFound(res, path);
    if (mount.modules) {
      // Sources import each other as .js; in a source checkout the file on disk is .ts.
      if (!isFile(file) && file.endsWith('.js') && isFile(file.replace(/\.js$/, '.ts'))) file = file.replace(/\.js$/, '.ts');
      if (isFile(file) && /\.(m?js|ts)$/.test(file)) return sendModule(res, file, head);
    }
    if (!isFile(file)) return notFound(res, path);
    sendFile(res, file, head);
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' });
      res.end(`server error: ${error instanceof Error ? error.message : String(error)}`);
    });
  });
  await new Promise<void>((resolveListen, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolveListen());
  });
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((done) => {
        server.closeAllConnections();
        server.close(() => done());
      }),
  };
}
