/**
 * toAegisError against the errors WebLLM 0.2.86 really throws. WebLLM's classes are not exported, so each
 * is rebuilt here with its `name` and the message text from node_modules/@mlc-ai/web-llm/lib/index.js.
 */
import { describe, expect, test } from 'vitest';
import {
  AegisAbortError,
  AegisInputError,
  ContextWindowExceededError,
  DeviceLostError,
  EngineError,
  ModelLoadError,
  ModelNotLoadedError,
  WebGPUUnavailableError,
} from '../../src/core/errors.js';
import { toAegisError } from '../../src/engine/webllm-errors.js';

function webllmError(name: string, message: string): Error {
  const error = new Error(message);
  error.name = name;
  return error;
}

const lib = 'https://example.com/libs/Llama-3_1-8B-Instruct-q4f32_1_cs1k-webgpu.wasm';
const weightsUrl = 'https://example.com/models/aegis-guard-2.0-q4f32_1/';
const load = { operation: 'load' as const, modelLibUrl: lib, weightsUrl };

describe('GPU problems become WebGPUUnavailableError with a reason', () => {
  test.each([
    [webllmError('ShaderF16SupportError', 'This model requires WebGPU extension shader-f16, which is not enabled in this browser.'), 'feature:shader-f16'],
    [webllmError('FeatureSupportError', 'This model requires feature subgroups, which is not yet supported by this browser.'), 'feature:subgroups'],
    [webllmError('WebGPUNotAvailableError', 'WebGPU is not supported in your current environment, but it is necessary to run the WebLLM engine.'), 'no-navigator-gpu'],
    [new Error("Unable to find a compatible GPU. This issue might be because your computer doesn't have a GPU"), 'no-adapter'],
    [new Error('Cannot initialize runtime because of requested maxBufferSize exceeds limit. requested=256MB, limit=128MB. Consider upgrading your browser.'), 'limit:maxBufferSize'],
    [new Error('Cannot initialize runtime because of requested maxStorageBuffersPerShaderStage exceeds limit. requested=10, limit=8. '), 'limit:maxStorageBuffersPerShaderStage'],
  ])('%s', (error, reason) => {
    const mapped = toAegisError(error, load);
    expect(mapped).toBeInstanceOf(WebGPUUnavailableError);
    expect((mapped as WebGPUUnavailableError).reason).toBe(reason);
    expect(mapped.cause).toBe(error);
  });
});

