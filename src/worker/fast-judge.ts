/**
 * The fast path: the verdict from one set of logits, on top of a template prefix kept in the KV cache.
 *
 * Per check (TokenSession with `truncate`, prefix already cached):
 *   1. prefill the check's suffix (its texts, the closing template, the assistant header and the forced
 *      answer opening `{"User Safety": "`); its logits hold the user rating;
 *   2. prompt check: P(unsafe) from those logits, rating by the policy threshold. Safe and no categories
 *      wanted: done (one prefill, no decode step). Otherwise forward the rating word and decode the rest of
 *      the answer greedily to read the categories;
 *   3. reply check: forward the user rating the model prefers plus `", "Response Safety": "` (the model's
 *      own output order) in one step; those logits hold the reply rating; then as in 2.
 * The cache is rolled back to the prefix after every check (prefix-cache.ts argues why that is exact).
 * Without `truncate` every check resets the cache and prefills prefix + suffix (`prefixReused: false`).
 *
 * The categories come from the same parser as the JSON path (`parseAegisOutput` over the assembled output),
 * so both paths read the model's answer the same way.
 */
import { ContextWindowExceededError, EngineError } from '../core/errors.js';
import { OUTPUT_LEAD, parseAegisOutput } from '../core/parse.js';
import { VERDICT_TOKEN_IDS } from '../core/tokens.js';
import type { ParseFailure, Rating, ViolatedCategory } from '../core/types.js';
import type { TokenSession } from '../engine/engine.js';
import {
  CATEGORY_MAX_STEPS,
  END_OF_TURN_IDS,
  RESPONSE_BRIDGE,
  fastPromptParts,
  needsCategoryDecode,
} from './fast-prompt.js';
import type { Judge, Judgement } from './judge.js';
import { argmax, readVerdict, type VerdictReading } from './logits.js';
import { forgetPrefix, planPrefix, prefixIdsFor, rememberPrefix, rememberedPrefixLength } from './prefix-cache.js';

const now = () => performance.now();

/**
 * Every forward of one check goes through here: abort check first, context-window check (WebLLM's
 * `forwardTokensAndSample`, idx:13958, does none, unlike the completion path's idx:13950-13954; a KV cache
 * is allocated for exactly the context window, idx:11925-11931), then timing and token accounting.
 */
class CheckForwarder {
  prefillMs = 0;
  decodeMs = 0;
  /** Tokens of prompt text forwarded for this check (prefix when it was prefilled now, suffix, forced text). */
  promptTokens = 0;
  /** Forward calls after the check's prefill (each produces one token the model chose). */
  decodeSteps = 0;

  constructor(
    private readonly session: TokenSession,
    private readonly signal: AbortSignal,
  ) {}

  /** Forwards prompt text (`phase` 'prefill') or one chosen token plus `forcedAfter` forced ones ('decode'). */
  async forward(ids: readonly number[], phase: 'prefill' | 'decode', forcedAfter = 0): Promise<Float32Array> {
    this.signal.throwIfAborted();
    const needed = this.session.kvLength() + ids.length;
    const window = this.session.contextWindow;
    if (needed > window) {
      throw new ContextWindowExceededError(
        `The check needs ${needed} tokens of context; the model's context window is ${window} tokens.`,
        needed,
        window,
      );
    }
    const started = now();
    const logits = await this.session.forward([...ids], this.signal);
    const ms = now() - started;
    if (phase === 'prefill') {
      this.prefillMs += ms;
      this.promptTokens += ids.length;
    } else {
      this.decodeMs += ms;
      this.decodeSteps += 1;
      this.promptTokens += forcedAfter;
    }
    this.signal.throwIfAborted();
    return logits;
  }
}

const bridgeIdsCache = new WeakMap<TokenSession, readonly number[]>();
async function bridgeIdsFor(session: TokenSession): Promise<readonly number[]> {
  let ids = bridgeIdsCache.get(session);
  if (!ids) bridgeIdsCache.set(session, (ids = Object.freeze(await session.encode(RESPONSE_BRIDGE))));
  return ids;
}

/** Brings the cache to `prefixIds` + the check's suffix and returns the logits after the suffix. */
async function prefillCheck(
  session: TokenSession,
  forwarder: CheckForwarder,
  prefixIds: readonly number[],
  suffixIds: readonly number[],
): Promise<{ logits: Float32Array; prefixReused: boolean }> {
  if (!session.truncate) {
    // No rollback: the prefix cannot survive a check, so every check is one full prefill.
    await session.reset();
    return { logits: await forwarder.forward([...prefixIds, ...suffixIds], 'prefill'), prefixReused: false };
  }
  const plan = planPrefix(session, prefixIds);
  if (!plan.reused) {
    forgetPrefix(session);
    if (plan.keep === 0) await session.reset();
    else await session.truncate(plan.keep);
    if (plan.forward.length > 0) await forwarder.forward(plan.forward, 'prefill');
    rememberPrefix(session, prefixIds);
  }
  return { logits: await forwarder.forward(suffixIds, 'prefill'), prefixReused: plan.reused };
}

