/**
 * Real guards (real client, Comlink, worker and service) over the hostile worker (hostile.worker.ts). Each
 * worker the guard starts gets its configuration from `config(attempt)`, so a test can make only the first
 * worker misbehave. (hostile-guard-per-test.ts disposes them after each test.)
 */
import * as Comlink from 'comlink';
import { createGuard } from '../../src/client/create-guard.js';
import type { Guard, GuardOptions } from '../../src/client/types.js';
import type { HostileStats } from './hostile-engine.js';
import type { HostileWorkerConfig } from './hostile.worker.js';
import type { ScriptedEngineStats } from './scripted-engine.js';

export interface HostileGuard {
  guard: Guard;
  /** Every worker started so far, in order. */
  workers: Worker[];
  /** Counters of the latest worker's engine. */
  stats(): Promise<ScriptedEngineStats & { hostile: HostileStats }>;
}

export type WorkerConfig = HostileWorkerConfig | ((attempt: number) => HostileWorkerConfig);

export function hostileWorker(config: HostileWorkerConfig = {}): Worker {
  return new Worker(new URL('./hostile.worker.ts', import.meta.url), { type: 'module', name: JSON.stringify(config) });
}

export function createHostileGuard(options: GuardOptions = {}, config: WorkerConfig = {}): HostileGuard {
  const workers: Worker[] = [];
  const configFor = typeof config === 'function' ? config : () => config;
  const guard = createGuard({
    model: '/__fixtures/scripted-model/',
    ...options,
    worker: () => {
      const worker = hostileWorker(configFor(workers.length));
      workers.push(worker);
      return worker;
    },
  });
  return {
    guard,
    workers,
    stats: () => Comlink.wrap<{ stats(): ScriptedEngineStats & { hostile: HostileStats } }>(workers.at(-1)!).stats(),
  };
}
