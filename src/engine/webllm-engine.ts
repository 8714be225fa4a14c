/**
 * The Engine port implemented with a plain WebLLM `MLCEngine`, created in (and owned by) the worker that
 * constructs this class. Line references (idx:N) are to node_modules/@mlc-ai/web-llm/lib/index.js 0.2.86.
 *
 * Loading goes: WebGPU preflight → check and pre-cache the files WebLLM fetches silently (model-files.ts) →
 * `reload()` with progress translated → ready. Runtime calls (completions, token sessions) run one at a
 * time; `load()` and `unload()` interrupt whatever runs and wait for it.
 */
import { MLCEngine, type InitProgressReport } from '@mlc-ai/web-llm';
import {
  AegisAbortError,
  AegisInputError,
  DeviceLostError,
  ModelNotLoadedError,
  type AegisError,
} from '../core/errors.js';
import type {
  CompleteOptions,
  Completion,
  Engine,
  EngineLoadResult,
  FastPathStatus,
  LoadOptions,
  ModelSpec,
  TokenSession,
} from './engine.js';
import { LoadProgressTracker } from './load-progress.js';
import { checkModelFiles } from './model-files.js';
import { preflight } from './preflight.js';
import { admitCompletionPrompt } from './token-budget.js';
import { toAegisError, type ErrorContext } from './webllm-errors.js';
import { gpuDeviceOf, inspectPipeline, loadedPipelineCount, stillLoaded, tapRuntimeLog, type PipelineInternals } from './webllm-internals.js';
import { buildModelRecord, webllmFolderUrl } from './webllm-record.js';
import { openTokenSession, withoutTokenAccess, type TokenSessionOpening } from './webllm-token-session.js';

/** The model currently loaded. A new object per load, so stale references can be recognised. */
interface ActiveModel {
  modelId: string;
  pipeline: PipelineInternals | undefined;
  /** Why the pipeline could not be used, when `pipeline` is undefined. */
  pipelineProblem?: string;
  /** The context window the model was loaded with. */
  contextWindow: number;
  /** Opened on first use of tokens(). */
  tokens?: TokenSessionOpening;
  lost: boolean;
}

/** Seams for tests: WebLLM's real runtime cannot run where they run (test/helpers/fake-webllm.ts). */
export interface WebLLMEngineOptions {
  /** The runtime to drive. Default: a new MLCEngine. */
  runtime?: MLCEngine;
  /** The check of the model's files before reload. Default: checkModelFiles (model-files.ts). */
  checkFiles?: typeof checkModelFiles;
}

const noop = () => undefined;
const loadCancelled = () => new AegisAbortError('Loading the model was cancelled.');

/** Resolves or rejects with `promise`, or rejects as soon as `signal` aborts. */
function untilAborted<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(loadCancelled());
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(loadCancelled());
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

export class WebLLMEngine implements Engine {
  private readonly runtime: MLCEngine;
  private active: ActiveModel | undefined;
  /** Set when the device was lost after loading; reported by calls until the next load. */
  private lostError: DeviceLostError | undefined;
  /** Bumped by every load and unload; a load whose number is stale has been superseded. */
  private generation = 0;
  private loadController: AbortController | undefined;
  /** Settles once the last reload has finished and, if it was abandoned, been undone. */
  private background: Promise<void> = Promise.resolve();
  /** Tail of the queue of runtime calls. */
  private tail: Promise<void> = Promise.resolve();
  /** Tail of the runtime's unload() calls: WebLLM's unload must not run twice at once (idx:18345-18366). */
  private unloading: Promise<void> = Promise.resolve();
  private readonly deviceLostListeners = new Set<(error: Error) => void>();
  /** Where the runtime's progress reports and log lines go during the current reload. */
  private progressRoute: ((report: InitProgressReport) => void) | undefined;
  private logRoute: ((message: string) => void) | undefined;

  private readonly checkFiles: typeof checkModelFiles;