/** Leaves the cache holding only the prefix again, or forgets it when that is not possible. */
async function rollBack(session: TokenSession): Promise<void> {
  const keep = rememberedPrefixLength(session);
  if (keep === undefined || !session.truncate) return;
  try {
    const length = session.kvLength();
    if (length < keep) forgetPrefix(session);
    else if (length > keep) await session.truncate(keep);
  } catch {
    forgetPrefix(session);
  }
}

/**
 * Greedy decoding of the answer after a rating word, starting by forwarding that word: stops at the first
 * `}` (as the JSON path's stop string does) or an end-of-turn token, at most CATEGORY_MAX_STEPS forwards.
 */
async function decodeRest(session: TokenSession, forwarder: CheckForwarder, ratingToken: number): Promise<string> {
  const ids: number[] = [];
  let text = '';
  let next = ratingToken;
  for (let step = 0; step < CATEGORY_MAX_STEPS; step++) {
    const token = argmax(await forwarder.forward([next], 'decode'));
    if (END_OF_TURN_IDS.has(token)) break;
    ids.push(token);
    // Decode the whole tail each time: a multi-byte character may span tokens.
    text = await session.decode(ids);
    const brace = text.indexOf('}');
    if (brace >= 0) return text.slice(0, brace + 1);
    next = token;
  }
  return text;
}

function checkedProbability(reading: VerdictReading): number {
  if (Number.isNaN(reading.unsafeProbability)) {
    throw new EngineError('The model returned non-finite logits for the rating words.');
  }
  return reading.unsafeProbability;
}

export const judgeFast: Judge = async (engine, request, { signal, onDecision }) => {
  const session = engine.tokens();
  if (!session) throw new EngineError('The fast judge needs token-level access to the model (Engine.tokens()).');
  signal.throwIfAborted();
  const { target, policy } = request;
  const parts = fastPromptParts(
    { user: request.user, response: target === 'response' ? request.response : undefined },
    { categories: request.categories },
  );
  const forwarder = new CheckForwarder(session, signal);
  try {
    const prefixIds = await prefixIdsFor(session, parts.prefix);
    const suffixIds = await session.encode(parts.suffix);
    let { logits, prefixReused } = await prefillCheck(session, forwarder, prefixIds, suffixIds);
    let raw = OUTPUT_LEAD;

    if (target === 'response') {
      // The model's own order: its preferred user rating, then the reply's field name.
      const userRating = readVerdict(logits);
      checkedProbability(userRating);
      const bridgeIds = await bridgeIdsFor(session);
      logits = await forwarder.forward([VERDICT_TOKEN_IDS[userRating.greedy], ...bridgeIds], 'decode', bridgeIds.length);
      raw += userRating.greedy + RESPONSE_BRIDGE;
    }

    const reading = readVerdict(logits);
    const unsafeProbability = checkedProbability(reading);
    const finish = (
      rating: Rating,
      categories: ViolatedCategory[],
      failure?: ParseFailure,
    ): Judgement => ({
      rating,
      categories,
      unsafeProbability,
      raw,
      ...(failure ? { failure } : {}),
      prefillMs: forwarder.prefillMs,
      decodeMs: forwarder.decodeMs,
      promptTokens: forwarder.promptTokens,
      completionTokens: forwarder.decodeSteps,
      prefixReused,
    });

    if (!reading.ratingIsLikeliest) {
      // The model would not write a rating here: unreadable, fail closed as the JSON path does.
      raw += await session.decode([reading.argmax]);
      return finish('unsafe', [], 'unknown-rating');
    }
    const rating: Rating = unsafeProbability >= policy.threshold ? 'unsafe' : 'safe';
    onDecision({ target, rating, unsafeProbability });
    raw += rating;
    if (!needsCategoryDecode(rating, request.wantCategories)) return finish(rating, []);

    raw += await decodeRest(session, forwarder, VERDICT_TOKEN_IDS[rating]);
    const parsed = parseAegisOutput(raw, target, { categories: request.categories });
    if (parsed.failure) return finish('unsafe', [], parsed.failure);
    return finish(rating, parsed.categories);
  } finally {
    await rollBack(session);
  }
};
