/**
 * The fast path: the verdict from one set of logits, on top of whatever the KV cache already holds of the
 * check's prompt.
 *
 * Per check (TokenSession with `truncate`):
 *   1. bring the cache to the check's prompt plus the forced answer opening `{"User Safety": "`: keep the
 *      longest common prefix of what it holds (the template prefix; after a prompt check, also that user
 *      text; within a stream, also `response: agent:`) and prefill the rest (prefix-cache.ts argues why that
 *      is exact). Its logits hold the user rating;
 *   2. prompt check: P(unsafe) from those logits, rating by the policy threshold. Safe and no categories
 *      wanted: done (one prefill, no decode step). Otherwise decode the rest of the answer, jumping over the
 *      tokens the category names force (category-decode.ts);
 *   3. reply check: forward the user rating the model prefers plus `", "Response Safety": "` (the model's
 *      own output order) in one step; those logits hold the reply rating; then as in 2.
 * The cache is left as the check leaves it: the next check rolls back only as far as it must.
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
import { RESPONSE_BRIDGE, fastPromptParts, needsCategoryDecode, type FastPromptParts } from './fast-prompt.js';
import type { Judge, Judgement } from './judge.js';
import { readVerdict, type VerdictReading } from './logits.js';
import { categoryGrammarFor, decodeAfterRating } from './category-decode.js';
import { encodeRemembered } from './encode-memo.js';
import { forwardRecorded, keepPrefix, planReuse } from './prefix-cache.js';

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

  /** Throws ContextWindowExceededError when `needed` tokens of context do not fit the model's window. */
  assertFits(needed: number): void {
    const window = this.session.contextWindow;
    if (needed > window) {
      throw new ContextWindowExceededError(
        `The check needs ${needed} tokens of context; the model's context window is ${window} tokens.`,
        needed,
        window,
      );
    }
  }

  /** Forwards prompt text (`phase` 'prefill') or one chosen token plus `forcedAfter` forced ones ('decode'). */
  async forward(ids: readonly number[], phase: 'prefill' | 'decode', forcedAfter = 0): Promise<Float32Array> {
    this.signal.throwIfAborted();
    this.assertFits(this.session.kvLength() + ids.length);
    const started = now();
    const logits = await forwardRecorded(this.session, ids, this.signal);
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

/** A check's prompt as token ids, with the lengths at which its cache levels end (prefix-cache.ts). */
interface CheckIds {
  ids: number[];
  prefixLength: number;
  levels: number[];
}

const startsWith = (ids: readonly number[], head: readonly number[], at: number) => head.every((id, i) => ids[at + i] === id);

/**
 * Tokenizes a check. The prefix/suffix split is a token boundary for every text (fast-split.test.ts); a
 * level inside the suffix counts only where the suffix's own tokens really split there.
 */
async function tokenizeCheck(session: TokenSession, parts: FastPromptParts, forwarder: CheckForwarder): Promise<CheckIds> {
  const prefixIds = await encodeRemembered(session, parts.prefix);
  const ids = [...prefixIds, ...(await session.encode(parts.suffix))];
  // Before any more tokenizing or touching the cache: a check that cannot fit costs nothing more.
  forwarder.assertFits(ids.length);
  const levels: number[] = [];
  for (const head of parts.prefixLevels) {
    const headIds = await encodeRemembered(session, head);
    if (startsWith(prefixIds, headIds, 0)) levels.push(headIds.length);
  }
  levels.push(prefixIds.length);
  for (const level of parts.levels) {
    const levelIds = await encodeRemembered(session, level);
    if (!startsWith(ids, levelIds, prefixIds.length)) break;
    levels.push(prefixIds.length + levelIds.length);
  }
  return { ids, prefixLength: prefixIds.length, levels };
}

/**
 * Brings the cache to the check's ids, keeping the deepest level it already holds, and returns the logits
 * after them. `prefixReused`: the whole template prefix came from the cache.
 */
async function prefillCheck(
  session: TokenSession,
  forwarder: CheckForwarder,
  { ids, prefixLength, levels }: CheckIds,
): Promise<{ logits: Float32Array; prefixReused: boolean }> {
  const plan = planReuse(session, ids, levels);
  await keepPrefix(session, plan.keep);
  let logits: Float32Array | undefined;
  for (const segment of plan.segments) logits = await forwarder.forward(segment, 'prefill');
  return { logits: logits!, prefixReused: plan.keep >= prefixLength };
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
  let { logits, prefixReused } = await prefillCheck(session, forwarder, await tokenizeCheck(session, parts, forwarder));
  let raw = OUTPUT_LEAD;

  if (target === 'response') {
    // The model's own order: its preferred user rating, then the reply's field name.
    const userRating = readVerdict(logits);
    checkedProbability(userRating);
    const bridgeIds = await encodeRemembered(session, RESPONSE_BRIDGE);
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
  // 'unsafe' is final now (an unreadable rest also blocks). 'safe' is final only when nothing more is read:
  // categories decoded after it could still turn out unreadable, and the verdict would then fail closed.
  const decodesMore = needsCategoryDecode(rating, request.wantCategories);
  if (rating === 'unsafe' || !decodesMore) onDecision({ target, rating, unsafeProbability });
  raw += rating;
  if (!decodesMore) return finish(rating, []);

  const grammar = await categoryGrammarFor(session, request.categories);
  const steps = {
    step: (ids: number[], forced: number) => forwarder.forward(ids, 'decode', forced),
    decode: (ids: number[]) => session.decode(ids),
  };
  raw += await decodeAfterRating(steps, grammar, rating, VERDICT_TOKEN_IDS[rating]);
  const parsed = parseAegisOutput(raw, target, { categories: request.categories });
  if (parsed.failure) return finish('unsafe', [], parsed.failure);
  if (rating === 'safe') onDecision({ target, rating, unsafeProbability });
  return finish(rating, parsed.categories);
};
