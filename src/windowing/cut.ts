/**
 * Where a window of text closes, and where the context repeated before it starts: the one rule shared by the
 * stream guard's chunks (src/stream/chunker.ts) and long checks' windows (window-plan.ts).
 *
 * Text is cut only between units (pre-tokenizer pieces, or runs of them), each with a token count. A window
 * closes at its token limit, or earlier at the last sentence end that leaves it at least half full, so that
 * a sentence is judged whole whenever the budget allows. Two budget modes:
 * - `'reach'`: the window closes at the unit that reaches the budget (a chunk holds at least `budget`
 *   tokens; the stream guard's estimate runs a little high, so this keeps chunks near their intended size);
 * - `'fit'`: the window closes before the unit that would exceed it (a window holds at most `budget` tokens,
 *   which is what a context window demands). The first unit is always taken, so a window is never empty.
 */

/** A sentence ends after ., !, ?, … (and closing quotes or brackets) before a space, or at a line break. */
const SENTENCE_PUNCTUATION = /[.!?…。！？]["'”’)\]]*$/u;
const LINE_BREAK_END = /[\r\n\u2028\u2029]$/u;
const STARTS_WITH_SPACE = /^\s/u;

/** A sentence end is only used when it leaves the window at least this full. */
export const MIN_SENTENCE_FILL = 0.5;

export type BudgetMode = 'reach' | 'fit';

/** Whether `unit` (text) ends a sentence, given the text of the unit after it (undefined: none known yet). */
export function endsSentence(unit: string, next: string | undefined): boolean {
  if (LINE_BREAK_END.test(unit)) return true;
  if (next === undefined || !SENTENCE_PUNCTUATION.test(unit)) return false;
  return STARTS_WITH_SPACE.test(next);
}

/** The units after a window's start, as the cut rule sees them. */
export interface CutUnits {
  /** Units available (the window may only hold these). */
  count: number;
  tokens(i: number): number;
  endsSentence(i: number): boolean;
  /** The window may not grow past unit `i` for another reason than tokens (a character cap, for instance). */
  stopsAfter?(i: number): boolean;
}

/**
 * The index of the window's last unit, or -1 when the available units do not complete a window and more
 * text may follow (`final` false). With `final` true, a window that never fills takes every unit.
 */
export function closeWindow(units: CutUnits, budget: number, mode: BudgetMode, final: boolean): number {
  let total = 0;
  let limit = -1;
  let sentenceEnd = -1;
  for (let i = 0; i < units.count; i++) {
    const tokens = units.tokens(i);
    if (mode === 'fit' && i > 0 && total + tokens > budget) {
      limit = i - 1;
      break;
    }
    total += tokens;
    if (total >= budget * MIN_SENTENCE_FILL && units.endsSentence(i)) sentenceEnd = i;
    if ((mode === 'reach' && total >= budget) || units.stopsAfter?.(i)) {
      limit = i;
      break;
    }
  }
  if (limit < 0) {
    if (!final || units.count === 0) return -1;
    return units.count - 1;
  }
  return sentenceEnd >= 0 ? sentenceEnd : limit;
}

/**
 * The index of the first unit of the context before unit `before` (exclusive), walking back to at most
 * unit `first`: the last units holding `contextTokens` tokens (`'reach'`: at least that many, as far as the
 * text allows; `'fit'`: at most that many). Returns `before` when no context is wanted.
 */
export function contextStartIndex(
  tokens: (i: number) => number,
  before: number,
  contextTokens: number,
  mode: BudgetMode,
  first = 0,
): number {
  if (contextTokens <= 0) return before;
  let total = 0;
  let start = before;
  for (let i = before - 1; i >= first; i--) {
    const t = tokens(i);
    if (mode === 'fit' && total + t > contextTokens) return start;
    total += t;
    start = i;
    if (mode === 'reach' && total >= contextTokens) return start;
  }
  return start;
}