  constructor(options: WebLLMEngineOptions = {}) {
    this.runtime = options.runtime ?? new MLCEngine();
    this.runtime.setInitProgressCallback((report) => this.progressRoute?.(report));
    this.checkFiles = options.checkFiles ?? checkModelFiles;
    tapRuntimeLog(this.runtime, (message) => this.logRoute?.(message));
  }

  async load(spec: ModelSpec, options: LoadOptions = {}): Promise<EngineLoadResult> {
    const { onProgress, signal } = options;
    if (signal?.aborted) throw loadCancelled();
    const generation = ++this.generation;
    this.retire();
    const controller = new AbortController();
    this.loadController = controller;
    const forwardAbort = () => controller.abort();
    signal?.addEventListener('abort', forwardAbort, { once: true });
    const progress = new LoadProgressTracker(onProgress);
    try {
      // Emitted before anything slow, so a caller sees at once that the load has begun.
      progress.emit({ phase: 'preflight', progress: 0, text: 'Checking WebGPU' });
      await this.quiesce();
      if (controller.signal.aborted) throw loadCancelled();
      return await this.loadFresh(spec, generation, controller.signal, progress);
    } finally {
      progress.stop();
      signal?.removeEventListener('abort', forwardAbort);
      if (this.loadController === controller) this.loadController = undefined;
    }
  }

  async unload(): Promise<void> {
    this.generation++;
    this.retire();
    await this.quiesce();
  }

  async complete(prompt: string, options: CompleteOptions): Promise<Completion> {
    if (typeof prompt !== 'string' || prompt.length === 0) throw new AegisInputError('The prompt must be a non-empty string.');
    const { maxTokens, stop, signal, onText } = options ?? ({} as CompleteOptions);
    if (!Number.isInteger(maxTokens) || maxTokens <= 0) {
      throw new AegisInputError(`maxTokens must be a positive integer; got ${String(maxTokens)}.`);
    }
    if (stop !== undefined && !(Array.isArray(stop) && stop.every((s) => typeof s === 'string' && s.length > 0))) {
      throw new AegisInputError('stop must be an array of non-empty strings.');
    }
    const active = this.requireActive();
    this.admitPrompt(active, prompt);
    return this.exclusive(() => this.runCompletion(active, prompt, maxTokens, stop, signal, onText));
  }

  tokens(): TokenSession | undefined {
    const active = this.active;
    return active ? this.openTokens(active).session : undefined;
  }

  fastPathStatus(): FastPathStatus {
    const active = this.active;
    if (!active) {
      return { fastPath: false, prefixReuse: false, fastPathOff: { code: 'no-token-access', message: 'No model is loaded.' } };
    }
    return this.openTokens(active).status;
  }

  onDeviceLost(listener: (error: Error) => void): () => void {
    this.deviceLostListeners.add(listener);
    return () => this.deviceLostListeners.delete(listener);
  }

  // ---------------------------------------------------------------------------------------------------------

  private openTokens(active: ActiveModel): TokenSessionOpening {
    if (active.tokens) return active.tokens;
    const pipeline = active.pipeline;
    if (!pipeline) return (active.tokens = withoutTokenAccess('pipeline-shape', active.pipelineProblem ?? 'no pipeline'));
    try {
      active.tokens = openTokenSession({
        engine: this.runtime,
        modelId: active.modelId,
        pipeline,
        isCurrent: () => this.active === active && !active.lost,
        exclusive: (task) => this.exclusive(task),
        mapError: (error) => this.runError(error, active),
      });
    } catch (error) {
      active.tokens = withoutTokenAccess('pipeline-shape', `opening token-level access failed: ${String(error)}`);
    }
    return active.tokens;
  }

