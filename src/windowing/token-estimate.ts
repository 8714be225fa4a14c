/**
 * Approximate Llama-3 token counts where no tokenizer is at hand: on the main thread (the real one lives in
 * the worker, inside WebLLM) and in the worker when the engine offers no token access.
 *
 * How: text is split with the Llama-3 pre-tokenizer's own pattern (the regex its BPE runs on: contractions,
 * letter runs with one leading non-letter, 1-3 digit groups, punctuation runs, whitespace). BPE never merges
 * across those pieces, so every piece is at least one token; a piece is estimated as more than one token
 * only by its length (long words, symbol runs, non-Latin scripts split into several tokens). The weights
 * were fitted against the real tokenizer on XSTest replies and kept on the high side, so a chunk sized to N
 * estimated tokens holds at most about N real ones (test/node/stream-token-estimate.test.ts measures it).
 *
 * Pieces are also the only places windows are cut: a cut between pieces never splits a word, a digit group
 * or a UTF-16 surrogate pair (the pattern runs in unicode mode, so a pair is one code point), and is a token
 * boundary of the real tokenizer (its BPE never merges across pieces). One exception bounds the work per
 * piece: a piece longer than {@link MAX_PIECE_CHARS} (a run of thousands of letters or spaces) is split into
 * parts of that length, still between code points.
 */

/** The Llama-3 pre-tokenizer pattern (unicode mode). */
export const PIECE_PATTERN =
  /'(?:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+/giu;

const LATIN_LETTERS = /^[^\p{L}]?[A-Za-z]+$/u;
const LETTERS = /\p{L}/gu;
const WIDE_SCRIPT = /[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Hangul}\p{Script=Thai}]/gu;

/** Estimated tokens of one pre-tokenizer piece. */
export function estimatePieceTokens(piece: string): number {
  if (LATIN_LETTERS.test(piece)) {
    // Common English words are one token up to ~8 letters (with their leading space); longer ones split.
    const letters = piece.length - (/^[A-Za-z]/.test(piece) ? 0 : 1);
    return letters <= 8 ? 1 : Math.ceil(letters / 5.5);
  }
  const letters = piece.match(LETTERS)?.length ?? 0;
  if (letters > 0) {
    // CJK, Thai and the like: about one token per character; other scripts (Cyrillic, accented Latin) about
    // one per 2.5 letters.
    const wide = piece.match(WIDE_SCRIPT)?.length ?? 0;
    return Math.max(1, wide + Math.ceil((letters - wide) / 2.5));
  }
  if (/^\p{N}+$/u.test(piece)) return 1;
  if (/^\s+$/u.test(piece)) return Math.max(1, Math.ceil(piece.length / 16));
  // Punctuation and symbol runs (code, markdown): about one token per two characters; emoji are several.
  const codePoints = [...piece.trim()].length;
  const astral = piece.length - [...piece].length;
  return Math.max(1, Math.ceil(codePoints / 2) + 2 * astral);
}

/** One piece of text: where it starts and ends (exclusive), in UTF-16 units, and its estimated tokens. */
export interface Piece {
  start: number;
  end: number;
  tokens: number;
}

/** Longest piece, in UTF-16 units; longer pre-tokenizer pieces are split (see the header). */
export const MAX_PIECE_CHARS = 64;

/** `at`, moved back by one when it falls between the two halves of a surrogate pair. */
export function codePointBoundary(text: string, at: number): number {
  const before = text.charCodeAt(at - 1);
  const after = text.charCodeAt(at);
  return before >= 0xd800 && before <= 0xdbff && after >= 0xdc00 && after <= 0xdfff ? at - 1 : at;
}

/**
 * The pieces of `text` from `from` on, lazily (a scan can stop and resume: the pattern only looks ahead).
 * `from` must be a piece start (0, or the start of a piece from an earlier scan).
 */
export function* iteratePieces(text: string, from = 0): Generator<Piece, void, undefined> {
  const re = new RegExp(PIECE_PATTERN.source, PIECE_PATTERN.flags);
  re.lastIndex = from;
  for (let m = re.exec(text); m !== null; m = re.exec(text)) {
    const match = m[0];
    if (match.length === 0) {
      re.lastIndex++;
      continue;
    }
    const end = m.index + match.length;
    for (let start = m.index; start < end; ) {
      // A split lands on a code point boundary; a part is never empty (a pair is 2 units, the limit more).
      const cut = end - start <= MAX_PIECE_CHARS ? end : codePointBoundary(text, start + MAX_PIECE_CHARS);
      yield { start, end: cut, tokens: estimatePieceTokens(text.slice(start, cut)) };
      start = cut;
    }
  }
}

/** Splits `text` (from `from` on, a piece start) into pieces with their estimates. */
export function pieces(text: string, from = 0): Piece[] {
  return Array.from(iteratePieces(text, from));
}

/** Estimated Llama-3 tokens of `text`. */
export function estimateTokens(text: string): number {
  let total = 0;
  for (const p of iteratePieces(text)) total += p.tokens;
  return total;
}