describe('model files', () => {
  test('a CompileError or LinkError names the model library', () => {
    for (const name of ['CompileError', 'LinkError']) {
      const mapped = toAegisError(webllmError(name, 'WebAssembly.instantiate(): expected magic word 00 61 73 6d'), load);
      expect(mapped).toBeInstanceOf(ModelLoadError);
      expect((mapped as ModelLoadError).url).toBe(lib);
      expect(mapped.message).toContain(lib);
    }
  });

  test('a real WebAssembly.CompileError is recognised too', async () => {
    const error = await WebAssembly.compile(new Uint8Array([1, 2, 3, 4])).catch((e: unknown) => e);
    const mapped = toAegisError(error, load);
    expect(mapped).toBeInstanceOf(ModelLoadError);
    expect((mapped as ModelLoadError).url).toBe(lib);
  });

  test("Cache.add's URL-less failure takes the URL WebLLM logged", () => {
    const shard = `${weightsUrl}params_shard_3.bin`;
    const error = new TypeError("Failed to execute 'add' on 'Cache': Request failed");
    const mapped = toAegisError(error, { ...load, stage: 'weights', failedUrl: shard });
    expect(mapped).toBeInstanceOf(ModelLoadError);
    expect((mapped as ModelLoadError).url).toBe(shard);
  });

  test('"Cannot fetch <url>" and the OPFS/IndexedDB messages carry their URL', () => {
    const url = `${weightsUrl}tokenizer.json`;
    for (const message of [
      `Cannot fetch ${url}`,
      `ArtifactOPFSCache: Unable to fetch ${url}, received status 404`,
      `Failed to store ${url} with error: Error: Network response was not ok`,
    ]) {
      const mapped = toAegisError(new Error(message), load);
      expect(mapped).toBeInstanceOf(ModelLoadError);
      expect((mapped as ModelLoadError).url).toBe(url);
    }
  });

  test('IntegrityError keeps its url field', () => {
    const error = Object.assign(webllmError('IntegrityError', 'Integrity verification failed for x'), { url: lib });
    const mapped = toAegisError(error, load);
    expect(mapped).toBeInstanceOf(ModelLoadError);
    expect((mapped as ModelLoadError).url).toBe(lib);
  });

  test('configuration errors name mlc-chat-config.json', () => {
    const error = webllmError('WindowSizeConfigurationError', 'Only one of context_window_size and sliding_window_size can be positive.');
    const mapped = toAegisError(error, load);
    expect(mapped).toBeInstanceOf(ModelLoadError);
    expect((mapped as ModelLoadError).url).toBe(`${weightsUrl}mlc-chat-config.json`);
  });

  test('an unexplained error while starting the runtime blames the model library', () => {
    const mapped = toAegisError(new TypeError("Cannot read properties of undefined (reading 'buffer')"), { ...load, stage: 'runtime' });
    expect(mapped).toBeInstanceOf(ModelLoadError);
    expect((mapped as ModelLoadError).url).toBe(lib);
  });

  test('storage quota', () => {
    const error = new DOMException('Quota exceeded', 'QuotaExceededError');
    expect(toAegisError(error, load)).toBeInstanceOf(ModelLoadError);
  });
});

describe('running', () => {
  test('ContextWindowSizeExceededError carries both numbers', () => {
    const error = webllmError(
      'ContextWindowSizeExceededError',
      'Prompt tokens exceed context window size: number of prompt tokens: 5000; context window size: 4096\nConsider shortening the prompt',
    );
    const mapped = toAegisError(error);
    expect(mapped).toBeInstanceOf(ContextWindowExceededError);
    expect((mapped as ContextWindowExceededError).promptTokens).toBe(5000);
    expect((mapped as ContextWindowExceededError).contextWindow).toBe(4096);
  });

  test('device loss, typed or as a GPU message', () => {
    expect(toAegisError(webllmError('DeviceLostError', 'The WebGPU device was lost while loading the model.'))).toBeInstanceOf(DeviceLostError);
    expect(toAegisError(webllmError('OperationError', 'Device lost during onSubmittedWorkDone'))).toBeInstanceOf(DeviceLostError);
  });

  test('ModelNotLoadedError', () => {
    const error = webllmError('ModelNotLoadedError', 'Model not loaded before trying to complete CompletionCreateParams.');
    expect(toAegisError(error)).toBeInstanceOf(ModelNotLoadedError);
  });

  test('aborts: a DOMException, or the string WebLLM aborts its downloads with', () => {
    expect(toAegisError(new DOMException('aborted', 'AbortError'))).toBeInstanceOf(AegisAbortError);
    expect(toAegisError('Engine.unload() is called.')).toBeInstanceOf(AegisAbortError);
  });

  test('anything else is an EngineError outside loading, a ModelLoadError during it', () => {
    const error = webllmError('RangeError', 'Make sure 0 < top_p <= 1');
    const mapped = toAegisError(error);
    expect(mapped).toBeInstanceOf(EngineError);
    expect(mapped.message).toContain('top_p');
    expect(toAegisError(error, load)).toBeInstanceOf(ModelLoadError);
    expect(toAegisError(42)).toBeInstanceOf(EngineError);
  });

  test('our own errors pass through unchanged', () => {
    const own = new AegisInputError('bad');
    expect(toAegisError(own, load)).toBe(own);
  });
});
