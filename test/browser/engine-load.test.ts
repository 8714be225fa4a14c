/**
 * The real WebLLMEngine (a real MLCEngine from @mlc-ai/web-llm 0.2.86) loading against the fixture server,
 * which answers missing files with real 404s. No usable model library exists here, so every load ends in
 * an error: these tests prove which error, naming which URL, and that it comes promptly (each test has a
 * 20 s limit as a hang guard; nothing asserts a duration).
 */
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { prebuiltAppConfig } from '@mlc-ai/web-llm';
import { AegisAbortError, ModelLoadError, ModelNotLoadedError } from '../../src/core/errors.js';
import type { LoadProgress } from '../../src/core/types.js';
import type { ModelSpec } from '../../src/engine/engine.js';
import { resolveModelSpec } from '../../src/engine/model-records.js';
import { preflight } from '../../src/engine/preflight.js';
import { WebLLMEngine } from '../../src/engine/webllm-engine.js';
import { buildModelRecord, stockModelLibUrl } from '../../src/engine/webllm-record.js';

const HANG_GUARD_MS = 20_000;
const models = `${location.origin}/__fixtures/models/`;
const weights = `${models}aegis-fixture-q4f32_1/`;
const lib = (name: string) => `${models}libs/${name}`;
/** The same server under a host name without "localhost": WebLLM caches such a model library. */
const otherHost = location.origin.replace('localhost', '127.0.0.1');

const WEBLLM_SCOPES = ['webllm/config', 'webllm/wasm', 'webllm/model'];

function spec(overrides: Partial<ModelSpec> = {}): ModelSpec {
  return {
    modelId: `aegis-test-${Math.random().toString(36).slice(2)}`,
    variant: 'q4f32_1',
    weightsUrl: weights,
    modelLibUrl: lib('corrupt-body.wasm'),
    baseModel: 'Llama-3.1-8B-Instruct',
    requiredFeatures: [],
    contextWindow: 2048,
    ...overrides,
  };
}

async function loadError(engine: WebLLMEngine, s: ModelSpec, progress?: LoadProgress[], signal?: AbortSignal) {
  const error = await engine
    .load(s, { signal, onProgress: (p) => progress?.push(p) })
    .then(() => new Error('load() resolved, but no model library can work here'))
    .catch((e: unknown) => e);
  return error as Error;
}

async function cachedUrls(scope: string): Promise<string[]> {
  const cache = await caches.open(scope);
  return (await cache.keys()).map((request) => request.url);
}

let engine: WebLLMEngine;
beforeEach(async () => {
  for (const scope of WEBLLM_SCOPES) await caches.delete(scope);
  engine = new WebLLMEngine();
});
afterEach(async () => {
  await engine.unload();
});

describe('the model record', () => {
  test('the stock library URL is the one WebLLM 0.2.86 lists for Llama-3.1-8B-Instruct, for both variants', () => {
    const listed = new Set(prebuiltAppConfig.model_list.map((record) => record.model_lib));
    for (const variant of ['q4f16_1', 'q4f32_1']) {
      const url = stockModelLibUrl('Llama-3.1-8B-Instruct', variant);
      expect(url).toContain(`Llama-3_1-8B-Instruct-${variant}_cs1k-webgpu.wasm`);
      expect(listed.has(url)).toBe(true);
      const prebuilt = prebuiltAppConfig.model_list.find((r) => r.model_id === `Llama-3.1-8B-Instruct-${variant}-MLC`);
      expect(prebuilt?.model_lib).toBe(url);
    }
  });

  test('an AegisGuard spec without modelLibUrl gets the stock library and the overrides', async () => {
    const built = resolveModelSpec({ kind: 'aegis', weightsUrl: `${models}aegis-{variant}`, variant: 'auto' }, await preflight());
    const record = buildModelRecord(built);
    expect(record.model_lib).toBe(stockModelLibUrl('Llama-3.1-8B-Instruct', 'q4f32_1'));
    expect(record.model_id).toBe('aegis-guard-2.0-q4f32_1');
    expect(record.overrides).toMatchObject({ context_window_size: 4096, sliding_window_size: -1 });
    expect(record.required_features).toBeUndefined();
  });
});

