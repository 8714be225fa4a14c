/**
 * Puts a GuardService on a Comlink endpoint. This is the only worker module that knows about Comlink.
 *
 * Calls come in over Comlink; events go out as plain notices on the same port (protocol.ts), so no
 * callback proxy (and no MessageChannel) is needed per check, and a check's `started` event is always
 * ahead of its answer. The first notice is the hello: it tells the page that the script loaded and runs.
 */
import * as Comlink from 'comlink';
import type { Engine } from '../engine/engine.js';
import { GuardService, type GuardServiceOptions } from './guard-service.js';
import { NOTICE, PROTOCOL_VERSION, type GuardWorkerApi, type WorkerNotice } from './protocol.js';

/** The port notices go out on: a worker's global scope or a MessagePort. */
export type NoticeEndpoint = Pick<Comlink.Endpoint, 'postMessage'>;

function scriptUrl(): string | undefined {
  const location = (globalThis as { location?: { href?: unknown } }).location;
  return typeof location?.href === 'string' ? location.href : undefined;
}

/**
 * The service's Comlink-facing API object, for workers that expose it themselves (with extra methods, say).
 * Posts the hello on `endpoint` right away.
 */
export function createServiceApi(
  engine: Engine,
  options: GuardServiceOptions = {},
  endpoint: NoticeEndpoint = self as unknown as NoticeEndpoint,
): GuardWorkerApi {
  const service = new GuardService(engine, options);
  const post = (notice: WorkerNotice) => {
    try {
      endpoint.postMessage(notice);
    } catch {
      // Notices are plain data built here; a port that refuses them is already closed.
    }
  };
  void service.listen((event) => post({ [NOTICE]: 'event', event }));
  const url = scriptUrl();
  post({ [NOTICE]: 'hello', version: PROTOCOL_VERSION, ...(url ? { url } : {}) });
  return {
    load: (source) => service.load(source),
    unload: () => service.unload(),
    check: (request) =>
      service.check(request, (event) => post({ [NOTICE]: 'check', id: String((request as { id?: unknown } | null)?.id), event })),
    cancel: (id) => service.cancel(id),
    ping: async () => true,
    clearCache: () => service.clearCache(),
  };
}

/**
 * Serves `engine` to the page over `endpoint` (default: the worker's global scope). `extra` methods are
 * exposed next to the service's (test workers add counters this way).
 */
export function exposeGuardService(
  engine: Engine,
  options: GuardServiceOptions = {},
  endpoint: Comlink.Endpoint = self as unknown as Comlink.Endpoint,
  extra: Record<string, (...args: never[]) => unknown> = {},
): void {
  Comlink.expose({ ...extra, ...createServiceApi(engine, options, endpoint) }, endpoint);
}
