/**
 * The hold-back buffer's chunk plan (pure code, no guard): where it cuts, what context each check gets, and
 * that the plan does not depend on how the text was split into deltas.
 */
import { describe, expect, test } from 'vitest';
import { Chunker, contextStartBefore, type PlannedChunk } from '../../src/stream/chunker.js';
import { PROMPT_ELISION, promptForChunkChecks } from '../../src/windowing/prompt-budget.js';
import { estimateTokens, pieces } from '../../src/windowing/token-estimate.js';
import { chatPairs } from '../helpers/chat-texts.js';

function plan(deltas: string[], options = { chunkTokens: 40, contextTokens: 10 }): PlannedChunk[] {
  const chunker = new Chunker(options);
  const out: PlannedChunk[] = [];
  for (const d of deltas) out.push(...chunker.push(d));
  out.push(...chunker.finish());
  return out;
}

/** Splits text into pieces of 1..max UTF-16 units, deterministically (may split surrogate pairs). */
function splitEvery(text: string, sizes: number[]): string[] {
  const out: string[] = [];
  for (let at = 0, i = 0; at < text.length; i++) {
    const n = sizes[i % sizes.length]!;
    out.push(text.slice(at, at + n));
    at += n;
  }
  return out;
}

/** Twelve generated assistant replies (prose, lists, code, other scripts, CRLF), one after another. */
const longText = chatPairs(21, 12)
  .map((p) => p.reply)
  .join('\n\n');

