/**
 * `evaluate(guard, items, options)`: runs labelled items through a guard made with `createGuard()` (the real
 * client, worker, queue and fast path: nothing is called around it) and reports accuracy per set.
 */
import { AegisAbortError, AegisInputError } from '../core/errors.js';
import type { FastPathOff, ModelInfo, Verdict } from '../core/types.js';
import type { Guard, JudgeChoice } from '../client/types.js';
import { setReport } from './set-report.js';
import type { CheckSummary, EvalItem, EvalProgress, EvalReport, EvaluateOptions, ItemResult, RunInfo } from './types.js';
import { WEBLLM_VERSION } from './versions.js';

const DEFAULT_SET = 'default';

const itemKey = (set: string, id: string) => `${set}\u0000${id}`;

/** Throws AegisInputError naming the first bad item. */
export function validateItems(items: readonly EvalItem[]): void {
  if (!Array.isArray(items)) throw new AegisInputError('evaluate() needs an array of items.');
  const seen = new Set<string>();
  items.forEach((item, index) => {
    const where = `Item ${index}${item && typeof item.id === 'string' ? ` ("${item.id}")` : ''}`;
    if (typeof item !== 'object' || item === null) throw new AegisInputError(`${where} is not an object.`);
    if (typeof item.id !== 'string' || item.id === '') throw new AegisInputError(`${where} needs a non-empty string id.`);
    if (item.set !== undefined && (typeof item.set !== 'string' || item.set === '')) throw new AegisInputError(`${where}: set must be a non-empty string.`);
    if (item.target !== 'prompt' && item.target !== 'response') throw new AegisInputError(`${where}: target must be 'prompt' or 'response'.`);
    if (typeof item.prompt !== 'string') throw new AegisInputError(`${where}: prompt must be a string.`);
    if (item.target === 'response' && typeof item.response !== 'string') throw new AegisInputError(`${where}: a response item needs the reply as a string.`);
    if (item.label !== 'safe' && item.label !== 'unsafe') throw new AegisInputError(`${where}: label must be 'safe' or 'unsafe'.`);
    if (item.categories !== undefined && !(Array.isArray(item.categories) && (item.categories as unknown[]).every((c) => typeof c === 'string'))) {
      throw new AegisInputError(`${where}: categories must be an array of category codes.`);
    }
    const key = itemKey(item.set ?? DEFAULT_SET, item.id);
    if (seen.has(key)) throw new AegisInputError(`${where}: the id is used twice in set "${item.set ?? DEFAULT_SET}".`);
    seen.add(key);
  });
}

export function summarizeVerdict(verdict: Verdict): CheckSummary {
  return {
    safe: verdict.safe,
    rating: verdict.rating,
    ...(verdict.unsafeProbability === undefined ? {} : { unsafeProbability: verdict.unsafeProbability }),
    categories: verdict.categories.map((c) => c.code ?? c.name),
    source: verdict.source,
    ...(verdict.failure ? { failure: { code: verdict.failure.code, message: verdict.failure.message } } : {}),
    timings: { ...verdict.timings },
    tokens: { ...verdict.tokens },
  };
}

/** A check rejected for bad input (e.g. an empty reply a set carries): recorded as a failure, the run goes on. */
function inputFailure(error: AegisInputError): CheckSummary {
  return {
    safe: false,
    rating: 'unsafe',
    categories: [],
    source: 'failure',
    failure: { code: error.code, message: error.message },
    timings: { queuedMs: 0, prefillMs: 0, decodeMs: 0, totalMs: 0 },
    tokens: { prompt: 0, completion: 0 },
  };
}

/**
 * Why the fast path (or its prefix reuse) is off, as `ModelInfo.fastPathOff` says (a copy); undefined when it
 * is on. The shape was checked where the info crossed from the worker (core/wire-shapes.ts).
 */
export function fastPathOff(info: ModelInfo): FastPathOff | undefined {
  return info.fastPathOff && { code: info.fastPathOff.code, message: info.fastPathOff.message };
}

function modelFacts(info: ModelInfo): RunInfo['model'] {
  const reason = fastPathOff(info);
  return {
    modelId: info.modelId,
    variant: info.variant,
    weightsUrl: info.weightsUrl,
    modelLibUrl: info.modelLibUrl,
    contextWindow: info.contextWindow,
    fastPath: info.fastPath,
    prefixReuse: info.prefixReuse,
    ...(reason ? { fastPathOff: reason } : {}),
    loadMs: info.loadMs,
    gpu: {
      vendor: info.gpu.vendor,
      architecture: info.gpu.architecture,
      description: info.gpu.description,
      isFallbackAdapter: info.gpu.isFallbackAdapter,
      shaderF16: info.gpu.shaderF16,
    },
  };
}

/**
 * Runs `items` through `guard` and returns the report. Rejects with the load error when the model cannot be
 * loaded, `AegisInputError` for malformed items, and `AegisAbortError` when `options.signal` aborts (results
 * already delivered through `onResult` are what a later run resumes from).
 */