describe('loading failures name the URL that failed', () => {
  test('(a) a missing weights folder: ModelLoadError naming its mlc-chat-config.json', async () => {
    const missing = `${models}no-such-model/`;
    const error = await loadError(engine, spec({ weightsUrl: missing }));
    expect(error).toBeInstanceOf(ModelLoadError);
    expect((error as ModelLoadError).url).toBe(`${missing}mlc-chat-config.json`);
    expect(error.message).toMatch(/HTTP 404/);
  }, HANG_GUARD_MS);

  test('(b) config present, model library 404: ModelLoadError naming the library', async () => {
    const url = lib('missing.wasm');
    const error = await loadError(engine, spec({ modelLibUrl: url }));
    expect(error).toBeInstanceOf(ModelLoadError);
    expect((error as ModelLoadError).url).toBe(url);
    expect(error.message).toMatch(/HTTP 404/);
  }, HANG_GUARD_MS);

  test('(c) a library that is not WebAssembly (junk bytes): ModelLoadError naming the library', async () => {
    const url = lib('not-wasm.wasm');
    const error = await loadError(engine, spec({ modelLibUrl: url }));
    expect(error).toBeInstanceOf(ModelLoadError);
    expect((error as ModelLoadError).url).toBe(url);
    expect(error.message).toMatch(/WebAssembly header/);
  }, HANG_GUARD_MS);

  test('(c) a library URL answered 200 with some other body: ModelLoadError naming it', async () => {
    const url = lib('__status/200/whatever.wasm');
    const error = await loadError(engine, spec({ modelLibUrl: url }));
    expect(error).toBeInstanceOf(ModelLoadError);
    expect((error as ModelLoadError).url).toBe(url);
  }, HANG_GUARD_MS);

  test('(c) a corrupt module WebLLM itself fails to compile: ModelLoadError naming the library', async () => {
    const url = lib('corrupt-body.wasm');
    const progress: LoadProgress[] = [];
    const error = await loadError(engine, spec({ modelLibUrl: url }), progress);
    expect(error).toBeInstanceOf(ModelLoadError);
    expect((error as ModelLoadError).url).toBe(url);
    expect(error.message).toMatch(/CompileError/);
    // It got as far as WebLLM's reload, which read the config we cached under our exact folder URL
    // (WebLLM would otherwise have appended resolve/main/ and fetched a 404).
    expect(progress.some((p) => p.phase === 'fetching')).toBe(true);
    const configs = await cachedUrls('webllm/config');
    expect(configs).toEqual([`${weights}mlc-chat-config.json`]);
    expect(configs.some((u) => u.includes('resolve/main'))).toBe(false);
  }, HANG_GUARD_MS);

  test('(c) a valid WebAssembly module that is no model library: ModelLoadError naming it', async () => {
    const url = lib('empty-module.wasm');
    const error = await loadError(engine, spec({ modelLibUrl: url }));
    expect(error).toBeInstanceOf(ModelLoadError);
    expect((error as ModelLoadError).url).toBe(url);
    expect(error.message).toMatch(/Starting the model library/);
  }, HANG_GUARD_MS);

  test('a library on a host without "localhost" is cached for WebLLM, and a bad cached copy is replaced', async () => {
    const url = `${otherHost}/__fixtures/models/libs/corrupt-body.wasm`;
    const wasmCache = await caches.open('webllm/wasm');
    // What an earlier, unchecked load could have left behind: a dev server's HTML page stored as the library.
    await wasmCache.put(url, new Response('<!doctype html><title>app</title>', { headers: { 'content-type': 'text/html' } }));
    const error = await loadError(engine, spec({ modelLibUrl: url }));
    expect(error).toBeInstanceOf(ModelLoadError);
    expect((error as ModelLoadError).url).toBe(url);
    expect(error.message).toMatch(/CompileError/);
    const stored = new Uint8Array(await (await wasmCache.match(url))!.arrayBuffer());
    const served = new Uint8Array(await (await fetch(lib('corrupt-body.wasm'))).arrayBuffer());
    expect(stored).toEqual(served);
  }, HANG_GUARD_MS);

  test('a WebLLM record without /resolve/ is fetched where WebLLM looks: under resolve/main/', async () => {
    const record = { model: `${models}aegis-fixture-q4f32_1`, model_id: 'custom-record', model_lib: lib('corrupt-body.wasm') };
    const error = await loadError(engine, resolveModelSpec({ kind: 'record', record }, await preflight()));
    expect(error).toBeInstanceOf(ModelLoadError);
    expect((error as ModelLoadError).url).toBe(`${weights}resolve/main/mlc-chat-config.json`);
  }, HANG_GUARD_MS);
});

