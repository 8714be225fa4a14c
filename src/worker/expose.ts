/**
 * Puts a GuardService on a Comlink endpoint. This is the only worker module that knows about Comlink: it
 * releases each check's event proxy when the check ends (instead of waiting for garbage collection, which
 * would keep a MessagePort per check alive).
 */
import * as Comlink from 'comlink';
import type { Engine } from '../engine/engine.js';
import { GuardService, type GuardServiceOptions } from './guard-service.js';
import type { GuardServiceApi } from './protocol.js';

type Releasable = { [Comlink.releaseProxy]?: () => void };

function release(proxy: unknown): void {
  (proxy as Releasable | undefined)?.[Comlink.releaseProxy]?.();
}

/** The service's Comlink-facing API object, for workers that expose it themselves. */
export function createServiceApi(engine: Engine, options: GuardServiceOptions = {}): GuardServiceApi {
  const service = new GuardService(engine, options);
  let listener: unknown;
  return {
    async listen(next) {
      release(listener);
      listener = next;
      await service.listen(next);
    },
    load: (source) => service.load(source),
    unload: () => service.unload(),
    async check(request, onEvent) {
      try {
        return await service.check(request, onEvent);
      } finally {
        release(onEvent);
      }
    },
    cancel: (id) => service.cancel(id),
    clearCache: () => service.clearCache(),
  };
}

/** Serves `engine` to the page over `endpoint` (default: the worker's global scope). */
export function exposeGuardService(
  engine: Engine,
  options: GuardServiceOptions = {},
  endpoint: Comlink.Endpoint = self as unknown as Comlink.Endpoint,
): void {
  Comlink.expose(createServiceApi(engine, options), endpoint);
}
