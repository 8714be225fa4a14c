/**
 * From the model's judgement to a decision: fail mode, probability threshold, ignored categories. And the
 * stable keys that identify a request for dedupe and caching.
 */
import { AegisInputError } from './errors.js';
import { isCategoryCode, validateCustomCategories } from './taxonomy.js';
import type { CustomCategory, Policy, Rating, Target, ViolatedCategory } from './types.js';

/** Fail closed, block at P(unsafe) >= 0.5, ignore nothing. */
export const DEFAULT_POLICY: Readonly<Policy> = Object.freeze({
  failMode: 'closed',
  threshold: 0.5,
  ignore: Object.freeze([]) as unknown as string[],
});

const POLICY_KEYS = new Set(['failMode', 'threshold', 'ignore']);

/**
 * A complete, validated policy from a partial one (missing or undefined fields take the defaults). Throws
 * `AegisInputError` for an unknown field, a failMode other than 'closed'/'open', a threshold that is not a
 * number in [0, 1], or an ignore list that is not an array of category codes (`S1`..`S23`, or `S24`+ for
 * custom categories). Duplicate ignore codes are dropped.
 */
export function resolvePolicy(partial: Partial<Policy> = {}): Policy {
  if (typeof partial !== 'object' || partial === null || Array.isArray(partial)) {
    throw new AegisInputError('The policy must be an object { failMode?, threshold?, ignore? }.');
  }
  const unknown = Object.keys(partial).filter((k) => !POLICY_KEYS.has(k));
  if (unknown.length > 0) throw new AegisInputError(`Unknown policy option(s): ${unknown.join(', ')}.`);

  const failMode = partial.failMode ?? DEFAULT_POLICY.failMode;
  if (failMode !== 'closed' && failMode !== 'open') {
    throw new AegisInputError(`failMode must be 'closed' or 'open'; got ${JSON.stringify(failMode)}.`);
  }
  const threshold = partial.threshold ?? DEFAULT_POLICY.threshold;
  if (typeof threshold !== 'number' || !(threshold >= 0 && threshold <= 1)) {
    throw new AegisInputError(`threshold must be a number from 0 to 1; got ${String(threshold)}.`);
  }
  const ignore = partial.ignore ?? [];
  if (!Array.isArray(ignore)) throw new AegisInputError('ignore must be an array of category codes such as "S12".');
  for (const code of ignore) {
    if (!isCategoryCode(code)) {
      throw new AegisInputError(
        `ignore lists ${JSON.stringify(code)}, which is not a category code (S1..S23, or S24+ for custom categories).`,
      );
    }
  }
  return { failMode, threshold, ignore: [...new Set(ignore)] };
}

/** What the model said about one target, in the form the policy needs. */
export interface Judgement {
  rating: Rating;
  categories: readonly ViolatedCategory[];
  /** P(unsafe) read from the logits, when available. */
  unsafeProbability?: number;
  /** The check failed (error, timeout, unreadable output...): rating and categories mean nothing. */
  failed: boolean;
}

/**
 * True when the text may be shown. A failed check is safe only with failMode 'open'. With a probability, the
 * text is unsafe iff P(unsafe) >= threshold (a probability that is not a number in [0, 1] counts as a failed
 * check); without one, the rating decides. An unsafe result whose categories are all ignored (non-empty,
 * every one with a known code in `ignore`) is safe.
 */
export function decide(judgement: Judgement, policy: Policy): boolean {
  const p = judgement.unsafeProbability;
  const probabilityBroken = p !== undefined && !(typeof p === 'number' && p >= 0 && p <= 1);
  if (judgement.failed || probabilityBroken) return policy.failMode === 'open';
  const unsafe = p !== undefined ? p >= policy.threshold : judgement.rating === 'unsafe';
  if (!unsafe) return true;
  const { categories } = judgement;
  return categories.length > 0 && categories.every((c) => c.code !== null && policy.ignore.includes(c.code));
}

/** A stable string for a policy (field order and ignore order do not matter). */
export function policyKey(policy: Policy): string {
  return JSON.stringify([policy.failMode, policy.threshold, [...new Set(policy.ignore)].sort()]);
}

export interface RequestKeyInput {
  target: Target;
  user: string;
  response?: string;
  categories?: readonly CustomCategory[];
  policy: Policy;
  /** Categories asked for even when safe: a fast safe verdict without them has none, so it is another key. */
  wantCategories?: boolean;
  /** A judge forced for evaluation ('fast' or 'json') answers differently from 'auto': another key. */
  judge?: 'auto' | 'fast' | 'json';
}

/**
 * A stable string identifying a check: equal keys mean the same prompt and the same decision rules, so a
 * verdict can be reused. Built from the values only (not object key order). Custom category order counts
 * (it fixes the S24+ codes) and is normalized as the prompt uses it (so invalid categories throw
 * `AegisInputError`); a prompt check ignores `response`. The key contains the texts verbatim: hash it if it
 * must be short.
 */
export function requestKey(input: RequestKeyInput): string {
  const categories = validateCustomCategories(input.categories).map((c) => [c.name, c.description ?? null]);
  const response = input.target === 'response' ? (input.response ?? null) : null;
  const key: unknown[] = ['aegis-guard/1', input.target, input.user, response, categories, policyKey(input.policy)];
  if (input.wantCategories === true) key.push('want-categories');
  if (input.judge === 'fast' || input.judge === 'json') key.push(`judge:${input.judge}`);
  return JSON.stringify(key);
}
