/**
 * Shape checks for what crosses the worker boundary. Both sides run them: the worker before it answers (an
 * engine can hand back anything), the page when it receives (a worker can send anything). Each check names
 * the first field that is wrong, or returns undefined when the value is well formed. Extra fields are
 * allowed, so a newer worker can add some without breaking an older page.
 */

import type { TextSpan } from './types.js';

type Problem = string | undefined;

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isFiniteNumber = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
const isCount = (v: unknown): boolean => isFiniteNumber(v) && v >= 0;

/** A `TextSpan`: whole UTF-16 offsets with 0 <= start < end (a span is never empty). */
export function isTextSpan(v: unknown): v is TextSpan {
  if (!isObject(v) || !Number.isSafeInteger(v.start) || !Number.isSafeInteger(v.end)) return false;
  return (v.start as number) >= 0 && (v.start as number) < (v.end as number);
}

function firstProblem(checks: Array<[boolean, string]>): Problem {
  for (const [ok, field] of checks) if (!ok) return field;
  return undefined;
}

/** A `Verdict` (see core/types.ts). */
export function verdictProblem(v: unknown): Problem {
  if (!isObject(v)) return 'verdict';
  const problem = firstProblem([
    [typeof v.safe === 'boolean', 'safe'],
    [v.target === 'prompt' || v.target === 'response', 'target'],
    [v.rating === 'safe' || v.rating === 'unsafe', 'rating'],
    [v.source === 'model' || v.source === 'cache' || v.source === 'failure', 'source'],
    [typeof v.raw === 'string', 'raw'],
    [v.unsafeProbability === undefined || (isFiniteNumber(v.unsafeProbability) && v.unsafeProbability >= 0 && v.unsafeProbability <= 1), 'unsafeProbability'],
    [Array.isArray(v.categories), 'categories'],
    [v.failure === undefined || failureProblem(v.failure) === undefined, 'failure'],
    [isObject(v.timings), 'timings'],
    [isObject(v.tokens), 'tokens'],
    [v.windows === undefined || (Number.isSafeInteger(v.windows) && (v.windows as number) >= 1), 'windows'],
    [v.unsafeSpans === undefined || (Array.isArray(v.unsafeSpans) && spansAreWellFormed(v.unsafeSpans)), 'unsafeSpans'],
  ]);
  if (problem) return problem;
  for (const c of v.categories as unknown[]) {
    if (!isObject(c) || typeof c.name !== 'string' || !(c.code === null || typeof c.code === 'string')) return 'categories';
  }
  const t = v.timings as Record<string, unknown>;
  for (const key of ['queuedMs', 'prefillMs', 'decodeMs', 'totalMs']) if (!isFiniteNumber(t[key])) return `timings.${key}`;
  if (!(t.prefixReused === undefined || typeof t.prefixReused === 'boolean')) return 'timings.prefixReused';
  const k = v.tokens as Record<string, unknown>;
  if (!isCount(k.prompt) || !isCount(k.completion)) return 'tokens';
  return undefined;
}

function spansAreWellFormed(spans: unknown[]): boolean {
  // By index, so a hole in a sparse array counts as a missing span.
  for (let i = 0; i < spans.length; i++) if (!isTextSpan(spans[i])) return false;
  return true;
}

function failureProblem(f: unknown): Problem {
  if (!isObject(f)) return 'failure';
  return firstProblem([
    [typeof f.code === 'string', 'failure.code'],
    [typeof f.message === 'string', 'failure.message'],
    [f.details === undefined || isObject(f.details), 'failure.details'],
  ]);
}

/** A `ModelInfo`. */
export function modelInfoProblem(v: unknown): Problem {
  if (!isObject(v)) return 'model info';
  return firstProblem([
    [typeof v.modelId === 'string', 'modelId'],
    [typeof v.variant === 'string', 'variant'],
    [typeof v.weightsUrl === 'string', 'weightsUrl'],
    [typeof v.modelLibUrl === 'string', 'modelLibUrl'],
    [isFiniteNumber(v.contextWindow) && v.contextWindow > 0, 'contextWindow'],
    [isObject(v.gpu), 'gpu'],
    [typeof v.fastPath === 'boolean', 'fastPath'],
    [typeof v.prefixReuse === 'boolean', 'prefixReuse'],
    // The code stays a string (not the known list), so a newer worker's reason still reaches an older page.
    [v.fastPathOff === undefined || fastPathOffIsWellFormed(v.fastPathOff), 'fastPathOff'],
    [isFiniteNumber(v.loadMs), 'loadMs'],
  ]);
}

function fastPathOffIsWellFormed(v: unknown): boolean {
  return isObject(v) && typeof v.code === 'string' && typeof v.message === 'string';
}

const PHASES = ['preflight', 'fetching', 'loading', 'compiling', 'ready'];

/** A `LoadProgress`. */
export function progressProblem(v: unknown): Problem {
  if (!isObject(v)) return 'progress';
  return firstProblem([
    [typeof v.phase === 'string' && PHASES.includes(v.phase), 'phase'],
    [isFiniteNumber(v.progress), 'progress'],
    [typeof v.text === 'string', 'text'],
    [v.loadedBytes === undefined || isCount(v.loadedBytes), 'loadedBytes'],
    [v.totalBytes === undefined || isCount(v.totalBytes), 'totalBytes'],
  ]);
}

/** A `Decision`. */
export function decisionProblem(v: unknown): Problem {
  if (!isObject(v)) return 'decision';
  return firstProblem([
    [v.target === 'prompt' || v.target === 'response', 'target'],
    [v.rating === 'safe' || v.rating === 'unsafe', 'rating'],
    [v.unsafeProbability === undefined || (isFiniteNumber(v.unsafeProbability) && v.unsafeProbability >= 0 && v.unsafeProbability <= 1), 'unsafeProbability'],
  ]);
}

/** A `WireError`. */
export function wireErrorProblem(v: unknown): Problem {
  if (!isObject(v)) return 'error';
  return firstProblem([
    [typeof v.name === 'string', 'error.name'],
    [typeof v.message === 'string', 'error.message'],
    [v.details === undefined || isObject(v.details), 'error.details'],
    [v.stack === undefined || typeof v.stack === 'string', 'error.stack'],
  ]);
}

/** A `Result<T>` whose value passes `valueProblem`. */
export function resultProblem(v: unknown, valueProblem: (value: unknown) => Problem): Problem {
  if (!isObject(v) || typeof v.ok !== 'boolean') return 'result';
  return v.ok ? valueProblem(v.value) : wireErrorProblem(v.error);
}
