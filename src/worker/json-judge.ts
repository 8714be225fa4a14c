/**
 * The plain path: render the full prompt, let the model write its JSON answer, parse it.
 * Greedy decoding, a small token budget, and generation stops at the closing brace.
 */
import { parseAegisOutput, readRating } from '../core/parse.js';
import { renderCheckPrompt } from '../core/prompt.js';
import { AegisAbortError } from '../core/errors.js';
import type { Judge } from './judge.js';

/**
 * Enough for both ratings plus a long category list. NeMo Guardrails uses 50; a truncated answer still fails
 * closed, so the margin only avoids needless failures on multi-category answers.
 */
export const JSON_MAX_TOKENS = 96;

/**
 * The runtime cuts the output before the `}` stop string. Put it back only when an object was opened and is
 * still open: an empty or brace-less answer must stay unreadable (fail closed), not become "{...}".
 */
export function restoreClosingBrace(text: string, finishReason: string): string {
  const opened = text.includes('{');
  return finishReason === 'stop' && opened && !text.trimEnd().endsWith('}') ? `${text}}` : text;
}

export const judgeByJson: Judge = async (engine, request, { signal, onDecision }) => {
  const { text: prompt } = renderCheckPrompt(
    { user: request.user, response: request.target === 'response' ? request.response : undefined },
    { categories: request.categories },
  );
  let decided = false;
  const completion = await engine.complete(prompt, {
    maxTokens: JSON_MAX_TOKENS,
    // The runtime cuts the output before a stop string, so the brace is put back below.
    stop: ['}'],
    signal,
    onText(textSoFar) {
      if (decided) return;
      const rating = readRating(textSoFar, request.target);
      if (rating) {
        decided = true;
        onDecision({ target: request.target, rating });
      }
    },
  });
  if (completion.finishReason === 'abort' || signal.aborted) {
    throw signal.reason instanceof Error ? signal.reason : new AegisAbortError('The check was cancelled.');
  }
  const raw = restoreClosingBrace(completion.text, completion.finishReason);
  const parsed = parseAegisOutput(raw, request.target, { categories: request.categories });
  return {
    rating: parsed.rating,
    categories: parsed.categories,
    raw,
    ...(parsed.failure ? { failure: parsed.failure } : {}),
    prefillMs: completion.prefillMs,
    decodeMs: completion.decodeMs,
    promptTokens: completion.promptTokens,
    completionTokens: completion.completionTokens,
    prefixReused: false,
  };
};
