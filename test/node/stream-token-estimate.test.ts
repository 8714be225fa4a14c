/**
 * The main-thread token estimate against the real Llama-3 tokenizer: it must stay close, and on the high side,
 * so chunks sized by it hold no more real tokens than intended. Measured on our own generated replies, and on
 * XSTest's model completions where that dataset is present (development machines).
 */
import { beforeAll, describe, expect, test } from 'vitest';
import { estimateTokens, pieces } from '../../src/windowing/token-estimate.js';
import { loadCompletions, XSTEST_FILES } from '../../bench/stream-tokens-data.js';
import { chatPairs } from '../helpers/chat-texts.js';
import { referenceOrSkip } from '../helpers/reference-data.js';
import { loadLlama3Tokenizer, type Llama3Tokenizer } from './core-llama3-tokenizer.js';

let tokenizer: Llama3Tokenizer;
beforeAll(async () => {
  tokenizer = await loadLlama3Tokenizer();
});

/** Real and estimated totals over replies, and the share of replies whose ratio lies in [0.9, 1.25]. */
function measure(replies: string[]): { ratio: number; within: number } {
  let real = 0;
  let estimated = 0;
  let within = 0;
  for (const reply of replies) {
    const r = tokenizer.encode(reply).length;
    const e = estimateTokens(reply);
    real += r;
    estimated += e;
    if (e / r >= 0.9 && e / r <= 1.25) within++;
  }
  return { ratio: estimated / real, within: within / replies.length };
}

describe('estimate vs the real tokenizer', () => {
  test.each([1, 2, 3])('generated replies (seed %i): total 0 to 15 pct high, 90 pct of replies within -10 to +25 pct', (seed) => {
    const replies = chatPairs(seed, 300).map((p) => p.reply);
    const { ratio, within } = measure(replies);
    expect(ratio).toBeGreaterThanOrEqual(1);
    expect(ratio).toBeLessThanOrEqual(1.15);
    expect(within).toBeGreaterThanOrEqual(0.9);
  });

  const xstest = referenceOrSkip('datasets/xstest', 'estimate vs the real tokenizer on XSTest replies');
  test.skipIf(!xstest).each(XSTEST_FILES)('XSTest %s: total 0 to 15 pct high, 90 pct of replies within -10 to +25 pct', (file) => {
    const completions = loadCompletions(file).filter((c) => c.completion.length > 100);
    expect(completions.length).toBeGreaterThan(250);
    const { ratio, within } = measure(completions.map((c) => c.completion));
    expect(ratio).toBeGreaterThanOrEqual(1);
    expect(ratio).toBeLessThanOrEqual(1.15);
    expect(within).toBeGreaterThanOrEqual(0.9);
  });

  test.each([
    ['Cyrillic', 'Привет, как дела? Это тестовое сообщение на русском языке, довольно длинное.'],
    ['Chinese', '这是一个测试句子，用于检查分词器的估计是否合理。我们再写一句话。'],
    ['accented Latin', 'Ça coûte très cher à Montréal, évidemment, mais la qualité de vie est élevée.'],
    ['code', 'const x = await fetch(`/api/${id}`);\nif (!x.ok) { throw new Error("bad status " + x.status); }'],
    ['emoji', 'Party time 🎉🎉 with friends 👍 and cake 🍰!'],
    ['markdown table', '| name | value |\n|------|-------|\n| a    | 1     |\n| b    | 22    |'],
  ])('%s: within a factor 0.75..1.5 of the real count', (_name, text) => {
    const ratio = estimateTokens(text) / tokenizer.encode(text).length;
    expect(ratio).toBeGreaterThanOrEqual(0.75);
    expect(ratio).toBeLessThanOrEqual(1.5);
  });
});

describe('pieces', () => {
  test('cover the text exactly, whatever it holds', () => {
    const text = "It's 2024: café, 北京, 😀\u200d👍, lone \ud800 surrogate,\r\n\ttabs   and  spaces   ";
    const list = pieces(text);
    expect(list.map((p) => text.slice(p.start, p.end)).join('')).toBe(text);
    list.forEach((p, i) => expect(p.start).toBe(i === 0 ? 0 : list[i - 1]!.end));
    expect(list.every((p) => p.tokens >= 1)).toBe(true);
  });
});
