/**
 * Test worker: the real guard service over the answer-key engine; `plant(key)` and `stats()` for tests.
 * With `?no-fast-path-reason` in its URL, the ModelInfo it reports loses `fastPathOff`: a runtime that turns
 * the fast path off without saying why (what smoke:real must refuse).
 */
import * as Comlink from 'comlink';
import type { ModelSource } from '../../src/worker/protocol.js';
import { createServiceApi } from '../../src/worker/expose.js';
import { AnswerKeyEngine, type AnswerKey } from './answer-key-engine.js';

const engine = new AnswerKeyEngine();
const api = createServiceApi(engine);
const silent = new URL(self.location.href).searchParams.has('no-fast-path-reason');
const load = async (source: ModelSource) => {
  const result = await api.load(source);
  if (silent && result.ok) delete (result.value as { fastPathOff?: unknown }).fastPathOff;
  return result;
};
Comlink.expose({ ...api, load, stats: () => engine.stats, plant: (key: AnswerKey) => engine.plant(key) });