  /**
   * Refuses a prompt that cannot fit before WebLLM tokenizes it: its completion path spreads the ids into an
   * array (idx:13916) before checking the window (idx:13951), and tokenizing a huge text blocks the worker.
   */
  private admitPrompt(active: ActiveModel, prompt: string): void {
    const tokenizer = active.pipeline?.tokenizer;
    admitCompletionPrompt(prompt, active.contextWindow, tokenizer && (() => {
      try {
        return tokenizer.encode(prompt).length;
      } catch (error) {
        throw this.runError(error, active);
      }
    }));
  }

  private async loadFresh(
    spec: ModelSpec,
    generation: number,
    signal: AbortSignal,
    progress: LoadProgressTracker,
  ): Promise<EngineLoadResult> {
    const record = buildModelRecord(spec);
    const context: ErrorContext = {
      operation: 'load',
      modelLibUrl: record.model_lib,
      weightsUrl: webllmFolderUrl(record.model),
    };

    // WebLLM detects the GPU only after downloading the config and the model library (idx:18276).
    await preflight({ requiredFeatures: record.required_features ?? [] });
    if (signal.aborted) throw loadCancelled();
    const files = await this.checkFiles(record, {
      signal,
      onFile: (index, count, url) =>
        progress.emit({ phase: 'preflight', progress: (index + 1) / (count + 1), text: `Checking ${url}` }),
    });
    progress.setTotalBytes(files.totalBytes);
    // WebLLM reports nothing until it starts on the weights (internals §3.6).
    progress.emit({ phase: 'fetching', progress: 0, text: 'Starting the model runtime' });

    let stage: ErrorContext['stage'] = 'runtime';
    let failedUrl: string | undefined;
    let finishText: string | undefined;
    this.logRoute = (message) => {
      failedUrl = /Cannot fetch (\S+)/.exec(message)?.[1] ?? failedUrl;
    };
    this.progressRoute = (report) => {
      if (signal.aborted) {
        // reload() has its AbortController by now (set before any report, idx:18194): abort its downloads.
        void this.unloadRuntime();
        return;
      }
      const text = String(report.text);
      // Once every shard is on the GPU, WebLLM builds the pipeline (binds parameters by name, creates the
      // KV cache, idx:18316-18327) and compiles shaders: failures there mean weights and library disagree.
      const weightsDone = text.startsWith('Loading model from cache') && report.progress >= 1;
      stage = weightsDone || /^(Loading GPU shader|Finish loading)/.test(text) ? 'pipeline' : 'weights';
      if (text.startsWith('Finish loading')) finishText = text;
      progress.fromWebLLM(report);
    };

    if (signal.aborted) throw loadCancelled();
    this.runtime.setAppConfig({ model_list: [record] });
    const reload = this.runtime.reload(record.model_id);
    // The next load or unload waits for this reload to settle; an abandoned one is then undone, since
    // parts of reload (instantiation, GPU set-up, shader compilation) cannot be aborted and would leave a
    // model loaded behind our back.
    this.background = reload.then(noop, noop).then(async () => {
      if (signal.aborted || generation !== this.generation) await this.unloadRuntime();
    });

    try {
      await untilAborted(reload, signal);
    } catch (error) {
      if (signal.aborted) {
        void this.unloadRuntime();
        throw loadCancelled();
      }
      await this.unloadRuntime();
      throw toAegisError(error, { ...context, stage, failedUrl });
    }
    // An unload() during reload makes reload resolve without a model (idx:18200-18204): check the state.
    if (signal.aborted || generation !== this.generation || loadedPipelineCount(this.runtime) === 0) {
      throw loadCancelled();
    }

    const inspected = inspectPipeline(this.runtime, record.model_id);
    const pipeline = inspected.pipeline;
    const contextWindow = pipeline?.contextWindowSize ?? files.contextWindow ?? spec.contextWindow;
    const active: ActiveModel = {
      modelId: record.model_id,
      pipeline,
      pipelineProblem: inspected.problem,
      contextWindow,
      lost: false,
    };
    this.active = active;
    this.lostError = undefined;
    if (pipeline) this.watchDevice(active, pipeline);
    progress.emit({ phase: 'ready', progress: 1, text: finishText ?? 'Model ready' });
    return {
      modelLibUrl: record.model_lib,
      contextWindow,
    };
  }

