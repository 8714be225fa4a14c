/**
 * The pieces a message shown anyway is cut into, against an independent model: a flag per UTF-16 unit set
 * by each span, spread to both halves of a surrogate pair, read back as runs.
 */
import { describe, expect, test } from 'vitest';
import type { TextSpan } from '../../src/core/types.js';
import { unsafePieces, type TextPiece } from '../../src/element/unsafe-pieces.js';
import { between, int, pick, seededRandom } from '../helpers/prng.js';

function modelPieces(text: string, spans: readonly TextSpan[]): TextPiece[] {
  const flags = new Array<boolean>(text.length).fill(false);
  for (const { start, end } of spans) {
    if (!Number.isFinite(start) || !Number.isFinite(end)) continue;
    for (let i = Math.max(0, Math.floor(start)); i < Math.min(text.length, Math.ceil(end)); i++) flags[i] = true;
  }
  for (let i = 0; i + 1 < text.length; i++) {
    const high = text.charCodeAt(i) >= 0xd800 && text.charCodeAt(i) <= 0xdbff;
    const low = text.charCodeAt(i + 1) >= 0xdc00 && text.charCodeAt(i + 1) <= 0xdfff;
    if (high && low && (flags[i] || flags[i + 1])) flags[i] = flags[i + 1] = true;
  }
  const pieces: TextPiece[] = [];
  for (let i = 0; i < text.length; i++) {
    const last = pieces.at(-1);
    if (last && last.unsafe === flags[i]) last.text += text[i];
    else pieces.push({ text: text[i]!, unsafe: flags[i]! });
  }
  return pieces;
}

describe('unsafePieces', () => {
  test('one span in the middle, none, and the whole text', () => {
    expect(unsafePieces('abcdef', [{ start: 2, end: 4 }])).toEqual([
      { text: 'ab', unsafe: false },
      { text: 'cd', unsafe: true },
      { text: 'ef', unsafe: false },
    ]);
    expect(unsafePieces('abc', [])).toEqual([{ text: 'abc', unsafe: false }]);
    expect(unsafePieces('abc', undefined)).toEqual([{ text: 'abc', unsafe: false }]);
    expect(unsafePieces('abc', [{ start: -5, end: 99 }])).toEqual([{ text: 'abc', unsafe: true }]);
    expect(unsafePieces('', [{ start: 0, end: 3 }])).toEqual([]);
  });

  test('a span ending inside an emoji takes the whole emoji', () => {
    expect(unsafePieces('a😀b', [{ start: 0, end: 2 }])).toEqual([
      { text: 'a😀', unsafe: true },
      { text: 'b', unsafe: false },
    ]);
    expect(unsafePieces('a😀b', [{ start: 2, end: 4 }])).toEqual([
      { text: 'a', unsafe: false },
      { text: '😀b', unsafe: true },
    ]);
  });

  test('generated texts and hostile spans agree with the model', () => {
    const random = seededRandom(2024);
    const alphabet = ['a', 'b', ' ', '.', '\n', '😀', 'é', '東', '\ud800', '\udc00'];
    const offsets = (length: number) => pick(random, [() => between(random, -3, length + 3), () => between(random, 0, length) + 0.5, () => Number.NaN, () => Infinity, () => -Infinity])();
    for (let round = 0; round < 3_000; round++) {
      let text = '';
      const size = int(random, 40);
      for (let i = 0; i < size; i++) text += pick(random, alphabet);
      const spans: TextSpan[] = [];
      for (let i = int(random, 6); i > 0; i--) spans.push({ start: offsets(text.length), end: offsets(text.length) });
      const pieces = unsafePieces(text, spans);
      expect(pieces.map((p) => p.text).join('')).toBe(text);
      expect(pieces).toEqual(modelPieces(text, spans));
    }
  });
});
