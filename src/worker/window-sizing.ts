/**
 * How much text one check can hold on this engine, and how a text is measured for it: the numbers long
 * checks are planned with (windowed-judge.ts).
 *
 * A check's prompt is the fixed template prefix, the texts (defused), the template's tail, and room for
 * the answer. With token access (the fast path's TokenSession) texts are measured with the runtime's own
 * tokenizer, exactly as the judge will send them; without it, with the main-thread estimate times a safety
 * margin, and the context window is the default one until an engine error says otherwise.
 */
import { ContextWindowExceededError } from '../core/errors.js';
import { renderCheckPrefix } from '../core/prompt.js';
import { defuseUntrustedText } from '../core/sanitize.js';
import type { CustomCategory, Target } from '../core/types.js';
import type { Engine, TokenSession } from '../engine/engine.js';
import { DEFAULT_CONTEXT_WINDOW } from '../engine/model-records.js';
import { estimateTokens } from '../windowing/token-estimate.js';
import { CATEGORY_MAX_STEPS, fastPromptParts } from './fast-prompt.js';
import { JSON_MAX_TOKENS } from './json-judge.js';

/**
 * Room kept for the answer: the JSON judge's token cap, or the fast judge's rating, reply bridge and
 * category decoding, whichever is larger.
 */
export const ANSWER_TOKENS = Math.max(JSON_MAX_TOKENS, CATEGORY_MAX_STEPS + 16);
/** Slack for what a sum of separately measured pieces can miss (a space merging at a join, defusing across a cut). */
export const MEASURE_SLACK_TOKENS = 16;
/** The estimate is scaled by this without a tokenizer (it runs ~7 % high on English, lower on rarer text). */
export const ESTIMATE_MARGIN = 1.15;

export interface WindowSizing {
  /** The model's context window, in tokens. */
  contextWindow: number;
  /** Tokens one check can give its texts (both, for a reply check). */
  textTokens: number;
  /** Whether `measure` is the runtime's tokenizer (else an estimate with a margin). */
  exact: boolean;
  /** Tokens `text` takes in a check; `estimate` (the main-thread estimate of it) saves recomputing it. */
  measure(text: string, estimate?: number): Promise<number>;
}

/** Context windows engines reported in errors, for engines without token access. */
const learnedWindows = new WeakMap<Engine, number>();

/** Remembers a smaller context window an engine reported (ContextWindowExceededError's `contextWindow`). */
export function learnContextWindow(engine: Engine, error: ContextWindowExceededError): void {
  const reported = error.contextWindow;
  if (engine.tokens() || typeof reported !== 'number' || !(reported > 0)) return;
  learnedWindows.set(engine, Math.min(reported, learnedWindows.get(engine) ?? Infinity));
}

/** Template token counts, per session (or per estimate) and category set: every check needs them. */
const templateMemo = new WeakMap<TokenSession, Map<string, number>>();
const estimatedTemplates = new Map<string, number>();
const MAX_MEMO = 16;

function memoKey(target: Target, categories: readonly CustomCategory[]): string {
  return JSON.stringify([target, categories.map((c) => [c.name, c.description ?? null])]);
}

function remember(memo: Map<string, number>, key: string, tokens: number): number {
  if (memo.size >= MAX_MEMO) memo.delete(memo.keys().next().value!);
  memo.set(key, tokens);
  return tokens;
}

function templateText(target: Target, categories: readonly CustomCategory[]): { prefix: string; tail: string } {
  // The fast judge's suffix with empty texts: the tail and the forced answer opening (the JSON path's is shorter).
  const { suffix } = fastPromptParts({ user: '', response: target === 'response' ? '' : undefined }, { categories });
  return { prefix: renderCheckPrefix({ categories }), tail: suffix };
}

async function exactTemplateTokens(session: TokenSession, target: Target, categories: readonly CustomCategory[]): Promise<number> {
  let memo = templateMemo.get(session);
  if (!memo) templateMemo.set(session, (memo = new Map()));
  const key = memoKey(target, categories);
  const known = memo.get(key);
  if (known !== undefined) return known;
  const { prefix, tail } = templateText(target, categories);
  return remember(memo, key, (await session.encode(prefix)).length + (await session.encode(tail)).length);
}

function estimatedTemplateTokens(target: Target, categories: readonly CustomCategory[]): number {
  const key = memoKey(target, categories);
  const known = estimatedTemplates.get(key);
  if (known !== undefined) return known;
  const { prefix, tail } = templateText(target, categories);
  return remember(estimatedTemplates, key, Math.ceil((estimateTokens(prefix) + estimateTokens(tail)) * ESTIMATE_MARGIN));
}

export async function windowSizing(engine: Engine, target: Target, categories: readonly CustomCategory[]): Promise<WindowSizing> {
  const session = engine.tokens();
  if (session) {
    const template = await exactTemplateTokens(session, target, categories);
    return {
      contextWindow: session.contextWindow,
      textTokens: session.contextWindow - template - ANSWER_TOKENS - MEASURE_SLACK_TOKENS,
      exact: true,
      measure: async (text) => (await session.encode(defuseUntrustedText(text))).length,
    };
  }
  const contextWindow = learnedWindows.get(engine) ?? DEFAULT_CONTEXT_WINDOW;
  const template = estimatedTemplateTokens(target, categories);
  return {
    contextWindow,
    textTokens: contextWindow - template - ANSWER_TOKENS - MEASURE_SLACK_TOKENS,
    exact: false,
    measure: async (text, estimate) => (estimate ?? estimateTokens(defuseUntrustedText(text))) * ESTIMATE_MARGIN,
  };
}

/**
 * True when `texts` surely fit `tokens`: every token covers at least one UTF-8 byte, and a UTF-16 unit is at
 * most 3 bytes. Cheap, and exact enough for chat messages, which then need no measuring at all.
 */
export function surelyFits(texts: readonly string[], tokens: number): boolean {
  let units = 0;
  for (const t of texts) units += t.length;
  if (units * 3 > tokens) return false;
  let defused = 0;
  for (const t of texts) defused += defuseUntrustedText(t).length;
  return defused * 3 <= tokens;
}
