/** Registers the service worker that keeps the app shell for offline reloads (see public/sw.js). */
export async function registerServiceWorker(url = new URL('sw.js', document.baseURI).href): Promise<ServiceWorkerRegistration | undefined> {
  if (!('serviceWorker' in navigator)) return undefined;
  try {
    return await navigator.serviceWorker.register(url, { scope: './' });
  } catch (error) {
    // The page still works online; only offline reloads are lost.
    console.warn('aegis-guard demo: the service worker could not be registered', error);
    return undefined;
  }
}
