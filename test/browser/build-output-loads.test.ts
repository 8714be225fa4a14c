/**
 * A folder written by build-model loads in Chromium through WebLLM 0.2.86's real MLCEngine.reload() up to
 * the model library: WebLLM fetches and parses our mlc-chat-config.json, then fails on the library, which
 * here is deliberately not WebAssembly (no real library can be fetched in this environment). WebLLM's own
 * cache helpers also read our tensor-cache.json. The fixture is the committed output of the builder
 * (test/fixtures/generated, kept byte-identical to a fresh build by test/node/build-fixture.test.ts).
 */
import { deleteModelAllInfoInCache, hasModelInCache, MLCEngine, type AppConfig } from '@mlc-ai/web-llm';
import { afterEach, describe, expect, test } from 'vitest';

const MODEL_ID = 'aegis-build-fixture';
const modelUrl = new URL('/__fixtures/generated/tiny-llama-q4f32_1/resolve/main/', location.origin).href;
const libUrl = new URL('/__fixtures/generated/not-a-model-lib.wasm', location.origin).href;

function appConfig(model = modelUrl): AppConfig {
  return { model_list: [{ model, model_id: MODEL_ID, model_lib: libUrl }] };
}

interface EngineInternals {
  loadedModelIdToChatConfig: Map<string, Record<string, unknown>>;
}

afterEach(async () => {
  for (const scope of ['webllm/config', 'webllm/wasm', 'webllm/model']) await caches.delete(scope);
});

describe('build-model output in WebLLM', () => {
  test('reload() parses the generated mlc-chat-config.json, then fails at the model library', async () => {
    const engine = new MLCEngine({ appConfig: appConfig(), logLevel: 'SILENT' });
    const error = await engine.reload(MODEL_ID).then(
      () => undefined,
      (e: unknown) => e,
    );
    // The failure is WebAssembly compiling the stand-in library...
    expect(error).toBeInstanceOf(WebAssembly.CompileError);
    // ...after WebLLM merged our config into its chat config (reloadInternal stores it before the library).
    const config = (engine as unknown as EngineInternals).loadedModelIdToChatConfig.get(MODEL_ID);
    expect(config).toBeDefined();
    expect(config).toMatchObject({
      model_type: 'llama',
      quantization: 'q4f32_1',
      sliding_window_size: -1,
      context_window_size: 1024,
      tokenizer_files: ['tokenizer.json', 'tokenizer_config.json'],
      conv_template: { name: 'llama-3_1', stop_token_ids: [128001, 128008, 128009], seps: ['<|eot_id|>'] },
    });
    // And the bytes it parsed are the committed file, fetched through WebLLM's config cache.
    const cached = await (await caches.open('webllm/config')).match(new URL('mlc-chat-config.json', modelUrl).href);
    const served = await (await fetch(new URL('mlc-chat-config.json', modelUrl))).json();
    expect(await cached!.json()).toEqual(served);
  });

  test('control: without a config the failure comes earlier and is not the library', async () => {
    const missing = new URL('/__fixtures/__status/404/generated/none/resolve/main/', location.origin).href;
    const engine = new MLCEngine({ appConfig: appConfig(missing), logLevel: 'SILENT' });
    const error = await engine.reload(MODEL_ID).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeDefined();
    expect(error).not.toBeInstanceOf(WebAssembly.CompileError);
    expect((engine as unknown as EngineInternals).loadedModelIdToChatConfig.get(MODEL_ID)).toBeUndefined();
  });

  test("WebLLM's tensor-cache reader accepts the generated tensor-cache.json; records fit their shards", async () => {
    const config = appConfig();
    const cache = await caches.open('webllm/model');
    await cache.add(new URL('tensor-cache.json', modelUrl).href);
    expect(await hasModelInCache(MODEL_ID, config)).toBe(false); // shards not cached yet
    const tensorCache = (await (await fetch(new URL('tensor-cache.json', modelUrl))).json()) as {
      records: Array<{ dataPath: string; nbytes: number; format: string; records: Array<{ name: string; nbytes: number; byteOffset: number; shape: number[]; dtype: string }> }>;
    };
    for (const shard of tensorCache.records) {
      const url = new URL(shard.dataPath, modelUrl).href;
      await cache.add(url);
      const bytes = await (await cache.match(url))!.arrayBuffer();
      expect(bytes.byteLength).toBe(shard.nbytes);
      expect(shard.format).toBe('raw-shard');
      for (const r of shard.records) {
        expect(r.nbytes).toBe(r.shape.reduce((a, b) => a * b, 1) * (r.dtype === 'float16' ? 2 : 4));
        expect(r.byteOffset + r.nbytes).toBeLessThanOrEqual(bytes.byteLength);
      }
    }
    // WebLLM lists the shards from our tensor-cache.json and finds each one.
    expect(await hasModelInCache(MODEL_ID, config)).toBe(true);
    await deleteModelAllInfoInCache(MODEL_ID, config);
    expect(await hasModelInCache(MODEL_ID, config)).toBe(false);
  });
});
