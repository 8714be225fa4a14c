/** Test worker: the real guard service over the answer-key engine; `plant(key)` and `stats()` for tests. */
import * as Comlink from 'comlink';
import { createServiceApi } from '../../src/worker/expose.js';
import { AnswerKeyEngine, type AnswerKey } from './answer-key-engine.js';

const engine = new AnswerKeyEngine();
Comlink.expose({ ...createServiceApi(engine), stats: () => engine.stats, plant: (key: AnswerKey) => engine.plant(key) });