  private async runCompletion(
    active: ActiveModel,
    prompt: string,
    maxTokens: number,
    stop: string[] | undefined,
    signal: AbortSignal | undefined,
    onText: ((text: string) => void) | undefined,
  ): Promise<Completion> {
    this.assertStillActive(active);
    if (signal?.aborted) throw new AegisAbortError('The completion was cancelled.');
    // A completion resets the KV cache and fills it with its own prompt (idx:19115): whatever a token
    // session's caller left there is gone, even if the lengths later happen to match.
    active.tokens?.session?.invalidate('counted');
    // interruptGenerate only sets a flag checked between decode steps (idx:18605-18608, 18536-18539). The
    // streaming request clears it once it holds the model lock (idx:18559-18578), so an interrupt sent
    // earlier would be lost; calls here are serialised, so the one running is ours, and the loop below
    // also stops on the signal itself.
    const interrupt = () => void this.runtime.interruptGenerate();
    signal?.addEventListener('abort', interrupt, { once: true });
    const started = performance.now();
    let firstChunkAt: number | undefined;
    let lastChunkAt = started;
    let text = '';
    let finishReason: string | null | undefined;
    let usage: { prompt_tokens: number; completion_tokens: number; extra?: { time_to_first_token_s?: number } } | undefined;
    try {
      // Raw completion: no chat template, no BOS (idx:19111-19118, 13856-13868); the prompt carries
      // <|begin_of_text|> itself. temperature 0 is clamped to 1e-6 (idx:13775): greedy. Penalties are set
      // neutral explicitly so mlc-chat-config.json defaults cannot bend the verdict.
      const stream = await this.runtime.completions.create({
        model: active.modelId,
        prompt,
        max_tokens: maxTokens,
        temperature: 0,
        repetition_penalty: 1,
        frequency_penalty: 0,
        presence_penalty: 0,
        stop: stop && stop.length > 0 ? stop : undefined,
        stream: true,
        stream_options: { include_usage: true },
      });
      for await (const chunk of stream) {
        // Leaving the loop calls the generator's return(), whose finally releases the model lock
        // (asyncGenerate, idx:18587-18602).
        if (signal?.aborted || this.active !== active) break;
        lastChunkAt = performance.now();
        firstChunkAt ??= lastChunkAt;
        const choice = chunk.choices[0];
        if (choice) {
          if (choice.text) {
            text += choice.text;
            onText?.(text);
          }
          if (choice.finish_reason) finishReason = choice.finish_reason;
        }
        if (chunk.usage) usage = chunk.usage;
      }
    } catch (error) {
      // A completion that failed midway may have left the cache half-written, its count behind.
      active.tokens?.session?.invalidate('unknown');
      throw this.runError(error, active);
    } finally {
      signal?.removeEventListener('abort', interrupt);
    }
    if (signal?.aborted) throw new AegisAbortError('The completion was cancelled.');
    if (this.active !== active) {
      throw active.lost ? this.deviceLostError() : new AegisAbortError('The model was unloaded during the completion.');
    }
    // Streamed deltas may include the start of a stop string that a later step cuts off (idx:12562-12572):
    // the pipeline's final message is the exact output.
    const finalText = await this.runtime.getMessage(active.modelId).catch(() => text);
    const firstAt = firstChunkAt ?? lastChunkAt;
    const prefillSeconds = usage?.extra?.time_to_first_token_s;
    return {
      text: typeof finalText === 'string' ? finalText : text,
      finishReason: finishReason === 'length' ? 'length' : finishReason === 'abort' ? 'abort' : 'stop',
      promptTokens: usage?.prompt_tokens ?? 0,
      completionTokens: usage?.completion_tokens ?? 0,
      prefillMs: typeof prefillSeconds === 'number' ? prefillSeconds * 1000 : firstAt - started,
      decodeMs: lastChunkAt - firstAt,
    };
  }

