/**
 * Maps whatever WebLLM 0.2.86 (or the browser beneath it) throws onto aegis-guard's typed errors.
 *
 * Pure and WebLLM-free on purpose (Node tests import it). WebLLM exports only `IntegrityError`, so its errors
 * are recognised by `err.name` (classes at idx:407-720 of lib/index.js) and, for the plain `Error`s it throws
 * from the runtime, by message (idx:4766 no adapter, idx:4786-4818 limits).
 */
import {
  AegisAbortError,
  AegisError,
  ContextWindowExceededError,
  DeviceLostError,
  EngineError,
  ModelLoadError,
  ModelNotLoadedError,
  WebGPUUnavailableError,
} from '../core/errors.js';

export interface ErrorContext {
  /** The model library URL of the load (named by wasm failures). */
  modelLibUrl?: string;
  /** The weights folder (absolute, ending in '/'). */
  weightsUrl?: string;
  /**
   * 'load': an error nothing more specific explains is a `ModelLoadError`. 'run' (default): `EngineError`.
   */
  operation?: 'load' | 'run';
  /**
   * How far a load had got. 'runtime': WebLLM's reload had started but reported no progress yet, i.e. it
   * was instantiating the model library, creating the GPU device or parsing the tokenizer (idx:18271-18312;
   * everything it fetches there was already checked and cached by us). 'weights': shards were being fetched
   * or uploaded. 'pipeline': weights were on the GPU and the model was being assembled or its shaders
   * compiled.
   */
  stage?: 'runtime' | 'weights' | 'pipeline';
  /** A URL WebLLM named while failing (its "Cannot fetch <url>" log line, idx:8238/8268). */
  failedUrl?: string;
}

const nameOf = (err: unknown): string =>
  err instanceof Error || (typeof err === 'object' && err !== null && 'name' in err)
    ? String((err as { name: unknown }).name)
    : typeof err;

const messageOf = (err: unknown): string =>
  typeof err === 'string'
    ? err
    : typeof err === 'object' && err !== null && 'message' in err
      ? String((err as { message: unknown }).message)
      : String(err);

const named = (url: string | undefined) => (url ? ` ${url}` : '');

const configUrlOf = (ctx: ErrorContext) => (ctx.weightsUrl ? new URL('mlc-chat-config.json', ctx.weightsUrl).href : undefined);