describe('progress', () => {
  test('(e) phases arrive in order, each one monotonic, before WebLLM reports anything itself', async () => {
    const progress: LoadProgress[] = [];
    await loadError(engine, spec(), progress);
    const phases = progress.map((p) => p.phase);
    expect(phases[0]).toBe('preflight');
    expect(phases).toContain('fetching');
    const order = ['preflight', 'fetching', 'loading', 'compiling', 'ready'];
    for (let i = 1; i < progress.length; i++) {
      const previous = progress[i - 1]!;
      const current = progress[i]!;
      expect(order.indexOf(current.phase)).toBeGreaterThanOrEqual(order.indexOf(previous.phase));
      if (current.phase === previous.phase) expect(current.progress).toBeGreaterThanOrEqual(previous.progress);
    }
    expect(progress.every((p) => p.progress >= 0 && p.progress <= 1 && p.text.length > 0)).toBe(true);
    expect(phases).not.toContain('ready');
  }, HANG_GUARD_MS);
});

describe('cancelling a load', () => {
  test('(d) an already aborted signal rejects at once with AegisAbortError', async () => {
    const error = await loadError(engine, spec(), undefined, AbortSignal.abort());
    expect(error).toBeInstanceOf(AegisAbortError);
  }, HANG_GUARD_MS);

  test('(d) aborting while the files are checked rejects with AegisAbortError', async () => {
    const controller = new AbortController();
    const progress: LoadProgress[] = [];
    const loading = engine.load(spec(), {
      signal: controller.signal,
      onProgress: (p) => {
        progress.push(p);
        if (p.text.includes('mlc-chat-config.json')) controller.abort();
      },
    });
    await expect(loading).rejects.toBeInstanceOf(AegisAbortError);
    expect(progress.some((p) => p.text.includes('mlc-chat-config.json'))).toBe(true);
  }, HANG_GUARD_MS);

  test('(d) aborting as WebLLM reload starts rejects with AegisAbortError, and the engine stays usable', async () => {
    const controller = new AbortController();
    const loading = engine.load(spec(), {
      signal: controller.signal,
      onProgress: (p) => {
        // The 'fetching' event comes right before reload() is called; the abort lands once it runs.
        if (p.phase === 'fetching') setTimeout(() => controller.abort(), 0);
      },
    });
    await expect(loading).rejects.toBeInstanceOf(AegisAbortError);
    // The abandoned reload is waited for and undone; the next load runs normally to its own error.
    const url = lib('missing.wasm');
    const error = await loadError(engine, spec({ modelLibUrl: url }));
    expect(error).toBeInstanceOf(ModelLoadError);
    expect((error as ModelLoadError).url).toBe(url);
  }, HANG_GUARD_MS);

  test('unload() during a load rejects the load with AegisAbortError', async () => {
    const loading = engine.load(spec(), {
      onProgress: (p) => {
        if (p.phase === 'fetching') setTimeout(() => void engine.unload(), 0);
      },
    });
    await expect(loading).rejects.toBeInstanceOf(AegisAbortError);
  }, HANG_GUARD_MS);

  test('a second load() supersedes the first', async () => {
    const first = engine.load(spec());
    const url = lib('missing.wasm');
    const second = loadError(engine, spec({ modelLibUrl: url }));
    await expect(first).rejects.toBeInstanceOf(AegisAbortError);
    const error = await second;
    expect(error).toBeInstanceOf(ModelLoadError);
    expect((error as ModelLoadError).url).toBe(url);
  }, HANG_GUARD_MS);
});

describe('without a loaded model', () => {
  test('complete() rejects with ModelNotLoadedError and tokens() is undefined', async () => {
    await expect(engine.complete('<|begin_of_text|>hi', { maxTokens: 4 })).rejects.toBeInstanceOf(ModelNotLoadedError);
    expect(engine.tokens()).toBeUndefined();
    await loadError(engine, spec());
    await expect(engine.complete('<|begin_of_text|>hi', { maxTokens: 4 })).rejects.toBeInstanceOf(ModelNotLoadedError);
    expect(engine.tokens()).toBeUndefined();
  }, HANG_GUARD_MS);
});
