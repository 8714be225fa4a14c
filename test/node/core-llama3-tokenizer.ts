/**
 * The real Llama-3 tokenizer (../shared/tokenizer/llama-3/tokenizer.json) through @mlc-ai/web-tokenizers, the
 * same tokenizer WebLLM uses, loaded in Node.
 *
 * The package is a UMD bundle inside a `"type": "module"` package: Node's ESM loader fails on it ("require is
 * not defined") and `require()` refuses it as ESM, so it is compiled here as the CommonJS module it really is.
 */
import Module, { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Tokenizer } from '@mlc-ai/web-tokenizers';

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

export const TOKENIZER_JSON = fileURLToPath(new URL('../../../shared/tokenizer/llama-3/tokenizer.json', import.meta.url));

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

export async function loadLlama3Tokenizer(): Promise<Llama3Tokenizer> {
  const { Tokenizer: T } = loadWebTokenizers();
  const json = readFileSync(TOKENIZER_JSON);
  const tokenizer = await T.fromJSON(json.buffer.slice(json.byteOffset, json.byteOffset + json.byteLength));
  return {
    encode: (text) => Array.from(tokenizer.encode(text)),
    decode: (ids) => tokenizer.decode(Int32Array.from(ids)),
  };
}
