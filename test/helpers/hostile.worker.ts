/**
 * Hostile test worker: the real guard service over the hostile engine (hostile-engine.ts), or a worker that
 * misbehaves itself. Configured through the worker's name (a JSON {@link HostileWorkerConfig}, see
 * hostile-guard.ts), so one script covers every case:
 *   serve               the service, honest at the worker level (the engine may still be hostile)
 *   crash-on-load       throws while its script runs, before any message (like a failed import)
 *   silent              runs, but never says hello and never answers
 *   silent-after-hello  says hello, then never answers anything
 *   old-protocol        says hello with another protocol version
 *   garbage             answers checks with `garbage` (see GarbageKind) instead of the real answer
 */
import * as Comlink from 'comlink';
import { createServiceApi } from '../../src/worker/expose.js';
import { NOTICE } from '../../src/worker/protocol.js';
import { HostileEngine } from './hostile-engine.js';

export type WorkerMode = 'serve' | 'crash-on-load' | 'silent' | 'silent-after-hello' | 'old-protocol' | 'garbage';

/**
 * What a garbage-answering worker sends for a check:
 *   bad-type        a Comlink-looking answer with an unknown type
 *   bad-handler     a Comlink answer for a handler the page never uses (would throw inside Comlink)
 *   bad-result      a well-formed Comlink answer whose value is not a Result
 *   bad-verdict     a Result whose verdict is malformed
 *   bad-notice      a malformed notice, then the real answer
 *   stray           messages that are not ours (a string, an unknown id), then the real answer
 *   bad-load        answers load (not checks) with a Result whose model info is malformed
 */
export type GarbageKind = 'bad-type' | 'bad-handler' | 'bad-result' | 'bad-verdict' | 'bad-notice' | 'stray' | 'bad-load';

export interface HostileWorkerConfig {
  mode?: WorkerMode;
  garbage?: GarbageKind;
  /** Passed to the guard service (how long a stuck engine may keep working after its check settled). */
  engineReleaseMs?: number;
}

function readConfig(name: string): HostileWorkerConfig {
  try {
    return JSON.parse(name) as HostileWorkerConfig;
  } catch {
    return {}; // started by name 'aegis-guard' (the worker URL option): serve
  }
}

const config = readConfig(self.name);
const mode = config.mode ?? 'serve';
const post = (message: unknown) => self.postMessage(message);

if (mode === 'crash-on-load') throw new Error('hostile worker: crashing while the script runs');

if (mode === 'silent-after-hello') post({ [NOTICE]: 'hello', version: 1 });
if (mode === 'old-protocol') post({ [NOTICE]: 'hello', version: 99 });

if (mode === 'serve' || mode === 'garbage') {
  if (mode === 'garbage') {
    // Registered before Comlink's listener, so it can answer first and keep Comlink from answering.
    self.addEventListener('message', (event: MessageEvent) => {
      const data = event.data as { id?: string; type?: string; path?: string[] } | undefined;
      if (data?.type !== 'APPLY' || !data.id) return;
      const { id } = data;
      if (config.garbage === 'bad-load') {
        if (data.path?.[0] !== 'load') return;
        event.stopImmediatePropagation();
        post({ id, type: 'RAW', value: { ok: true, value: { modelId: 42 } } });
        return;
      }
      if (data.path?.[0] !== 'check') return;
      switch (config.garbage) {
        case 'bad-notice':
          post({ [NOTICE]: 'event', event: { type: 'progress', progress: { phase: 'nowhere' } } });
          return;
        case 'stray':
          post('a stray string');
          post({ id: 'not-a-pending-id', type: 'RAW', value: 1 });
          post({ unrelated: true });
          return;
        default:
          break;
      }
      event.stopImmediatePropagation();
      if (config.garbage === 'bad-type') post({ id, type: 'NONSENSE', value: 1 });
      else if (config.garbage === 'bad-handler') post({ id, type: 'HANDLER', name: 'proxy', value: 1 });
      else if (config.garbage === 'bad-result') post({ id, type: 'RAW', value: { ok: 'yes' } });
      else post({ id, type: 'RAW', value: { ok: true, value: { safe: 'sure', target: 'prompt' } } });
    });
  }
  const engine = new HostileEngine();
  const api = createServiceApi(engine, config.engineReleaseMs === undefined ? {} : { engineReleaseMs: config.engineReleaseMs });
  // Counters grow with every check: a soak reads them rarely and can reset them (they are not the guard's).
  const resetStats = () => {
    engine.stats.prompts.length = 0;
  };
  Comlink.expose({ ...api, stats: () => ({ ...engine.stats, hostile: engine.hostile }), resetStats });
}