export async function evaluate(guard: Guard, items: readonly EvalItem[], options: EvaluateOptions = {}): Promise<EvalReport> {
  validateItems(items);
  const concurrency = options.concurrency ?? 1;
  if (!(Number.isInteger(concurrency) && concurrency >= 1)) throw new AegisInputError('concurrency must be a positive integer.');
  if (options.sweep !== undefined && !(Array.isArray(options.sweep) && options.sweep.every((t) => typeof t === 'number' && t >= 0 && t <= 1))) {
    throw new AegisInputError('sweep must be an array of thresholds from 0 to 1.');
  }
  options.signal?.throwIfAborted();
  const startedAt = new Date();
  const info = await guard.ready;
  const compare = options.compareJson === true && info.fastPath;
  const comparisonSkipped =
    options.compareJson && !info.fastPath
      ? `The model has no fast path${info.fastPathOff ? ` (${info.fastPathOff.message})` : ''}: only the JSON path ran.`
      : undefined;

  const saved = new Map<string, ItemResult>();
  for (const r of options.resume ?? []) saved.set(itemKey(r.set, r.id), r);
  const results: Array<ItemResult | undefined> = items.map((item) => {
    const r = saved.get(itemKey(item.set ?? DEFAULT_SET, item.id));
    if (!r || r.target !== item.target || r.label !== item.label || (compare && !r.json)) return undefined;
    // The item as given now decides the annotated categories; a JSON check is kept only when comparing.
    const { json, categories: _saved, ...rest } = r;
    return { ...rest, ...(item.categories ? { categories: item.categories } : {}), ...(compare ? { json } : {}) };
  });
  const resumed = results.filter(Boolean).length;
  const pending = items.map((_, i) => i).filter((i) => !results[i]);

  const controller = new AbortController();
  const onAbort = () => controller.abort(options.signal?.reason);
  options.signal?.addEventListener('abort', onAbort, { once: true });
  const signal = controller.signal;

  const runStarted = performance.now();
  let checkedHere = 0;
  let failures = results.filter((r) => r?.check.source === 'failure').length;
  const progress = (last?: ItemResult) => {
    const elapsedMs = performance.now() - runStarted;
    const done = resumed + checkedHere;
    const p: EvalProgress = {
      done,
      total: items.length,
      resumed,
      failures,
      elapsedMs,
      ...(checkedHere > 0 ? { etaMs: (elapsedMs / checkedHere) * (items.length - done) } : {}),
      ...(last ? { last } : {}),
    };
    try {
      options.onProgress?.(p);
    } catch {
      // A progress display failing must not stop the run.
    }
  };

  const check = async (item: EvalItem, judge: JudgeChoice): Promise<CheckSummary> => {
    try {
      const checkOptions = { signal, judge };
      const verdict =
        item.target === 'prompt'
          ? await guard.checkPrompt(item.prompt, checkOptions)
          : await guard.checkResponse(item.prompt, item.response!, checkOptions);
      return summarizeVerdict(verdict);
    } catch (error) {
      if (error instanceof AegisInputError) return inputFailure(error);
      throw error;
    }
  };

  progress();
  let next = 0;
  const lane = async () => {
    while (next < pending.length) {
      signal.throwIfAborted();
      const index = pending[next++]!;
      const item = items[index]!;
      const primary = await check(item, compare ? 'fast' : 'auto');
      const json = compare ? await check(item, 'json') : undefined;
      signal.throwIfAborted();
      const result: ItemResult = {
        id: item.id,
        set: item.set ?? DEFAULT_SET,
        target: item.target,
        label: item.label,
        ...(item.categories ? { categories: item.categories } : {}),
        check: primary,
        ...(json ? { json } : {}),
      };
      results[index] = result;
      checkedHere++;
      if (primary.source === 'failure') failures++;
      await options.onResult?.(result);
      progress(result);
    }
  };
  try {
    await Promise.all(
      Array.from({ length: Math.min(concurrency, Math.max(1, pending.length)) }, () =>
        lane().catch((error: unknown) => {
          controller.abort(error);
          throw error;
        }),
      ),
    );
  } catch (error) {
    if (options.signal?.aborted) {
      throw options.signal.reason instanceof AegisAbortError ? options.signal.reason : new AegisAbortError('The evaluation was cancelled.');
    }
    throw error;
  } finally {
    options.signal?.removeEventListener('abort', onAbort);
  }

  const finished = results as ItemResult[];
  const bySet = new Map<string, ItemResult[]>();
  for (const r of finished) {
    let list = bySet.get(r.set);
    if (!list) bySet.set(r.set, (list = []));
    list.push(r);
  }
  const finishedAt = new Date();
  return {
    schema: 'aegis-guard/eval-report/1',
    run: {
      ...options.run,
      startedAt: startedAt.toISOString(),
      finishedAt: finishedAt.toISOString(),
      durationMs: performance.now() - runStarted,
      model: modelFacts(info),
      webllmVersion: WEBLLM_VERSION,
      aegisGuardVersion: typeof options.run?.aegisGuardVersion === 'string' ? options.run.aegisGuardVersion : 'unknown',
      ...(globalThis.navigator?.userAgent ? { userAgent: globalThis.navigator.userAgent } : {}),
      compareJson: compare,
      resumed,
    },
    sets: [...bySet].map(([set, list]) =>
      setReport(set, list, {
        info: options.sets?.[set],
        sweep: options.sweep,
        ...(comparisonSkipped ? { comparisonSkipped } : {}),
      }),
    ),
  };
}
