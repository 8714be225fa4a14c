/** Turns judgements and failures into the Verdicts the page receives, applying the request's policy. */
import { describeParseFailure } from './parse.js';
import { decide } from './policy.js';
import { errorToWire, type AegisError } from './errors.js';
import type { ParseFailure, Policy, Rating, Target, TextSpan, Verdict, VerdictTimings, ViolatedCategory } from './types.js';

/** The model's raw answer for one check, before policy. */
export interface ModelJudgement {
  rating: Rating;
  categories: ViolatedCategory[];
  unsafeProbability?: number;
  /** The model's output text as generated. */
  raw: string;
  /** Set when the output could not be read (the rating is then 'unsafe'). */
  failure?: ParseFailure;
  prefillMs: number;
  decodeMs: number;
  promptTokens: number;
  completionTokens: number;
  prefixReused?: boolean;
  /** A long text judged in windows: each window's own answer (see {@link combineWindows}). */
  windows?: WindowJudgement[];
}

/** One window's answer, and the part of the judged text it held (context overlap included). */
export interface WindowJudgement {
  span: TextSpan;
  rating: Rating;
  categories: ViolatedCategory[];
  unsafeProbability?: number;
  failure?: ParseFailure;
}

/** The part of a request a verdict depends on. */
export interface VerdictRequest {
  target: Target;
  policy: Policy;
}

type JudgedAnswer = Pick<ModelJudgement, 'rating' | 'categories' | 'unsafeProbability' | 'failure'>;

/** Whether one answer blocks under `policy` (a failed one blocks unless the policy fails open). */
export function blocks(answer: JudgedAnswer, policy: Policy): boolean {
  return !decide(
    { rating: answer.rating, categories: answer.categories, unsafeProbability: answer.unsafeProbability, failed: answer.failure !== undefined },
    policy,
  );
}

/**
 * Sorted, merged spans (overlapping or touching ones become one). An empty span (the window of an empty
 * reply) marks no text and is left out, so every span reported holds some text.
 */
export function mergeSpans(spans: readonly TextSpan[]): TextSpan[] {
  const sorted = spans.filter((s) => s.end > s.start).sort((a, b) => a.start - b.start || a.end - b.end);
  const out: TextSpan[] = [];
  for (const s of sorted) {
    const last = out.at(-1);
    if (last && s.start <= last.end) last.end = Math.max(last.end, s.end);
    else out.push({ start: s.start, end: s.end });
  }
  return out;
}

function mergeCategories(lists: readonly (readonly ViolatedCategory[])[]): ViolatedCategory[] {
  const seen = new Map<string, ViolatedCategory>();
  for (const list of lists) for (const c of list) if (!seen.has(c.code ?? `name:${c.name}`)) seen.set(c.code ?? `name:${c.name}`, c);
  return [...seen.values()];
}

/**
 * One judgement for a text judged in windows: rated unsafe if any window was, categories merged, P(unsafe)
 * the maximum, times and tokens summed, the first failure kept, `raw` from the first window that blocks
 * under `policy` (else the first window), the prefix counted as reused only if every window reused it. The
 * windows travel along, so the verdict applies the policy to each window on its own.
 */
