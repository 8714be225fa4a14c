/**
 * The length-only bounds that refuse a text before tokenizing it (src/engine/token-budget.ts): UTF-8 length
 * without encoding, and tokens between ceil(bytes / 128) and bytes for a byte-level BPE such as Llama-3's.
 */
import { describe, expect, test } from 'vitest';
import { ContextWindowExceededError } from '../../src/core/errors.js';
import { MAX_COUNTED_BYTES, MAX_TOKEN_BYTES, admitText, utf8ByteLength } from '../../src/engine/token-budget.js';
import { pick, seededRandom, type Random } from '../helpers/prng.js';
import { toyTokenizer } from '../helpers/toy-tokenizer.js';
import { loadLlama3Tokenizer } from './core-llama3-tokenizer.js';

/** Random text mixing ASCII, accents, CJK, emoji (surrogate pairs), lone surrogates, specials and space runs. */
function randomText(rand: Random, length: number): string {
  const parts = ['a', 'Z', ' ', '\n', 'é', 'ß', '中', '文', '😀', '👍🏽', '\ud800', '\udfff', '<|eot_id|>', ' '.repeat(40), '-'.repeat(20), 'safe', '0'];
  let out = '';
  while (out.length < length) out += pick(rand, parts);
  return out;
}

describe('utf8ByteLength', () => {
  test('equals TextEncoder on seeded random text, lone surrogates included', () => {
    const rand = seededRandom(7);
    for (let i = 0; i < 300; i++) {
      const text = randomText(rand, Math.floor(rand() * 200));
      expect(utf8ByteLength(text)).toBe(new TextEncoder().encode(text).length);
    }
  });
});

describe('admitText', () => {
  test('fits when the bytes fit; refused when even 128 bytes per token is too many; counted in between', () => {
    expect(admitText('a'.repeat(100), 100, 100).kind).toBe('fits');
    expect(admitText('a'.repeat(101), 100, 100)).toEqual({ kind: 'count', bytes: 101 });
    expect(admitText('a'.repeat(100 * MAX_TOKEN_BYTES), 100, 100).kind).toBe('count');
    expect(() => admitText('a'.repeat(100 * MAX_TOKEN_BYTES + 1), 100, 100)).toThrow(ContextWindowExceededError);
    expect(() => admitText('é'.repeat(60), 100, 100)).not.toThrow();
  });

  test('never tokenizes more than MAX_COUNTED_BYTES to find out', () => {
    const limit = 131072;
    expect(admitText('a'.repeat(MAX_COUNTED_BYTES), limit, limit).kind).toBe('count');
    const failure = (() => {
      try {
        admitText('a'.repeat(MAX_COUNTED_BYTES + 1), limit, limit);
      } catch (error) {
        return error;
      }
    })();
    expect(failure).toBeInstanceOf(ContextWindowExceededError);
    expect((failure as ContextWindowExceededError).contextWindow).toBe(limit);
  });

  test('its bounds hold for the toy tokenizer on seeded random text', () => {
    const tokenizer = toyTokenizer();
    const rand = seededRandom(11);
    for (let i = 0; i < 200; i++) {
      const text = randomText(rand, 1 + Math.floor(rand() * 400));
      const bytes = utf8ByteLength(text);
      const tokens = tokenizer.encode(text).length;
      expect(tokens).toBeLessThanOrEqual(bytes);
      expect(tokens).toBeGreaterThanOrEqual(Math.ceil(bytes / MAX_TOKEN_BYTES));
    }
  });
});

test('its bounds hold for the real Llama-3 tokenizer (random text, long space and dash runs)', async () => {
  const tokenizer = await loadLlama3Tokenizer();
  const rand = seededRandom(13);
  const texts = [' '.repeat(128), ' '.repeat(4096), '-'.repeat(4096), '/'.repeat(1000) + '*'.repeat(1000)];
  for (let i = 0; i < 100; i++) texts.push(randomText(rand, 1 + Math.floor(rand() * 600)));
  for (const text of texts) {
    const bytes = utf8ByteLength(text);
    const tokens = tokenizer.encode(text).length;
    expect(tokens).toBeLessThanOrEqual(bytes);
    expect(tokens).toBeGreaterThanOrEqual(Math.ceil(bytes / MAX_TOKEN_BYTES));
  }
});
