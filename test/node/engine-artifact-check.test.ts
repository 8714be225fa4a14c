/** The content checks applied to model files before WebLLM sees them. */
import { describe, expect, test } from 'vitest';
import { ModelLoadError } from '../../src/core/errors.js';
import { findContentProblem, summariseTensorCache } from '../../src/engine/artifact-check.js';

const bytes = (text: string) => new TextEncoder().encode(text);

describe('findContentProblem', () => {
  test('WebAssembly needs the \\0asm version 1 header', () => {
    expect(findContentProblem('wasm', new Uint8Array([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0]))).toBeUndefined();
    expect(findContentProblem('wasm', new Uint8Array([0, 0x61, 0x73, 0x6d, 2, 0, 0, 0]))).toMatch(/header/);
    expect(findContentProblem('wasm', bytes('not found'))).toMatch(/header/);
    expect(findContentProblem('wasm', new Uint8Array(0))).toMatch(/empty/);
  });

  test('an HTML page is recognised whatever was expected', () => {
    for (const kind of ['wasm', 'json', 'binary'] as const) {
      expect(findContentProblem(kind, bytes('\n  <!DOCTYPE html><html></html>'))).toMatch(/HTML/);
    }
  });

  test('JSON must parse to an object', () => {
    expect(findContentProblem('json', bytes('{"a":1}'))).toBeUndefined();
    expect(findContentProblem('json', bytes('[1]'))).toMatch(/object/);
    expect(findContentProblem('json', bytes('{"a":'))).toMatch(/valid JSON/);
  });
});

describe('summariseTensorCache', () => {
  const url = 'https://example.com/m/tensor-cache.json';
  test('sums shard sizes and resolves shard URLs', () => {
    const json = { records: [{ dataPath: 'params_shard_0.bin', nbytes: 10 }, { dataPath: 'params_shard_1.bin', nbytes: 5 }] };
    expect(summariseTensorCache(bytes(JSON.stringify(json)), url)).toEqual({
      shardUrls: ['https://example.com/m/params_shard_0.bin', 'https://example.com/m/params_shard_1.bin'],
      totalBytes: 15,
    });
  });

  test('refuses files that are no tensor cache, naming the URL', () => {
    for (const json of [{}, { records: [{ dataPath: 'x.bin' }] }]) {
      let error: unknown;
      try {
        summariseTensorCache(bytes(JSON.stringify(json)), url);
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(ModelLoadError);
      expect((error as ModelLoadError).url).toBe(url);
    }
  });
});
