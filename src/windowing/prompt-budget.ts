/**
 * The user prompt goes into every chunk or window check of a reply (it is part of the Aegis conversation). A
 * long prompt repeated per check would dominate the work, so those checks carry at most `maxTokens`
 * estimated tokens of it: its beginning and its end, joined by an elision mark. The reply rating reads the
 * reply; the prompt is context.
 */
import { MAX_PIECE_CHARS, pieces, type Piece } from './token-estimate.js';

/** Estimated tokens of the user prompt a chunk or window check carries by default (NeMo Guardrails' chunk size). */
export const DEFAULT_PROMPT_TOKENS = 200;

/** What stands for the elided middle of a long prompt. */
export const PROMPT_ELISION = '\n[…]\n';

/** Share of the budget kept from the beginning of the prompt; the rest comes from its end. */
const HEAD_SHARE = 2 / 3;

/**
 * `prompt` itself when it fits `maxTokens` estimated tokens, else its head and tail around
 * {@link PROMPT_ELISION}. The work is bounded by the budget, not the prompt: every piece is at least one
 * estimated token and at most MAX_PIECE_CHARS long, so only the first and last `maxTokens` pieces' worth of
 * text is ever scanned (a 1 MB prompt costs what a 13 kB one does).
 */
export function promptForChunkChecks(prompt: string, maxTokens: number): string {
  if (maxTokens === Infinity) return prompt;
  // Room for `maxTokens + 2` whole pieces: enough to know whether the text fits and where its head ends.
  const reach = (maxTokens + 2) * MAX_PIECE_CHARS;
  const whole = prompt.length <= reach;
  const head: Piece[] = pieces(whole ? prompt : prompt.slice(0, reach));
  if (whole && head.reduce((n, p) => n + p.tokens, 0) <= maxTokens) return prompt;
  const headBudget = Math.floor(maxTokens * HEAD_SHARE);
  let used = 0;
  let headEnd = 0;
  for (const p of head) {
    if (used + p.tokens > headBudget) break;
    used += p.tokens;
    headEnd = p.end;
  }
  // The tail's pieces: the whole list when it was scanned, else a scan of the end (its first piece may
  // start inside a real one, so it is never used).
  let tail = head;
  if (!whole) {
    const from = prompt.length - reach;
    tail = pieces(prompt.slice(from))
      .slice(1)
      .map((p) => ({ ...p, start: p.start + from, end: p.end + from }));
  }
  let tailStart = prompt.length;
  let tailUsed = 0;
  for (let i = tail.length - 1; i >= 0; i--) {
    const p = tail[i]!;
    if (p.start < headEnd || used + tailUsed + p.tokens > maxTokens) break;
    tailUsed += p.tokens;
    tailStart = p.start;
  }
  return prompt.slice(0, headEnd) + PROMPT_ELISION + prompt.slice(tailStart);
}
