/**
 * The hold-back buffer: collects streamed reply text and cuts it into chunks to judge, each sent with a
 * little already-judged context before it.
 *
 * Cuts fall only between pre-tokenizer pieces (src/windowing/token-estimate.ts), so a cut never splits a
 * word or a surrogate pair, and never before the buffer's last piece while the stream is open (that piece
 * may still grow). A chunk closes once it holds `chunkTokens` estimated tokens: at the last sentence end (.,
 * !, ?, … followed by a space, or a line break) in its second half, or else right at the token limit (the
 * windowing core's rule, src/windowing/cut.ts, in its 'reach' mode; long checks use the same rule).
 *
 * Each check sends `context + chunk`, where the context is the last `contextTokens` of the text before the
 * chunk: unsafe content cut in two by a chunk boundary is seen whole by the second check. The work is
 * linear in the reply: every character is sent once as new text and at most once more as context.
 */
import { closeWindow, contextStartIndex, endsSentence } from '../windowing/cut.js';
import { pieces, type Piece } from '../windowing/token-estimate.js';

export interface ChunkerOptions {
  /** New text per check, in estimated tokens. */
  chunkTokens: number;
  /** Already-judged text repeated before each chunk, in estimated tokens. */
  contextTokens: number;
}

/** One chunk to judge. Offsets are UTF-16 positions in the whole reply. */
export interface PlannedChunk {
  index: number;
  /** Start of the context (equal to `start` for the first chunk). */
  contextStart: number;
  /** Start and end of the new text. */
  start: number;
  end: number;
  /** The new text: `reply.slice(start, end)`. */
  text: string;
  /** What the check judges: `reply.slice(contextStart, end)`. */
  checkText: string;
  /** Estimated tokens of the new text. */
  tokens: number;
  /** The new text is only whitespace: it cannot carry content, so the guard releases it without a check. */
  blank: boolean;
}

export class Chunker {
  private reply = '';
  /** Start of the text not yet cut into a chunk. */
  private bufferStart = 0;
  /** Pieces of the buffer; the last one may still grow. */
  private buffered: Piece[] = [];
  private nextIndex = 0;
  private finished = false;

  constructor(private readonly options: ChunkerOptions) {
    const { chunkTokens, contextTokens } = options;
    if (!(Number.isFinite(chunkTokens) && chunkTokens >= 1)) throw new RangeError('chunkTokens must be a number >= 1.');
    if (!(Number.isFinite(contextTokens) && contextTokens >= 0)) throw new RangeError('contextTokens must be a number >= 0.');
  }

  /** All text pushed so far. */
  get text(): string {
    return this.reply;
  }

  /** End of the text already cut into chunks. */
  get cutUpTo(): number {
    return this.bufferStart;
  }

  /** Adds streamed text; returns the chunks that are now complete. */
  push(delta: string): PlannedChunk[] {
    if (this.finished) throw new Error('Chunker: push() after finish().');
    if (delta === '') return [];
    // Re-scan from the start of the last piece: it may continue in this delta.
    const rescanFrom = this.buffered.pop()?.start ?? this.bufferStart;
    this.reply += delta;
    this.buffered.push(...pieces(this.reply, rescanFrom));
    const out: PlannedChunk[] = [];
    for (let chunk = this.cut(false); chunk; chunk = this.cut(false)) out.push(chunk);
    return out;
  }

  /** Ends the text; returns the remaining chunks (the last one may be short or end mid-sentence). */
  finish(): PlannedChunk[] {
    if (this.finished) return [];
    this.finished = true;
    const out: PlannedChunk[] = [];
    for (let chunk = this.cut(true); chunk; chunk = this.cut(true)) out.push(chunk);
    return out;
  }

  /** Cuts the next chunk off the buffer, if one is complete (or, at the end, whatever is left). */
  private cut(final: boolean): PlannedChunk | undefined {
    const list = this.buffered;
    const textOf = (p: Piece | undefined) => (p ? this.reply.slice(p.start, p.end) : undefined);
    // While the stream is open, the last piece may still grow: never cut after it.
    const last = closeWindow(
      {
        count: final ? list.length : list.length - 1,
        tokens: (i) => list[i]!.tokens,
        endsSentence: (i) => endsSentence(textOf(list[i])!, textOf(list[i + 1])),
      },
      this.options.chunkTokens,
      'reach',
      final,
    );
    if (last < 0) return undefined;
    const taken = list.splice(0, last + 1);
    return this.makeChunk(taken[taken.length - 1]!.end, taken.reduce((n, p) => n + p.tokens, 0));
  }

  private makeChunk(end: number, tokens: number): PlannedChunk {
    const start = this.bufferStart;
    this.bufferStart = end;
    const contextStart = contextStartBefore(this.reply, start, this.options.contextTokens);
    const text = this.reply.slice(start, end);
    return {
      index: this.nextIndex++,
      contextStart,
      start,
      end,
      text,
      checkText: this.reply.slice(contextStart, end),
      tokens,
      blank: !/\S/u.test(text),
    };
  }
}

/** Where the last `contextTokens` estimated tokens before `position` start (a piece boundary). */
export function contextStartBefore(text: string, position: number, contextTokens: number): number {
  if (contextTokens <= 0 || position === 0) return position;
  // A generous window: even one-character tokens fit; longer ones only shorten the context.
  const windowStart = Math.max(0, position - contextTokens * 16);
  const window = pieces(text.slice(windowStart, position));
  // The window may begin inside a piece; that piece is not a safe boundary.
  const first = windowStart > 0 ? 1 : 0;
  const i = contextStartIndex((j) => window[j]!.tokens, window.length, contextTokens, 'reach', first);
  return i < window.length ? windowStart + window[i]!.start : position;
}
