/**
 * The Engine port implemented with a plain WebLLM `MLCEngine`, created in (and owned by) the worker that
 * constructs this class. Line references (idx:N) are to node_modules/@mlc-ai/web-llm/lib/index.js 0.2.86.
 *
 * Loading (webllm-loader.ts) goes: WebGPU preflight → check and pre-cache the files WebLLM fetches silently →
 * `reload()` with progress translated → ready. Runtime calls (completions in webllm-completion.ts, token
 * sessions in webllm-token-session.ts) run one at a time; `load()` and `unload()` interrupt whatever runs and
 * wait for it. The loaded model and the loss of its device are webllm-active-model.ts's.
 */
import { MLCEngine } from '@mlc-ai/web-llm';
import { AegisAbortError } from '../core/errors.js';
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
import { admitCompletionPrompt } from './token-budget.js';
import { ActiveModelSlot, type ActiveModel } from './webllm-active-model.js';
import { completionRequest, streamCompletion, type CompletionRequest } from './webllm-completion.js';
import { inspectPipeline, loadedPipelineCount } from './webllm-internals.js';
import { RuntimeLoader, loadCancelled } from './webllm-loader.js';
import { openTokenSession, withoutTokenAccess, type TokenSessionOpening } from './webllm-token-session.js';

/** Seams for tests: WebLLM's real runtime cannot run where they run (test/helpers/fake-webllm.ts). */
export interface WebLLMEngineOptions {
  /** The runtime to drive. Default: a new MLCEngine. */
  runtime?: MLCEngine;
  /** The check of the model's files before reload. Default: checkModelFiles (model-files.ts). */
  checkFiles?: typeof checkModelFiles;
}

const noop = () => undefined;

export class WebLLMEngine implements Engine {
  private readonly runtime: MLCEngine;
  private readonly loader: RuntimeLoader;
  private readonly models: ActiveModelSlot;
  /** Bumped by every load and unload; a load whose number is stale has been superseded. */
  private generation = 0;
  private loadController: AbortController | undefined;
  /** Tail of the queue of runtime calls. */
  private tail: Promise<void> = Promise.resolve();

  constructor(options: WebLLMEngineOptions = {}) {
    this.runtime = options.runtime ?? new MLCEngine();
    this.loader = new RuntimeLoader(this.runtime, options.checkFiles ?? checkModelFiles);
    this.models = new ActiveModelSlot(this.runtime);
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
    const request = completionRequest(prompt, options);
    const active = this.models.require();
    this.admitPrompt(active, request.prompt);
    return this.exclusive(() => this.runCompletion(active, request));
  }

  tokens(): TokenSession | undefined {
    const active = this.models.current;
    return active ? this.openTokens(active).session : undefined;
  }

  fastPathStatus(): FastPathStatus {
    const active = this.models.current;
    if (!active) {
      return { fastPath: false, prefixReuse: false, fastPathOff: { code: 'no-token-access', message: 'No model is loaded.' } };
    }
    return this.openTokens(active).status;
  }

  onDeviceLost(listener: (error: Error) => void): () => void {
    return this.models.onDeviceLost(listener);
  }

  // ---------------------------------------------------------------------------------------------------------

  private async loadFresh(spec: ModelSpec, generation: number, signal: AbortSignal, progress: LoadProgressTracker): Promise<EngineLoadResult> {
    const isCurrent = () => generation === this.generation;
    const reloaded = await this.loader.reload(spec, signal, progress, isCurrent);
    // An unload() during reload makes reload resolve without a model (idx:18200-18204): check the state.
    if (signal.aborted || !isCurrent() || loadedPipelineCount(this.runtime) === 0) throw loadCancelled();

    const inspected = inspectPipeline(this.runtime, reloaded.modelId);
    const pipeline = inspected.pipeline;
    const contextWindow = pipeline?.contextWindowSize ?? reloaded.filesContextWindow ?? spec.contextWindow;
    this.models.activate({
      modelId: reloaded.modelId,
      pipeline,
      pipelineProblem: inspected.problem,
      contextWindow,
      lost: false,
    });
    progress.emit({ phase: 'ready', progress: 1, text: reloaded.finishText ?? 'Model ready' });
    return { modelLibUrl: reloaded.modelLibUrl, contextWindow };
  }

  private openTokens(active: ActiveModel): TokenSessionOpening {
    if (active.tokens) return active.tokens;
    const pipeline = active.pipeline;
    if (!pipeline) return (active.tokens = withoutTokenAccess('pipeline-shape', active.pipelineProblem ?? 'no pipeline'));
    try {
      active.tokens = openTokenSession({
        engine: this.runtime,
        modelId: active.modelId,
        pipeline,
        isCurrent: () => this.models.current === active && !active.lost,
        exclusive: (task) => this.exclusive(task),
        mapError: (error) => this.models.runError(error, active),
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
        throw this.models.runError(error, active);
      }
    }));
  }

  private async runCompletion(active: ActiveModel, request: CompletionRequest): Promise<Completion> {
    this.models.assertStillActive(active);
    if (request.signal?.aborted) throw new AegisAbortError('The completion was cancelled.');
    // A completion resets the KV cache and fills it with its own prompt (idx:19115): whatever a token
    // session's caller left there is gone, even if the lengths later happen to match.
    active.tokens?.session?.invalidate('counted');
    return streamCompletion(request, {
      runtime: this.runtime,
      modelId: active.modelId,
      isCurrent: () => this.models.current === active,
      streamFailed: (error) => {
        // A completion that failed midway may have left the cache half-written, its count behind.
        active.tokens?.session?.invalidate('unknown');
        return this.models.runError(error, active);
      },
      noLongerCurrent: () =>
        active.lost ? this.models.deviceLostError() : new AegisAbortError('The model was unloaded during the completion.'),
    });
  }

  /** Forgets the current model and stops what runs on it; the caller then awaits quiesce(). */
  private retire(): void {
    this.models.retire();
    this.loadController?.abort();
    void this.runtime.interruptGenerate();
  }

  /** Waits until no runtime call or reload is in flight, then unloads the runtime. */
  private async quiesce(): Promise<void> {
    await this.tail;
    await this.loader.settled();
    await this.loader.unload();
  }

  /** Runs runtime calls one at a time. */
  private exclusive<T>(task: () => Promise<T>): Promise<T> {
    const result = this.tail.then(task);
    this.tail = result.then(noop, noop);
    return result;
  }
}