/** First http(s) URL in a message, without trailing punctuation. */
function urlIn(message: string): string | undefined {
  return /https?:\/\/[^\s"'<>]+/.exec(message)?.[0]?.replace(/[.,;:)\]]+$/, '');
}

const LIMIT_PATTERN = /requested (max\w+) exceeds limit/;
const FEATURE_PATTERN = /requires (?:feature|WebGPU extension) ([\w-]+)/;
const CONTEXT_PATTERN = /number of prompt tokens: (\d+); context window size: (\d+)/;
const DEVICE_LOST_PATTERN = /\bdevice (?:was |is |has been )?lost\b/i;
const DOWNLOAD_PATTERN =
  /Failed to execute 'add' on 'Cache'|Failed to fetch|NetworkError|Load failed|Cannot fetch |Failed to store |Unable to fetch /;

/** Errors from a model whose files are inconsistent: WebLLM names the config or manifest problem. */
const CONFIG_ERRORS = new Set([
  'MissingModelError',
  'ModelNotFoundError',
  'UnsupportedTokenizerFilesError',
  'WindowSizeConfigurationError',
  'WindowSizeSpecificationError',
  'AttentionSinkSizeError',
  'ArtifactManifestError',
]);

/** Converts any thrown value into an `AegisError`; the original is kept as `cause`. */
export function toAegisError(err: unknown, ctx: ErrorContext = {}): AegisError {
  if (err instanceof AegisError) return err;
  const name = nameOf(err);
  const message = messageOf(err);
  const cause = { cause: err };

  // Aborts: a DOMException from fetch, or the bare string WebLLM's unload() aborts its fetches with
  // (idx:18362 aborts with "Engine.unload() is called."; Chromium rejects Cache.add with that string).
  if (name === 'AbortError' || (typeof err === 'string' && /unload\(\) is called/.test(err))) {
    return new AegisAbortError('The operation was cancelled.', cause);
  }

  switch (name) {
    case 'ShaderF16SupportError':
      return new WebGPUUnavailableError(
        'This GPU cannot run 16-bit float shaders (WebGPU feature "shader-f16"), which this model variant needs. Use the q4f32_1 variant instead.',
        'feature:shader-f16',
        cause,
      );
    case 'FeatureSupportError': {
      const feature = FEATURE_PATTERN.exec(message)?.[1] ?? 'unknown';
      return new WebGPUUnavailableError(
        `This GPU lacks the WebGPU feature "${feature}", which the model needs.`,
        `feature:${feature}`,
        cause,
      );
    }
    case 'WebGPUNotAvailableError':
    case 'WebGPUNotFoundError':
      return new WebGPUUnavailableError(
        'This browser does not offer WebGPU, which the safety model needs.',
        'no-navigator-gpu',
        cause,
      );
    case 'DeviceLostError':
      return new DeviceLostError(
        'The GPU device was lost, most often because the GPU ran out of memory. Close other GPU-heavy tabs or use a smaller context window, then reload.',
        cause,
      );
    case 'ContextWindowSizeExceededError': {
      const numbers = CONTEXT_PATTERN.exec(message);
      const promptTokens = numbers ? Number(numbers[1]) : undefined;
      const contextWindow = numbers ? Number(numbers[2]) : undefined;
      return new ContextWindowExceededError(
        numbers
          ? `The prompt has ${promptTokens} tokens, more than the ${contextWindow}-token context window.`
          : 'The prompt does not fit the model\'s context window.',
        promptTokens,
        contextWindow,
        cause,
      );
    }
    case 'ModelNotLoadedError':
    case 'WorkerEngineModelNotLoadedError':
      return new ModelNotLoadedError('No model is loaded.', cause);
    case 'CompileError':
    case 'LinkError':
      return new ModelLoadError(
        `The model library${named(ctx.modelLibUrl)} is not a usable WebAssembly module for this WebLLM version (${name}: ${message}).`,
        ctx.modelLibUrl,
        cause,
      );
    case 'IntegrityError': {
      const url = (err as { url?: unknown }).url;
      const where = typeof url === 'string' ? url : urlIn(message);
      return new ModelLoadError(`A model file failed its integrity check: ${where ?? 'unknown file'}.`, where, cause);
    }
    case 'QuotaExceededError':
      return new ModelLoadError(
        'The browser has no room left to store the model (storage quota exceeded; private windows have very little).',
        ctx.failedUrl,
        cause,
      );
  }
  if (CONFIG_ERRORS.has(name)) {
    return new ModelLoadError(`The model's configuration is not usable: ${message}`, configUrlOf(ctx), cause);
  }

  if (message.startsWith('Unable to find a compatible GPU')) {
    return new WebGPUUnavailableError('WebGPU is present but no usable GPU adapter was found.', 'no-adapter', cause);
  }
  const limit = LIMIT_PATTERN.exec(message)?.[1];
  if (limit) {
    return new WebGPUUnavailableError(`This GPU is too limited to run the model (${limit}).`, `limit:${limit}`, cause);
  }
  if (DEVICE_LOST_PATTERN.test(message)) {
    return new DeviceLostError(`The GPU device was lost: ${message}`, cause);
  }
  if (DOWNLOAD_PATTERN.test(message)) {
    const url = urlIn(message) ?? ctx.failedUrl;
    return new ModelLoadError(`Downloading ${url ?? 'a model file'} failed: ${message}`, url, cause);
  }
  if (message.includes("Expect the data's length equals nbytes")) {
    const url = ctx.failedUrl ?? (ctx.weightsUrl ? new URL('tensor-cache.json', ctx.weightsUrl).href : undefined);
    return new ModelLoadError(`A weight shard does not match tensor-cache.json: ${message}`, url, cause);
  }

  if (ctx.operation === 'load') {
    if (ctx.stage === 'runtime') {
      return new ModelLoadError(
        `Starting the model library${named(ctx.modelLibUrl)} failed (${name}: ${message}). It is probably not a model library built for this WebLLM version.`,
        ctx.modelLibUrl,
        cause,
      );
    }
    if (ctx.stage === 'pipeline') {
      return new ModelLoadError(
        `The weights and the model library do not fit together (${name}: ${message}).`,
        ctx.modelLibUrl,
        cause,
      );
    }
    return new ModelLoadError(`Loading the model failed (${name}: ${message}).`, ctx.failedUrl ?? configUrlOf(ctx), cause);
  }
  return new EngineError(`${name}: ${message}`, cause);
}