export function combineWindows(windows: readonly { span: TextSpan; judgement: ModelJudgement }[], policy: Policy): ModelJudgement {
  if (windows.length === 0) throw new RangeError('combineWindows needs one window or more.');
  const judgements = windows.map((w) => w.judgement);
  const probabilities = judgements.flatMap((j) => (j.unsafeProbability === undefined ? [] : [j.unsafeProbability]));
  const failure = judgements.find((j) => j.failure !== undefined)?.failure;
  const reused = judgements.map((j) => j.prefixReused);
  const sum = (pick: (j: ModelJudgement) => number) => judgements.reduce((n, j) => n + pick(j), 0);
  return {
    rating: judgements.some((j) => j.rating === 'unsafe') ? 'unsafe' : 'safe',
    categories: mergeCategories(judgements.map((j) => j.categories)),
    ...(probabilities.length > 0 ? { unsafeProbability: Math.max(...probabilities) } : {}),
    raw: (judgements.find((j) => blocks(j, policy)) ?? judgements[0]!).raw,
    ...(failure ? { failure } : {}),
    prefillMs: sum((j) => j.prefillMs),
    decodeMs: sum((j) => j.decodeMs),
    promptTokens: sum((j) => j.promptTokens),
    completionTokens: sum((j) => j.completionTokens),
    ...(reused.every((r) => r === undefined) ? {} : { prefixReused: reused.every((r) => r === true) }),
    windows: windows.map(({ span, judgement: j }) => ({
      span: { start: span.start, end: span.end },
      rating: j.rating,
      categories: j.categories,
      ...(j.unsafeProbability === undefined ? {} : { unsafeProbability: j.unsafeProbability }),
      ...(j.failure ? { failure: j.failure } : {}),
    })),
  };
}

export function verdictFromJudgement(
  judgement: ModelJudgement,
  request: VerdictRequest,
  timings: Omit<VerdictTimings, 'prefillMs' | 'decodeMs' | 'prefixReused'>,
  fromCache: boolean,
): Verdict {
  const failed = judgement.failure !== undefined;
  const { windows } = judgement;
  // Per window: a window whose categories are all ignored does not make the whole text unsafe.
  const safe = windows ? !windows.some((w) => blocks(w, request.policy)) : !blocks(judgement, request.policy);
  return {
    safe,
    target: request.target,
    rating: judgement.rating,
    categories: judgement.categories,
    source: failed ? 'failure' : fromCache ? 'cache' : 'model',
    ...(judgement.unsafeProbability === undefined ? {} : { unsafeProbability: judgement.unsafeProbability }),
    raw: judgement.raw,
    ...(failed
      ? { failure: { code: `unreadable-output:${judgement.failure}`, message: describeParseFailure(judgement.failure!) } }
      : {}),
    timings: {
      ...timings,
      // A cached answer cost no GPU time now.
      prefillMs: fromCache ? 0 : judgement.prefillMs,
      decodeMs: fromCache ? 0 : judgement.decodeMs,
      ...(judgement.prefixReused === undefined ? {} : { prefixReused: judgement.prefixReused }),
    },
    tokens: fromCache
      ? { prompt: 0, completion: 0 }
      : { prompt: judgement.promptTokens, completion: judgement.completionTokens },
    ...(windows
      ? {
          windows: windows.length,
          unsafeSpans: mergeSpans(windows.filter((w) => w.failure === undefined && blocks(w, request.policy)).map((w) => w.span)),
        }
      : {}),
  };
}

/**
 * A check that could not produce a judgement: blocked unless the policy fails open. A text over the length
 * limit always blocks: it was not judged at all, and padding a message must not be a way past the guard.
 */
export function failureVerdict(
  error: AegisError,
  request: VerdictRequest,
  timings: Omit<VerdictTimings, 'prefillMs' | 'decodeMs'>,
): Verdict {
  const safe = error.code === 'input-too-long' ? false : decide({ rating: 'unsafe', categories: [], failed: true }, request.policy);
  return {
    safe,
    target: request.target,
    rating: 'unsafe',
    categories: [],
    source: 'failure',
    raw: '',
    failure: failureOf(error),
    timings: { ...timings, prefillMs: 0, decodeMs: 0 },
    tokens: { prompt: 0, completion: 0 },
  };
}

/** What a failed check reports: the error's code and message, and its fields (e.g. a ModelLoadError's url). */
function failureOf(error: AegisError): NonNullable<Verdict['failure']> {
  // errorToWire keeps only plain values and never throws, whatever a subclass's details() does.
  const details = errorToWire(error).details ?? {};
  return { code: error.code, message: error.message, ...(Object.keys(details).length > 0 ? { details } : {}) };
}
