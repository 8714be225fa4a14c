/**
 * Test worker: the real guard service over the scripted engine, plus `stats()` for assertions and
 * `release()` to let checks held by `[[hold]]` markers go on.
 */
import * as Comlink from 'comlink';
import { createServiceApi } from '../../src/worker/expose.js';
import { ScriptedEngine } from './scripted-engine.js';

const engine = new ScriptedEngine();
Comlink.expose({ ...createServiceApi(engine), stats: () => engine.stats, release: () => engine.release() });
