/**
 * The demo's own Vite config (the root config serves the tests and benchmarks).
 *
 *   npm run demo       builds the demo and serves the build at http://127.0.0.1:5173/demo/ (the shipped form,
 *                      service worker and offline reload included)
 *   npm run demo:dev   the dev server at the same address, with hot reload (offline works after a second load)
 *
 * The build writes `app-shell.json`, the list of every file the page needs, which the service worker
 * (public/sw.js) caches when it installs: after one online visit the page reloads without a network.
 * Missing files answer 404 (appType 'mpa', no index.html fallback): WebLLM would otherwise cache an HTML page
 * as a model file.
 */
import { createHash } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { defineConfig, type Plugin } from 'vite';

const repoRoot = fileURLToPath(new URL('..', import.meta.url));

/** Emits app-shell.json: the build's files, and a version that changes whenever one of them does. */
function appShellManifest(): Plugin {
  return {
    name: 'aegis-demo-app-shell',
    apply: 'build',
    enforce: 'post',
    generateBundle(_options, bundle) {
      const files = Object.keys(bundle).sort();
      const hash = createHash('sha256');
      for (const name of files) {
        const item = bundle[name]!;
        hash.update(name);
        hash.update(item.type === 'chunk' ? item.code : typeof item.source === 'string' ? item.source : Buffer.from(item.source));
      }
      const version = hash.digest('hex').slice(0, 16);
      this.emitFile({ type: 'asset', fileName: 'app-shell.json', source: JSON.stringify({ version, files: ['./', ...files] }, null, 2) });
    },
  };
}

export default defineConfig(({ command, isPreview }) => ({
  root: fileURLToPath(new URL('.', import.meta.url)),
  // Served under /demo/; built with relative URLs so the build works from any folder.
  base: command === 'serve' || isPreview ? '/demo/' : './',
  appType: 'mpa',
  publicDir: 'public',
  plugins: [appShellManifest()],
  server: { host: '127.0.0.1', port: 5173, fs: { allow: [repoRoot] } },
  preview: { host: '127.0.0.1', port: 5173 },
  optimizeDeps: { include: ['lit', 'lit/decorators.js', 'comlink', '@mlc-ai/web-llm'] },
  worker: { format: 'es' },
  build: {
    outDir: fileURLToPath(new URL('../dist-demo', import.meta.url)),
    emptyOutDir: true,
    target: 'es2022',
    // WebLLM alone is ~6 MB; it is loaded only inside the guard's worker.
    chunkSizeWarningLimit: 8000,
    // The demo, and the evaluation page (eval.html) for people without Node.
    rollupOptions: { input: { index: fileURLToPath(new URL('index.html', import.meta.url)), eval: fileURLToPath(new URL('eval.html', import.meta.url)) } },
  },
}));
