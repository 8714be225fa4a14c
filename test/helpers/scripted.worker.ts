/** Test worker: the real guard service over the scripted engine, plus a `stats()` method for assertions. */
import * as Comlink from 'comlink';
import { createServiceApi } from '../../src/worker/expose.js';
import { ScriptedEngine } from './scripted-engine.js';

const engine = new ScriptedEngine();
Comlink.expose({ ...createServiceApi(engine), stats: () => engine.stats });
