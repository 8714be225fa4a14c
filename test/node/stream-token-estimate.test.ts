/**
 * The main-thread token estimate against the real Llama-3 tokenizer: it must stay close, and on the high side,
 * so chunks sized by it hold no more real tokens than intended.
 */
import { beforeAll, describe, expect, test } from 'vitest';
import { estimateTokens, pieces } from '../../src/windowing/token-estimate.js';
import { loadCompletions, XSTEST_FILES } from '../../bench/stream-tokens-data.js';
import { loadLlama3Tokenizer, type Llama3Tokenizer } from './core-llama3-tokenizer.js';

let tokenizer: Llama3Tokenizer;
beforeAll(async () => {
  tokenizer = await loadLlama3Tokenizer();
});

describe('estimate vs the real tokenizer', () => {
  test.each(XSTEST_FILES)('%s: total 0 to 15 pct high, 90 pct of replies within -10 to +25 pct', (file) => {
    const completions = loadCompletions(file).filter((c) => c.completion.length > 100);
    expect(completions.length).toBeGreaterThan(250);
    let real = 0;
    let estimated = 0;
    const ratios: number[] = [];
    for (const c of completions) {
      const r = tokenizer.encode(c.completion).length;
      const e = estimateTokens(c.completion);
      real += r;
      estimated += e;
      ratios.push(e / r);
    }
    expect(estimated / real).toBeGreaterThanOrEqual(1);
    expect(estimated / real).toBeLessThanOrEqual(1.15);
    const within = ratios.filter((x) => x >= 0.9 && x <= 1.25).length;
    expect(within / ratios.length).toBeGreaterThanOrEqual(0.9);
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