  /**
   * Maps a runtime failure, noticing a device lost after loading. WebLLM's device-lost handler unloads the
   * model without awaiting it, outside our queue (idx:18303-18307): a call in flight then fails with a GPU
   * or disposal error of any wording, later ones with ModelNotLoadedError (internals §4). So a failure on a
   * model the runtime no longer holds is a lost device, whatever it says.
   */
  private runError(error: unknown, active: ActiveModel): AegisError {
    const mapped = toAegisError(error, { operation: 'run' });
    if (active.lost) return this.lostError ?? (mapped instanceof DeviceLostError ? mapped : this.deviceLostError());
    if (this.active !== active) {
      // We unloaded or replaced it ourselves while the call ran.
      return mapped instanceof ModelNotLoadedError || mapped instanceof AegisAbortError
        ? mapped
        : new ModelNotLoadedError('The model was unloaded while the call ran.', { cause: error });
    }
    const gone = active.pipeline ? !stillLoaded(this.runtime, active.modelId, active.pipeline) : loadedPipelineCount(this.runtime) === 0;
    if (gone || mapped instanceof ModelNotLoadedError) {
      const lost = new DeviceLostError('The GPU device was lost and the model was unloaded.', { cause: error });
      return this.markLost(active, lost);
    }
    if (mapped instanceof DeviceLostError) return this.markLost(active, mapped);
    return mapped;
  }

  private watchDevice(active: ActiveModel, pipeline: PipelineInternals): void {
    gpuDeviceOf(pipeline)?.lost.then((info) => {
      // Our own unload destroys the device after `active` was retired: not a loss.
      if (this.active !== active) return;
      this.markLost(active, new DeviceLostError(`The GPU device was lost (${info.reason}: ${info.message}).`));
    }, noop);
  }

  private markLost(active: ActiveModel, error: DeviceLostError): DeviceLostError {
    if (active.lost) return this.lostError ?? error;
    active.lost = true;
    active.tokens?.session?.dispose();
    if (this.active === active) {
      this.active = undefined;
      this.lostError = error;
    }
    for (const listener of this.deviceLostListeners) {
      try {
        listener(error);
      } catch {
        // One failing listener must not keep the others from hearing about it.
      }
    }
    return error;
  }

  /** The error for a call whose model was lost while it ran. */
  private deviceLostError(): DeviceLostError {
    return this.lostError ?? new DeviceLostError('The GPU device was lost.');
  }

  private requireActive(): ActiveModel {
    if (this.active) return this.active;
    throw this.lostError ?? new ModelNotLoadedError('No model is loaded; load() one first.');
  }

  private assertStillActive(active: ActiveModel): void {
    if (this.active !== active) {
      throw active.lost ? this.deviceLostError() : new ModelNotLoadedError('The model was unloaded.');
    }
  }

  /** Forgets the current model and stops what runs on it; the caller then awaits quiesce(). */
  private retire(): void {
    this.active?.tokens?.session?.dispose();
    this.active = undefined;
    this.lostError = undefined;
    this.loadController?.abort();
    void this.runtime.interruptGenerate();
  }

  /** Waits until no runtime call or reload is in flight, then unloads the runtime. */
  private async quiesce(): Promise<void> {
    await this.tail;
    await this.background;
    await this.unloadRuntime();
  }

  private unloadRuntime(): Promise<void> {
    this.unloading = this.unloading.then(() => this.runtime.unload()).catch(noop);
    return this.unloading;
  }

  /** Runs runtime calls one at a time. */
  private exclusive<T>(task: () => Promise<T>): Promise<T> {
    const result = this.tail.then(task);
    this.tail = result.then(noop, noop);
    return result;
  }
}
