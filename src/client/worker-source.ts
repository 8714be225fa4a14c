/**
 * Where the guard's worker comes from, and the URL it is known by (named in `WorkerCrashedError.workerUrl`).
 *
 * The default is the literal `new Worker(new URL('../worker/guard.worker.js', import.meta.url))`: Vite and
 * webpack recognise exactly that form and bundle the worker. Bundlers that do not (esbuild, Rollup) leave
 * it pointing next to the app's bundle, where nothing is served; see README "Bundlers and the worker".
 */
import { AegisInputError } from '../core/errors.js';
import type { GuardOptions } from './types.js';

export interface SpawnedWorker {
  worker: Worker;
  /** The script's URL when known (the worker's hello then gives its real location). */
  url?: string;
}

export type WorkerSpawner = () => SpawnedWorker;

const WORKER_OPTIONS: WorkerOptions = { type: 'module', name: 'aegis-guard' };

/** Kept in a variable so no bundler mistakes it for an asset to copy: it only names the URL in errors. */
const DEFAULT_WORKER_PATH = '../worker/guard.worker.js';

/** Where the unbundled default worker lives: next to this module, as published. */
function defaultWorkerUrl(): string | undefined {
  try {
    // webpackIgnore: webpack would otherwise treat the variable as a context request (a "Critical dependency"
    // warning in every consumer build, and a context module of dist/client/ in the bundle).
    return new URL(/* webpackIgnore: true */ DEFAULT_WORKER_PATH, import.meta.url).href;
  } catch {
    // A bundle without import.meta (an IIFE build) has no location to report.
    return undefined;
  }
}

function pageOrigin(): string | undefined {
  return globalThis.location?.origin;
}

function isCrossOrigin(url: string): boolean {
  const origin = pageOrigin();
  try {
    return origin !== undefined && new URL(url).origin !== origin && !url.startsWith('blob:') && !url.startsWith('data:');
  } catch {
    return false;
  }
}

/**
 * A module worker on another origin (a CDN) cannot be constructed directly (SecurityError). A same-origin
 * `blob:` module that imports it can: the imported script needs CORS, and the page's CSP `worker-src blob:`.
 */
function bootstrapWorker(url: string): Worker {
  const source = `import ${JSON.stringify(url)};\n`;
  const blobUrl = URL.createObjectURL(new Blob([source], { type: 'text/javascript' }));
  try {
    return new Worker(blobUrl, WORKER_OPTIONS);
  } finally {
    // The Worker resolved the blob when it was constructed; the URL itself is no longer needed.
    URL.revokeObjectURL(blobUrl);
  }
}

function workerAt(url: string): Worker {
  return isCrossOrigin(url) ? bootstrapWorker(url) : new Worker(url, WORKER_OPTIONS);
}

function defaultWorker(): SpawnedWorker {
  const url = defaultWorkerUrl();
  try {
    return { worker: new Worker(new URL('../worker/guard.worker.js', import.meta.url), { type: 'module', name: 'aegis-guard' }), url };
  } catch (error) {
    // The library itself was loaded from another origin (a CDN): start the worker through a blob module.
    if (url && isCrossOrigin(url)) return { worker: bootstrapWorker(url), url };
    throw error;
  }
}

/** Turns the `worker` option into a spawner. Throws `AegisInputError` for a value that is none of the forms. */
export function workerSpawner(option: GuardOptions['worker'], base: string): WorkerSpawner {
  if (option === undefined) return defaultWorker;
  if (typeof option === 'string' || option instanceof URL) {
    let url: string;
    try {
      url = new URL(option, base).href;
    } catch {
      throw new AegisInputError(`The worker option is not a valid URL: ${String(option)}`);
    }
    return () => ({ worker: workerAt(url), url });
  }
  if (typeof option === 'function') return () => ({ worker: (option as () => Worker)() });
  if (typeof Worker !== 'undefined' && option instanceof Worker) {
    // A worker instance can be used once; after a crash there is nothing to restart.
    let used = false;
    return () => {
      if (used) throw new Error('the Worker instance passed to createGuard cannot be restarted; pass a URL or a factory instead');
      used = true;
      return { worker: option };
    };
  }
  throw new AegisInputError('The worker option must be a Worker, a function returning one, or the URL of a worker script.');
}
