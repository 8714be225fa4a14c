/**
 * What leaves the worker must be plain, well-formed data. The engine is behind a port anything can
 * implement, so its results are copied with the structured-clone algorithm (the copy is what postMessage
 * would send: a function, a symbol or a Proxy fails here, not later as Comlink's untyped "Unserializable
 * return value") and checked field by field. A failure becomes a typed error, and with it a fail-closed
 * verdict.
 */
import { EngineError, ModelLoadError, describeThrown } from '../core/errors.js';
import type { LoadProgress, ModelInfo, Verdict } from '../core/types.js';
import { modelInfoProblem, progressProblem, verdictProblem } from '../core/wire-shapes.js';
import type { Judgement } from './judge.js';

const RATINGS = ['safe', 'unsafe'];

function clone<T>(value: T, what: string, fail: (message: string) => Error): T {
  try {
    return structuredClone(value);
  } catch (error) {
    throw fail(`The engine returned ${what} that cannot cross to the page (${describeThrown(error)}).`);
  }
}

const finiteOrAbsent = (v: unknown) => v === undefined || (typeof v === 'number' && Number.isFinite(v));

function judgementProblem(j: Judgement): string | undefined {
  if (typeof j !== 'object' || j === null) return 'the judgement';
  if (!RATINGS.includes(j.rating)) return 'rating';
  if (!Array.isArray(j.categories)) return 'categories';
  for (const c of j.categories) {
    if (typeof c !== 'object' || c === null || typeof c.name !== 'string' || !(c.code === null || typeof c.code === 'string')) return 'categories';
  }
  if (typeof j.raw !== 'string') return 'raw';
  // The parser names its failures (a growing list, see ParseFailure); any name is a fail-closed verdict.
  if (j.failure !== undefined && !(typeof j.failure === 'string' && j.failure.length > 0 && j.failure.length < 100)) return 'failure';
  if (j.unsafeProbability !== undefined && !(typeof j.unsafeProbability === 'number' && j.unsafeProbability >= 0 && j.unsafeProbability <= 1)) {
    return 'unsafeProbability';
  }
  for (const key of ['prefillMs', 'decodeMs', 'promptTokens', 'completionTokens'] as const) {
    if (!(typeof j[key] === 'number' && Number.isFinite(j[key]) && j[key] >= 0)) return key;
  }
  if (!(j.prefixReused === undefined || typeof j.prefixReused === 'boolean')) return 'prefixReused';
  return undefined;
}

/** A plain, checked copy of a judge's result. Throws `EngineError` naming the bad field. */
export function plainJudgement(judgement: Judgement): Judgement {
  const fail = (message: string) => new EngineError(message);
  const copy = clone(judgement, 'a judgement', fail);
  const problem = judgementProblem(copy);
  if (problem) throw fail(`The engine returned an unusable judgement (${problem}).`);
  return copy;
}

/** A plain, checked copy of what a load reports. Throws `ModelLoadError` naming the bad field. */
export function plainModelInfo(info: ModelInfo): ModelInfo {
  const fail = (message: string) => new ModelLoadError(message);
  const copy = clone(info, 'a load result', fail);
  const problem = modelInfoProblem(copy);
  if (problem) throw fail(`The engine reported an unusable load result (${problem}).`);
  return copy;
}

/** A plain copy of a progress report, or undefined when it is not one (such reports are dropped). */
export function plainProgress(progress: LoadProgress): LoadProgress | undefined {
  try {
    return copyProgress(progress);
  } catch {
    // A report whose getters throw is not a report.
    return undefined;
  }
}

function copyProgress(p: LoadProgress): LoadProgress | undefined {
  if (progressProblem(p)) return undefined;
  return {
    phase: p.phase,
    // Clamped: the page's progress bars promise 0..1.
    progress: Math.min(1, Math.max(0, p.progress)),
    text: p.text,
    ...(finiteOrAbsent(p.loadedBytes) && p.loadedBytes !== undefined ? { loadedBytes: p.loadedBytes } : {}),
    ...(finiteOrAbsent(p.totalBytes) && p.totalBytes !== undefined ? { totalBytes: p.totalBytes } : {}),
  };
}

/** Throws `EngineError` when a verdict about to be sent is malformed (a last check on our own assembly). */
export function assertVerdict(verdict: Verdict): Verdict {
  const problem = verdictProblem(verdict);
  if (problem) throw new EngineError(`The check produced a malformed verdict (${problem}).`);
  return verdict;
}
