/**
 * Plans the windows a long text is judged in, lazily and in time slices.
 *
 * The text is split into units: runs of pre-tokenizer pieces (token-estimate.ts) that end at the first
 * sentence end past half of `maxUnitChars`, or else before `maxUnitChars`, so every cut is between pieces (a
 * token boundary) and mostly at a sentence end. Each unit is measured once with `measure` (the real tokenizer in the worker, or the estimate), only
 * as far as the next window needs. A window holds at most `windowTokens` measured tokens and
 * `maxWindowChars` characters: up to `contextTokens` of the text before it, and at most
 * {@link MAX_CONTEXT_SHARE} of the current `windowTokens` (the overlap, so content cut in two is seen whole by
 * the later window), then new text closed by the windowing rule (cut.ts, 'fit' mode).
 *
 * Guarantees: the windows' new text tiles the text (window k+1 starts where window k ended, the first starts
 * at 0, the last ends at the text's end), so every character is judged at least once. The overlap follows
 * the window in force: a re-plan to a smaller window shrinks it too, so when tokens close a window its new
 * text (at least half of what the overlap leaves, by the cut rule) outweighs the repeated text by about 7:2
 * or more, re-plans or not. Work per step is one piece or one unit, and the planner yields (TimeSlicer)
 * whenever a slice is used up.
 */
import type { TextSpan } from '../core/types.js';
import { closeWindow, contextStartIndex, endsSentence } from './cut.js';
import type { TimeSlicer } from './time-slicer.js';
import { codePointBoundary, iteratePieces, type Piece } from './token-estimate.js';

/** Most of a window the overlap may take, in tokens (of the window size in force, re-plans included). */
export const MAX_CONTEXT_SHARE = 1 / 8;

export interface WindowPlanOptions {
  /** Most measured tokens in a window, context included. */
  windowTokens: number;
  /** Most measured tokens of already-planned text repeated at the start of a window (see MAX_CONTEXT_SHARE). */
  contextTokens: number;
  /** Most characters (UTF-16 units) in a window, context included. */
  maxWindowChars: number;
  /** Longest unit, in characters. Keep it well below what a window holds. */
  maxUnitChars: number;
  /** Tokens of one unit's text; `estimate` is the main-thread estimate of it, for measures built on it. */
  measure(text: string, estimate: number): number | Promise<number>;
  slicer: TimeSlicer;
}

/** One window: the check judges `text.slice(contextStart, end)`; `start..end` is its new text. */
export interface PlannedWindow {
  index: number;
  contextStart: number;
  start: number;
  end: number;
  /** Measured tokens of `text.slice(contextStart, end)` (the sum of its units). */
  tokens: number;
}

/** The span a window's check reads. */
export function windowSpan(w: PlannedWindow): TextSpan {
  return { start: w.contextStart, end: w.end };
}

interface Unit {
  start: number;
  end: number;
  sentenceEnd: boolean;
  estimate: number;
  tokens?: number;
}

function contextBudget(contextTokens: number, windowTokens: number): number {
  return Math.min(contextTokens, Math.floor(windowTokens * MAX_CONTEXT_SHARE));
}

export class WindowPlanner {
  /** Units kept from the start of the latest window's context on; `dropped` came before them. */
  private units: Unit[] = [];
  private dropped = 0;
  /** Absolute index of the first unit not yet in a window's new text. */
  private cursor = 0;
  private readonly scan: Generator<Piece, void, undefined>;
  /** The next piece, read ahead (sentence ends depend on it). */
  private lookahead: Piece | undefined;
  private nextIndex = 0;
  private latest: PlannedWindow | undefined;
  private windowTokens: number;
  /** The overlap's token budget for `windowTokens`: recomputed on each re-plan. */
  private contextTokens: number;

  constructor(
    private readonly text: string,
    private readonly options: WindowPlanOptions,
  ) {
    const { windowTokens, contextTokens, maxWindowChars, maxUnitChars } = options;
    for (const [name, v, min] of [
      ['windowTokens', windowTokens, 1],
      ['contextTokens', contextTokens, 0],
      ['maxWindowChars', maxWindowChars, 2],
      ['maxUnitChars', maxUnitChars, 2],
    ] as const) {
      if (!(v >= min)) throw new RangeError(`${name} must be a number >= ${min}, got ${String(v)}.`);
    }
    this.windowTokens = windowTokens;
    this.contextTokens = contextBudget(contextTokens, windowTokens);
    this.scan = iteratePieces(text);
    this.lookahead = this.scan.next().value ?? undefined;
  }

