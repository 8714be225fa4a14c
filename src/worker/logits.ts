/**
 * Reading decisions from raw next-token logits. With WebLLM they come from a LogitProcessor, which
 * receives the full-vocabulary logits on the CPU before logit_bias, penalties and the temperature softmax
 * (sampleFromRawLogits, idx:13672-13693 of the pinned 0.2.86 bundle). Reading logprobs instead would not
 * work: they are taken after temperature and are 0 / -inf at temperature 0 (internals notes §1.5).
 */
import { VERDICT_TOKEN_IDS } from '../core/tokens.js';
import type { Rating } from '../core/types.js';

/** What the logits at a rating position say. */
export interface VerdictReading {
  /** P(unsafe | the next token is a rating word); NaN when the two logits are not finite numbers. */
  unsafeProbability: number;
  /** The rating word the model prefers between the two (ties go to 'unsafe', as a threshold of 0.5 does). */
  greedy: Rating;
  /** Whether the model's most likely next token over the whole vocabulary is one of the two rating words. */
  ratingIsLikeliest: boolean;
  /** That most likely token. */
  argmax: number;
}

/**
 * P(unsafe) from the logits of the two rating tokens: e^u / (e^u + e^s), computed as 1 / (1 + e^(s - u)) so
 * large logits cannot overflow.
 *
 * Why a two-way softmax and not the full one: after the forced `{"User Safety": "` the output is only
 * readable if the next token is `safe` or `unsafe`, so the decision the threshold is meant for is the choice
 * between those two, i.e. the probability conditioned on a rating being written. A full softmax would
 * divide by mass on tokens the parser can never read as a rating (formatting, stray words), shrinking both
 * probabilities by an amount unrelated to how unsafe the text is; at a 0.5 threshold it could even call a
 * text safe that the model rates unsafe (P(unsafe)=0.45, P(safe)=0.40, 0.15 elsewhere). Whether a rating is
 * written at all is checked separately (`ratingIsLikeliest`), the way the JSON path fails closed when the
 * rating word is not a rating.
 */
export function twoWayUnsafeProbability(logits: Float32Array): number {
  const u = logits[VERDICT_TOKEN_IDS.unsafe];
  const s = logits[VERDICT_TOKEN_IDS.safe];
  if (u === undefined || s === undefined || !Number.isFinite(u) || !Number.isFinite(s)) return Number.NaN;
  return 1 / (1 + Math.exp(s - u));
}

/** Index of the largest logit (the first one on ties): greedy decoding, as WebLLM does at temperature 0. */
export function argmax(logits: Float32Array): number {
  let best = 0;
  let bestValue = -Infinity;
  for (let i = 0; i < logits.length; i++) {
    const v = logits[i]!;
    if (v > bestValue) {
      bestValue = v;
      best = i;
    }
  }
  return best;
}

export function readVerdict(logits: Float32Array): VerdictReading {
  const unsafeProbability = twoWayUnsafeProbability(logits);
  const top = argmax(logits);
  return {
    unsafeProbability,
    greedy: unsafeProbability >= 0.5 ? 'unsafe' : 'safe',
    ratingIsLikeliest: top === VERDICT_TOKEN_IDS.safe || top === VERDICT_TOKEN_IDS.unsafe,
    argmax: top,
  };
}
