/**
 * The real Llama-3.1 tokenizer (from the registry package, with Llama 3.1's special-token names: see
 * test/helpers/llama31-tokenizer.ts) through @mlc-ai/web-tokenizers, the same tokenizer WebLLM uses, in Node.
 *
 * The package is a UMD bundle inside a `"type": "module"` package: Node's ESM loader fails on it ("require is
 * not defined") and `require()` refuses it as ESM, so it is compiled here as the CommonJS module it really is.
 */
import Module, { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Tokenizer } from '@mlc-ai/web-tokenizers';
import { llama31TokenizerJson } from '../helpers/llama31-tokenizer.js';

interface CommonJsModule {
  filename: string;
  paths: string[];
  exports: unknown;
  _compile(source: string, filename: string): void;
}
interface ModuleInternals {
  new (id: string): CommonJsModule;
  _nodeModulePaths(dir: string): string[];
}

function loadWebTokenizers(): { Tokenizer: typeof Tokenizer } {
  const file = createRequire(import.meta.url).resolve('@mlc-ai/web-tokenizers');
  const M = Module as unknown as ModuleInternals;
  const m = new M(file);
  m.filename = file;
  m.paths = M._nodeModulePaths(dirname(file));
  m._compile(readFileSync(file, 'utf8'), file);
  return m.exports as { Tokenizer: typeof Tokenizer };
}

/** Encodes like WebLLM: special-token spellings become special ids; no BOS is added. */
export interface Llama3Tokenizer {
  encode(text: string): number[];
  decode(ids: number[]): string;
}

/** A tokenizer from tokenizer.json bytes, through @mlc-ai/web-tokenizers as WebLLM loads it. */
export async function loadTokenizerFromJson(json: Uint8Array): Promise<Llama3Tokenizer> {
  const { Tokenizer: T } = loadWebTokenizers();
  const tokenizer = await T.fromJSON(json.buffer.slice(json.byteOffset, json.byteOffset + json.byteLength) as ArrayBuffer);
  return {
    encode: (text) => Array.from(tokenizer.encode(text)),
    decode: (ids) => tokenizer.decode(Int32Array.from(ids)),
  };
}

/** The Llama-3.1 tokenizer of the model (registry package, Llama 3.1 special-token names). */
export function loadLlama3Tokenizer(): Promise<Llama3Tokenizer> {
  return loadTokenizerFromJson(llama31TokenizerJson());
}
