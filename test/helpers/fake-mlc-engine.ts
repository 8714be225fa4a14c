/**
 * A test double of WebLLM 0.2.86's `MLCEngine`, holding FakePipelines (fake-webllm-pipeline.ts), for driving
 * the real WebLLMEngine (src/engine/webllm-engine.ts) where no model library can run. It mirrors the engine
 * where our code depends on it (idx:N = node_modules/@mlc-ai/web-llm/lib/index.js):
 * - `reload` unloads first, builds the pipeline, registers WebLLM's own device-lost handler, which calls
 *   `unload()` without awaiting it, outside any caller's queue (idx:18303-18307);
 * - `unload` disposes every pipeline and clears the map (idx:18345-18366); later calls throw
 *   ModelNotLoadedError (matched by name, as the real class is not exported);
 * - `completions.create` resets the cache, tokenizes the prompt and spreads the ids into an array before
 *   its context check (idx:13916, 13951): from ~125k tokens that throws RangeError, as measured.
 */
import { FakePipeline, argmax, type FakePipelineOptions } from './fake-webllm-pipeline.js';

const named = (name: string, message: string) => Object.assign(new Error(message), { name });
const STOP_IDS = new Set([128001, 128008, 128009]);

interface CompletionRequest {
  model: string;
  prompt: string;
  max_tokens: number;
  stop?: string[];
}

interface CompletionChunk {
  choices: { text: string; finish_reason: string | null }[];
  usage?: { prompt_tokens: number; completion_tokens: number; extra?: { time_to_first_token_s?: number } };
}

export class FakeMLCEngine {
  readonly loadedModelIdToPipeline = new Map<string, FakePipeline>();
  logger: (message: string) => void = () => undefined;
  /** Options of the pipelines the next reloads build (tests change them between loads). */
  pipelineOptions: FakePipelineOptions;
  /** Every pipeline built, in order. */
  readonly pipelines: FakePipeline[] = [];
  readonly counters = { reloads: 0, unloads: 0, completions: 0, interrupts: 0 };
  /** The unload WebLLM's device-lost handler started (nobody awaits it there; tests may). */
  unloadedOnLoss: Promise<void> | undefined;
  private progress?: (report: { progress: number; text: string; timeElapsed: number }) => void;
  private models: { model_id: string }[] = [];
  private deviceLostIsError = true;
  private interruptSignal = false;

  constructor(options: FakePipelineOptions) {
    this.pipelineOptions = options;
  }

  /** The pipeline loaded now (throws when none is). */
  get pipeline(): FakePipeline {
    const p = [...this.loadedModelIdToPipeline.values()][0];
    if (!p) throw new Error('FakeMLCEngine: no pipeline is loaded.');
    return p;
  }

  setInitProgressCallback(callback: typeof this.progress): void {
    this.progress = callback;
  }

  setAppConfig(config: { model_list: { model_id: string }[] }): void {
    this.models = config.model_list;
  }

  async reload(modelId: string): Promise<void> {
    await this.unload();
    this.counters.reloads++;
    if (!this.models.some((m) => m.model_id === modelId)) throw named('ModelNotFoundError', `Cannot find model record in appConfig for ${modelId}.`);
    const pipeline = new FakePipeline(this.pipelineOptions);
    this.pipelines.push(pipeline);
    void pipeline.gpu.lost.then(() => {
      if (this.deviceLostIsError) this.unloadedOnLoss = this.unload();
    });
    this.progress?.({ progress: 1, text: 'Loading model from cache[1/1]: 1MB loaded. 100% completed.', timeElapsed: 0 });
    this.progress?.({ progress: 1, text: 'Finish loading on WebGPU - fake', timeElapsed: 0 });
    this.loadedModelIdToPipeline.set(modelId, pipeline);
  }

  async unload(): Promise<void> {
    this.deviceLostIsError = false;
    this.counters.unloads++;
    for (const pipeline of [...this.loadedModelIdToPipeline.values()]) {
      pipeline.dispose();
      await pipeline.sync();
    }
    this.loadedModelIdToPipeline.clear();
    this.deviceLostIsError = true;
  }

  /** The GPU device is lost (out of memory): WebLLM's own handler unloads behind our back. */
  loseDevice(message?: string): void {
    this.pipeline.gpu.lose('unknown', message);
  }

  interruptGenerate(): void {
    this.counters.interrupts++;
    this.interruptSignal = true;
  }

  private states(modelId?: string): FakePipeline {
    const pipeline = modelId === undefined ? [...this.loadedModelIdToPipeline.values()][0] : this.loadedModelIdToPipeline.get(modelId);
    if (!pipeline) throw named('ModelNotLoadedError', 'Model not loaded before trying to complete the request. Make sure you call `engine.reload()` first.');
    return pipeline;
  }

  async resetChat(keepStats = false, modelId?: string): Promise<void> {
    try {
      this.states(modelId).resetChat(keepStats);
    } catch (error) {
      if ((error as Error).name !== 'ModelNotLoadedError') throw error;
    }
  }

  async forwardTokensAndSample(ids: number[], isPrefill: boolean, modelId?: string): Promise<number> {
    return this.states(modelId).forwardTokensAndSample(ids, isPrefill);
  }

  async getMessage(modelId?: string): Promise<string> {
    return this.states(modelId).outputMessage;
  }

  readonly completions = {
    create: (request: CompletionRequest): Promise<AsyncIterable<CompletionChunk>> => this.complete(request),
  };

  private async complete(request: CompletionRequest): Promise<AsyncIterable<CompletionChunk>> {
    const pipeline = this.states(request.model);
    this.counters.completions++;
    this.interruptSignal = false;
    // preparePrefillInput: a text completion always starts from an empty cache (idx:19115).
    pipeline.resetChat();
    pipeline.outputMessage = '';
    // getInputData (idx:13916): the ids are spread into the prompt array before the context check.
    const curTokens: number[] = [];
    curTokens.push(...pipeline.tokenizer.encode(request.prompt));
    if (curTokens.length + pipeline.filledKVCacheLength > pipeline.contextWindowSize) {
      throw named(
        'ContextWindowSizeExceededError',
        `Prompt tokens exceed context window size: number of prompt tokens: ${curTokens.length}; context window size: ${pipeline.contextWindowSize}\nConsider shortening the prompt.`,
      );
    }
    let logits = await pipeline.prefillForCompletion(curTokens);
    const engine = this;
    async function* stream(): AsyncGenerator<CompletionChunk> {
      const out: number[] = [];
      let text = '';
      let finish: string = 'length';
      while (out.length < request.max_tokens) {
        if (engine.interruptSignal) {
          finish = 'abort';
          break;
        }
        const token = argmax(logits);
        if (STOP_IDS.has(token)) {
          finish = 'stop';
          break;
        }
        out.push(token);
        const whole = pipeline.tokenizer.decode(Int32Array.from(out));
        const cut = (request.stop ?? []).map((s) => whole.indexOf(s)).filter((i) => i >= 0).sort((a, b) => a - b)[0];
        const next = cut === undefined ? whole : whole.slice(0, cut);
        const delta = next.slice(text.length);
        text = next;
        pipeline.outputMessage = text;
        if (delta) yield { choices: [{ text: delta, finish_reason: null }] };
        if (cut !== undefined) {
          finish = 'stop';
          break;
        }
        logits = await pipeline.decodeForCompletion(token);
      }
      yield { choices: [{ text: '', finish_reason: finish }] };
      yield { choices: [], usage: { prompt_tokens: curTokens.length, completion_tokens: out.length } };
    }
    return stream();
  }
}