describe('chunk plan', () => {
  test('an empty reply has no chunks', () => {
    expect(plan([])).toEqual([]);
    expect(plan(['', ''])).toEqual([]);
  });

  test('chunks tile the reply exactly, in order, with contiguous offsets', () => {
    const chunks = plan([longText]);
    expect(chunks.length).toBeGreaterThan(10);
    expect(chunks.map((c) => c.text).join('')).toBe(longText);
    chunks.forEach((c, i) => {
      expect(c.index).toBe(i);
      expect(c.start).toBe(i === 0 ? 0 : chunks[i - 1]!.end);
      expect(c.text).toBe(longText.slice(c.start, c.end));
      expect(c.checkText).toBe(longText.slice(c.contextStart, c.end));
    });
  });

  test('the plan is the same whether the text arrives whole, char by char or in uneven deltas', () => {
    const whole = plan([longText]).map((c) => [c.contextStart, c.start, c.end]);
    expect(plan(splitEvery(longText, [1])).map((c) => [c.contextStart, c.start, c.end])).toEqual(whole);
    expect(plan(splitEvery(longText, [3, 17, 2, 40, 5])).map((c) => [c.contextStart, c.start, c.end])).toEqual(whole);
  });

  test('full chunks hold at least chunkTokens and close at a sentence end when one lies in their second half', () => {
    const chunks = plan([longText], { chunkTokens: 60, contextTokens: 10 });
    const full = chunks.slice(0, -1);
    let atSentence = 0;
    for (const c of full) {
      const estimate = estimateTokens(c.text);
      expect(estimate).toBeGreaterThanOrEqual(30);
      // A cut at the token limit overshoots by at most the last piece.
      expect(estimate).toBeLessThanOrEqual(60 + 8);
      if (/[.!?]["')\]]*$|\n$/.test(c.text)) atSentence++;
    }
    // Prose with short sentences: nearly every cut is at a sentence or line end.
    expect(atSentence / full.length).toBeGreaterThan(0.8);
  });

  test('text without sentence ends is cut at the token limit, between words', () => {
    const words = Array.from({ length: 300 }, (_, i) => `word${i % 10 === 0 ? 'y' : ''}`).join(' ');
    const chunks = plan([words], { chunkTokens: 50, contextTokens: 5 });
    for (const c of chunks.slice(0, -1)) {
      expect(estimateTokens(c.text)).toBeGreaterThanOrEqual(50);
      // The next chunk starts with the space before a word: no word is split.
      expect(words[c.end]).toBe(' ');
    }
  });

  test('a reply ending mid-sentence ends with a short final chunk holding the rest', () => {
    const text = 'This is one sentence. And this one never ends and keeps going without a stop';
    const chunks = plan(splitEvery(text, [4]), { chunkTokens: 8, contextTokens: 2 });
    expect(chunks.at(-1)!.text.endsWith('without a stop')).toBe(true);
    expect(chunks.map((c) => c.text).join('')).toBe(text);
  });

  test('a whitespace-only remainder is marked blank (released without a check)', () => {
    const text = 'one two three four.\n\n   ';
    const chunks = plan([text], { chunkTokens: 5, contextTokens: 2 });
    expect(chunks.map((c) => c.text)).toEqual(['one two three four.\n\n', '   ']);
    expect(chunks.at(-1)!.blank).toBe(true);
    expect(chunks.slice(0, -1).every((c) => !c.blank)).toBe(true);
  });

  test('a surrogate pair split across deltas is never split by a cut', () => {
    const text = Array.from({ length: 80 }, (_, i) => `emoji 😀 number ${i}. 🎉`).join(' ');
    // Odd delta sizes put many delta ends between the two halves of an emoji.
    const deltas = splitEvery(text, [7, 3, 1, 5]);
    expect(deltas.some((d) => /[\ud800-\udbff]$/.test(d))).toBe(true);
    const chunks = plan(deltas, { chunkTokens: 12, contextTokens: 4 });
    expect(chunks.map((c) => c.text).join('')).toBe(text);
    for (const c of chunks) {
      expect(c.text).not.toMatch(/[\ud800-\udbff]$/);
      expect(c.text).not.toMatch(/^[\udc00-\udfff]/);
      expect(c.checkText).not.toMatch(/^[\udc00-\udfff]/);
    }
  });

  test('rejects nonsense sizes', () => {
    expect(() => new Chunker({ chunkTokens: 0, contextTokens: 5 })).toThrow(RangeError);
    expect(() => new Chunker({ chunkTokens: 10, contextTokens: -1 })).toThrow(RangeError);
    expect(() => new Chunker({ chunkTokens: NaN, contextTokens: 1 })).toThrow(RangeError);
  });
});

describe('context', () => {
  test('each check repeats about contextTokens of the text before its chunk, starting between pieces', () => {
    const chunks = plan([longText], { chunkTokens: 60, contextTokens: 15 });
    expect(chunks[0]!.contextStart).toBe(0);
    const boundaries = new Set(pieces(longText).map((p) => p.start));
    for (const c of chunks.slice(1)) {
      const context = longText.slice(c.contextStart, c.start);
      const estimate = estimateTokens(context);
      expect(estimate).toBeGreaterThanOrEqual(15);
      expect(estimate).toBeLessThanOrEqual(15 + 8);
      expect(boundaries.has(c.contextStart)).toBe(true);
    }
  });

  test('no context asked, none given; near the start, all the text there is', () => {
    expect(contextStartBefore('Hello there world', 11, 0)).toBe(11);
    expect(contextStartBefore('Hello there world', 11, 50)).toBe(0);
  });
});

describe('prompt budget', () => {
  test('a prompt within budget is kept as is; Infinity keeps any prompt', () => {
    expect(promptForChunkChecks('How do I kill a Python process?', 200)).toBe('How do I kill a Python process?');
    expect(promptForChunkChecks(longText, Infinity)).toBe(longText);
  });

  test('a long prompt keeps its beginning and end within the budget', () => {
    const cut = promptForChunkChecks(longText, 120);
    const [head, tail] = cut.split(PROMPT_ELISION);
    expect(longText.startsWith(head!)).toBe(true);
    expect(longText.endsWith(tail!)).toBe(true);
    expect(estimateTokens(head!) + estimateTokens(tail!)).toBeLessThanOrEqual(120);
    expect(estimateTokens(head!)).toBeGreaterThan(estimateTokens(tail!));
    expect(estimateTokens(tail!)).toBeGreaterThan(20);
  });
});