  /** The next window, or undefined after the last one. An empty text has none. */
  async next(): Promise<PlannedWindow | undefined> {
    const { maxWindowChars } = this.options;
    const { contextTokens } = this;
    if (!(await this.ensureUnit(this.cursor))) return undefined;
    // Context: the last units before the cursor within the token share, and within a quarter of the
    // character cap (so new text always has room).
    let from = contextStartIndex((i) => this.unit(i).tokens!, this.cursor, contextTokens, 'fit', this.dropped);
    const start = this.unit(this.cursor).start;
    while (from < this.cursor && start - this.unit(from).start > maxWindowChars / 4) from++;
    let contextTokensUsed = 0;
    for (let i = from; i < this.cursor; i++) contextTokensUsed += this.unit(i).tokens!;
    const contextStart = from < this.cursor ? this.unit(from).start : start;
    const budget = this.windowTokens - contextTokensUsed;
    const charBudget = maxWindowChars - (start - contextStart);

    // Measure new units until one would not fit, the character cap is reached, or the text ends.
    let count = 0;
    let total = 0;
    let final = false;
    for (;;) {
      if (!(await this.ensureUnit(this.cursor + count))) {
        final = true;
        break;
      }
      const u = this.unit(this.cursor + count);
      count++;
      total += u.tokens!;
      if (total > budget || u.end - start >= charBudget) break;
    }
    const first = this.cursor;
    const last = closeWindow(
      {
        count,
        tokens: (i) => this.unit(first + i).tokens!,
        endsSentence: (i) => this.unit(first + i).sentenceEnd,
        // The window is full once the next unit would cross the character cap; the last unit measured
        // overflowed one of the budgets unless the text ended.
        stopsAfter: (i) => (i === count - 1 ? !final : this.unit(first + i + 1).end - start > charBudget),
      },
      budget,
      'fit',
      final,
    );
    let take = last >= 0 ? last + 1 : count;
    // 'fit' keeps the window within the token budget; a unit past the character cap is dropped here too.
    while (take > 1 && this.unit(first + take - 1).end - start > charBudget) take--;
    let tokens = contextTokensUsed;
    for (let i = 0; i < take; i++) tokens += this.unit(first + i).tokens!;
    const planned: PlannedWindow = {
      index: this.nextIndex++,
      contextStart,
      start,
      end: this.unit(first + take - 1).end,
      tokens,
    };
    this.cursor = first + take;
    this.latest = planned;
    // Units before this window's context are never needed again (a re-plan starts at this window).
    this.drop(from);
    return planned;
  }

  /**
   * Plans again from the start of `planned` (the latest one returned) with a smaller token budget, for when
   * its check turned out not to fit: the measure was wrong or the context window is smaller than assumed.
   */
  replan(planned: PlannedWindow, windowTokens: number): void {
    if (!(windowTokens >= 1)) throw new RangeError(`windowTokens must be a number >= 1, got ${String(windowTokens)}.`);
    const index = this.units.findIndex((u) => u.start === planned.start);
    if (planned !== this.latest || index < 0) throw new RangeError('replan() takes the latest window planned.');
    this.cursor = this.dropped + index;
    this.nextIndex = planned.index;
    this.windowTokens = windowTokens;
    this.contextTokens = contextBudget(this.options.contextTokens, windowTokens);
  }

  private unit(i: number): Unit {
    return this.units[i - this.dropped]!;
  }

  private drop(before: number): void {
    const n = before - this.dropped;
    // Splicing the front is linear in what is kept; do it rarely.
    if (n < 1024) return;
    this.units.splice(0, n);
    this.dropped = before;
  }

  /** Makes unit `i` (absolute) available and measured; false when the text ends before it. */
  private async ensureUnit(i: number): Promise<boolean> {
    while (this.dropped + this.units.length <= i) {
      if (!(await this.scanUnit())) return false;
    }
    const u = this.unit(i);
    if (u.tokens === undefined) {
      if (this.options.slicer.due) await this.options.slicer.yield();
      u.tokens = await this.options.measure(this.text.slice(u.start, u.end), u.estimate);
    }
    return true;
  }

  /** Scans the next unit (unmeasured); false at the end of the text. */
  private async scanUnit(): Promise<boolean> {
    const { maxUnitChars, slicer } = this.options;
    let piece = this.lookahead;
    if (!piece) return false;
    const text = this.text;
    // A piece longer than a unit (only when units are shorter than pieces): its parts are units.
    if (piece.end - piece.start > maxUnitChars) {
      const cut = codePointBoundary(text, piece.start + maxUnitChars);
      const part = { start: piece.start, end: cut, tokens: Math.ceil((piece.tokens * (cut - piece.start)) / (piece.end - piece.start)) };
      this.lookahead = { start: cut, end: piece.end, tokens: Math.max(1, piece.tokens - part.tokens) };
      this.units.push({ start: part.start, end: part.end, sentenceEnd: false, estimate: part.tokens });
      return true;
    }
    const start = piece.start;
    let estimate = 0;
    let steps = 0;
    for (;;) {
      const next = this.advance();
      estimate += piece.tokens;
      const sentenceEnd = endsSentence(text.slice(piece.start, piece.end), next && text.slice(next.start, next.end));
      // Close at a sentence end once half full (fewer, longer units: each measure call has a fixed cost),
      // else before the unit would grow past the limit.
      if (!next || (sentenceEnd && piece.end - start >= maxUnitChars / 2) || next.end - start > maxUnitChars) {
        this.units.push({ start, end: piece.end, sentenceEnd, estimate });
        return true;
      }
      piece = next;
      if (++steps % 64 === 0 && slicer.due) await slicer.yield();
    }
  }

  private advance(): Piece | undefined {
    const result = this.scan.next();
    this.lookahead = result.done ? undefined : result.value;
    return this.lookahead;
  }
}
