/**
 * The evaluation page's script (served by the CLI's local server): builds a guard with the shipped client
 * and worker, runs `evaluate`, and streams every result back to Node so an interrupted run can resume.
 */
import { createGuard } from '../../client/create-guard.js';
import { AegisError } from '../../core/errors.js';
import { evaluate } from '../evaluate.js';
import { PAGE_API, type PageApi, type PageCallbacks, type PageRunConfig, type PageRunOutcome } from './protocol.js';

const callbacks = globalThis as unknown as Partial<PageCallbacks>;

async function run(config: PageRunConfig): Promise<PageRunOutcome> {
  const guard = createGuard({
    model: config.model,
    ...(config.threshold === undefined ? {} : { threshold: config.threshold }),
    ...(config.timeout === undefined ? {} : { timeout: config.timeout }),
    ...(config.workerUrl ? { worker: () => new Worker(config.workerUrl!, { type: 'module' }) } : {}),
  });
  const off = guard.on('progress', (p) => void callbacks.__aegisEvalLoad?.(p));
  try {
    const report = await evaluate(guard, config.items, {
      resume: config.resume,
      compareJson: config.compareJson,
      sets: config.sets,
      run: config.run,
      onResult: (result) => callbacks.__aegisEvalResult?.(result),
      onProgress: ({ last: _last, ...progress }) => void callbacks.__aegisEvalProgress?.(progress),
    });
    return { ok: true, report };
  } catch (error) {
    if (error instanceof AegisError) {
      return { ok: false, error: { name: error.name, code: error.code, message: error.message, details: error.details() } };
    }
    return { ok: false, error: { name: error instanceof Error ? error.name : 'Error', message: error instanceof Error ? error.message : String(error) } };
  } finally {
    off();
    guard.dispose();
  }
}

const api: PageApi = { run };
(globalThis as unknown as Record<string, PageApi>)[PAGE_API] = api;
document.documentElement.dataset.ready = 'true';
