/**
 * The user prompt goes into every chunk check (it is part of the Aegis conversation). A long prompt repeated
 * per chunk would dominate the work, so chunk checks carry at most `maxTokens` estimated tokens of it: its
 * beginning and its end, joined by an elision mark. The reply rating reads the reply; the prompt is context.
 */
import { pieces } from './token-estimate.js';

/** What stands for the elided middle of a long prompt. */
export const PROMPT_ELISION = '\n[…]\n';

/** Share of the budget kept from the beginning of the prompt; the rest comes from its end. */
const HEAD_SHARE = 2 / 3;

/** `prompt` itself when it fits `maxTokens` estimated tokens, else its head and tail around {@link PROMPT_ELISION}. */
export function promptForChunkChecks(prompt: string, maxTokens: number): string {
  if (maxTokens === Infinity) return prompt;
  const list = pieces(prompt);
  const total = list.reduce((n, p) => n + p.tokens, 0);
  if (total <= maxTokens) return prompt;
  const headBudget = Math.floor(maxTokens * HEAD_SHARE);
  let used = 0;
  let headEnd = 0;
  for (const p of list) {
    if (used + p.tokens > headBudget) break;
    used += p.tokens;
    headEnd = p.end;
  }
  let tailStart = prompt.length;
  let tailUsed = 0;
  for (let i = list.length - 1; i >= 0; i--) {
    const p = list[i]!;
    if (p.start < headEnd || used + tailUsed + p.tokens > maxTokens) break;
    tailUsed += p.tokens;
    tailStart = p.start;
  }
  return prompt.slice(0, headEnd) + PROMPT_ELISION + prompt.slice(tailStart);
}
