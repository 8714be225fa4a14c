/**
 * Cuts a judged text into pieces at the spans a long check found unsafe, so a message shown anyway can point
 * at them. Spans come from the verdict (UTF-16 offsets into the judged text); they are treated as untrusted:
 * clamped to the text, merged where they overlap or touch, and widened off the middle of a surrogate pair.
 */
import type { TextSpan } from '../core/types.js';
import { mergeSpans } from '../core/verdict.js';

export interface TextPiece {
  text: string;
  unsafe: boolean;
}

/**
 * The pieces of `text`, in order: joined they are `text` exactly; no piece is empty and no two neighbours have
 * the same `unsafe`. Spans that are not finite, or empty once clamped, are ignored.
 */
export function unsafePieces(text: string, spans: readonly TextSpan[] | undefined): TextPiece[] {
  const marked = normalizedSpans(text, spans ?? []);
  const pieces: TextPiece[] = [];
  let at = 0;
  for (const span of marked) {
    if (span.start > at) pieces.push({ text: text.slice(at, span.start), unsafe: false });
    pieces.push({ text: text.slice(span.start, span.end), unsafe: true });
    at = span.end;
  }
  if (at < text.length || pieces.length === 0) pieces.push({ text: text.slice(at), unsafe: false });
  return pieces.filter((p) => p.text !== '');
}

function normalizedSpans(text: string, spans: readonly TextSpan[]): TextSpan[] {
  const clamped: TextSpan[] = [];
  for (const span of spans) {
    if (typeof span !== 'object' || span === null || !Number.isFinite(span.start) || !Number.isFinite(span.end)) continue;
    const start = clamp(Math.floor(span.start), text.length);
    const end = clamp(Math.ceil(span.end), text.length);
    if (end > start) clamped.push({ start: offCodePointMiddle(text, start, -1), end: offCodePointMiddle(text, end, +1) });
  }
  return mergeSpans(clamped);
}

function clamp(offset: number, length: number): number {
  return Math.min(Math.max(offset, 0), length);
}

/** Moves an offset that falls between a high and a low surrogate one unit in `direction`. */
function offCodePointMiddle(text: string, offset: number, direction: -1 | 1): number {
  if (offset <= 0 || offset >= text.length) return offset;
  const before = text.charCodeAt(offset - 1);
  const after = text.charCodeAt(offset);
  const splitsPair = before >= 0xd800 && before <= 0xdbff && after >= 0xdc00 && after <= 0xdfff;
  return splitsPair ? offset + direction : offset;
}
