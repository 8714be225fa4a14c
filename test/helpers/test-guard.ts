/**
 * Builds real guards (real client, real worker, real Comlink, real queue) over the scripted engine.
 * `stats()` reads the scripted engine's counters from inside the worker; `release()` lets the checks held by
 * `[[hold]]` markers there go on.
 */
import * as Comlink from 'comlink';
import { createGuard } from '../../src/client/create-guard.js';
import type { Guard, GuardOptions } from '../../src/client/types.js';
import type { ScriptedEngineStats } from './scripted-engine.js';

export interface TestGuard {
  guard: Guard;
  /** Every worker created so far (a crash creates a new one). */
  workers: Worker[];
  stats(): Promise<ScriptedEngineStats>;
  release(): Promise<void>;
}

interface ScriptedWorkerApi {
  stats(): ScriptedEngineStats;
  release(): void;
}

export function scriptedWorker(): Worker {
  return new Worker(new URL('./scripted.worker.ts', import.meta.url), { type: 'module' });
}

/** A guard over the scripted engine. Default model URL: a fixture path that loads instantly. */
export function createTestGuard(options: GuardOptions = {}): TestGuard {
  const workers: Worker[] = [];
  const guard = createGuard({
    model: '/__fixtures/scripted-model/',
    ...options,
    worker: () => {
      const worker = scriptedWorker();
      workers.push(worker);
      return worker;
    },
  });
  return {
    guard,
    workers,
    stats: () => Comlink.wrap<ScriptedWorkerApi>(workers.at(-1)!).stats(),
    release: () => Comlink.wrap<ScriptedWorkerApi>(workers.at(-1)!).release(),
  };
}
