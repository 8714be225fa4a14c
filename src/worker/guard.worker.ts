/**
 * The default worker: the guard service over WebLLM. WebLLM is imported here and nowhere on the main thread.
 * Apps that bundle their own worker can import this module (`aegis-guard/worker`) from it.
 */
import { WebLLMEngine } from '../engine/webllm-engine.js';
import { exposeGuardService } from './expose.js';

exposeGuardService(new WebLLMEngine());
