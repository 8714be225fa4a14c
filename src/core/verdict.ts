/** Turns judgements and failures into the Verdicts the page receives, applying the request's policy. */
import { decide } from './policy.js';
import { errorToWire, type AegisError } from './errors.js';
import type { ParseFailure, Policy, Rating, Target, Verdict, VerdictTimings, ViolatedCategory } from './types.js';

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
}

/** The part of a request a verdict depends on. */
export interface VerdictRequest {
  target: Target;
  policy: Policy;
}

export function verdictFromJudgement(
  judgement: ModelJudgement,
  request: VerdictRequest,
  timings: Omit<VerdictTimings, 'prefillMs' | 'decodeMs' | 'prefixReused'>,
  fromCache: boolean,
): Verdict {
  const failed = judgement.failure !== undefined;
  const safe = decide(
    {
      rating: judgement.rating,
      categories: judgement.categories,
      unsafeProbability: judgement.unsafeProbability,
      failed,
    },
    request.policy,
  );
  return {
    safe,
    target: request.target,
    rating: judgement.rating,
    categories: judgement.categories,
    source: failed ? 'failure' : fromCache ? 'cache' : 'model',
    ...(judgement.unsafeProbability === undefined ? {} : { unsafeProbability: judgement.unsafeProbability }),
    raw: judgement.raw,
    ...(failed
      ? { failure: { code: `unreadable-output:${judgement.failure}`, message: `The model's answer could not be read (${judgement.failure}).` } }
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
  };
}

/** A check that could not produce a judgement: blocked unless the policy fails open. */
export function failureVerdict(
  error: AegisError,
  request: VerdictRequest,
  timings: Omit<VerdictTimings, 'prefillMs' | 'decodeMs'>,
): Verdict {
  return {
    safe: decide({ rating: 'unsafe', categories: [], failed: true }, request.policy),
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

function failureOf(error: AegisError): NonNullable<Verdict['failure']> {
  // errorToWire keeps only plain values and never throws, whatever a subclass's details() does.
  const details = errorToWire(error).details ?? {};
  return { code: error.code, message: error.message, ...(Object.keys(details).length > 0 ? { details } : {}) };
}
