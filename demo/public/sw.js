/**
 * The demo's service worker: makes the page load without a network after one online visit.
 *
 * - App shell: on install it caches every file listed in app-shell.json (written by the demo build) plus the
 *   page itself. Page, scripts, styles and workers are then served network-first with the cache as the
 *   fallback (and the cache refreshed on every successful fetch, which also covers the dev server, where no
 *   app-shell.json exists).
 * - Model files are not touched: WebLLM keeps those in its own Cache Storage scopes (webllm/config,
 *   webllm/wasm, webllm/model) and reads them from there offline.
 * - Except `local-models/…`: a model folder picked in the page is stored in those scopes under these
 *   URLs, which exist on no server. Requests for them (WebLLM fetches a "localhost" model library with plain
 *   fetch) are answered from Cache Storage, or with a real 404.
 */
const SHELL_PREFIX = 'aegis-demo-shell-';
const SCOPE = self.registration.scope;
const CACHED_DESTINATIONS = new Set(['document', 'script', 'style', 'worker', 'sharedworker', 'image', 'font', 'manifest']);

async function readShellList() {
  try {
    const response = await fetch(new URL('app-shell.json', SCOPE), { cache: 'no-store' });
    if (response.ok) return await response.json();
  } catch {
    // Dev server or offline: no list; runtime caching fills the cache instead.
  }
  return { version: 'dev', files: ['./'] };
}

async function shellCacheName() {
  const names = await caches.keys();
  return names.find((name) => name.startsWith(SHELL_PREFIX)) ?? `${SHELL_PREFIX}dev`;
}

self.addEventListener('install', (event) => {
  event.waitUntil(
    (async () => {
      const { version, files } = await readShellList();
      const cache = await caches.open(`${SHELL_PREFIX}${version}`);
      await cache.addAll(files.map((file) => new URL(file, SCOPE).href));
      await self.skipWaiting();
    })(),
  );
});

self.addEventListener('activate', (event) => {
  event.waitUntil(
    (async () => {
      // Keep only the newest shell (install opened it last, so it is the last shell name listed).
      const shells = (await caches.keys()).filter((name) => name.startsWith(SHELL_PREFIX));
      await Promise.all(shells.slice(0, -1).map((name) => caches.delete(name)));
      await self.clients.claim();
    })(),
  );
});

async function fromModelCaches(request) {
  const hit = await caches.match(request.url, { ignoreSearch: true, ignoreVary: true });
  return hit ?? new Response('This model file is not stored in this browser.', { status: 404, headers: { 'content-type': 'text/plain' } });
}

async function networkFirst(request) {
  const cacheName = await shellCacheName();
  try {
    const response = await fetch(request);
    if (response.ok && response.type === 'basic') {
      const cache = await caches.open(cacheName);
      await cache.put(request.mode === 'navigate' ? new URL('./', SCOPE).href : request, response.clone());
    }
    return response;
  } catch (error) {
    const cache = await caches.open(cacheName);
    // ignoreVary: servers answer `Vary: Origin`, and a module script's request carries an Origin header that
    // the request cached at install did not.
    const options = { ignoreVary: true, ignoreSearch: request.mode === 'navigate' };
    const hit = (await cache.match(request, options)) ?? (request.mode === 'navigate' ? await cache.match(new URL('./', SCOPE).href, options) : undefined);
    if (hit) return hit;
    throw error;
  }
}

self.addEventListener('fetch', (event) => {
  const request = event.request;
  if (request.method !== 'GET' || !request.url.startsWith(SCOPE)) return;
  const path = request.url.slice(SCOPE.length);
  if (path.startsWith('local-models/')) {
    event.respondWith(fromModelCaches(request));
    return;
  }
  // Plain fetches (model files, app-shell.json) and range requests go straight to the network.
  if (request.headers.has('range') || !CACHED_DESTINATIONS.has(request.destination)) return;
  event.respondWith(networkFirst(request));
});
