/**
 * Puts a model into WebLLM's runtime: WebGPU preflight → check and pre-cache the files WebLLM fetches
 * silently (model-files.ts) → `reload()` with its progress translated and a failure attributed to the stage
 * and URL it happened at. Parts of reload (instantiation, GPU set-up, shader compilation) cannot be aborted,
 * so a reload abandoned by its caller is undone once it settles; the runtime's unloads run one at a time.
 */
import type { InitProgressReport, MLCEngine } from '@mlc-ai/web-llm';
import { AegisAbortError } from '../core/errors.js';
import { untilAborted } from '../core/until-aborted.js';
import type { ModelSpec } from './engine.js';
import type { LoadProgressTracker } from './load-progress.js';
import type { checkModelFiles } from './model-files.js';
import { preflight } from './preflight.js';
import { toAegisError, type ErrorContext } from './webllm-errors.js';
import { tapRuntimeLog } from './webllm-internals.js';
import { buildModelRecord } from './webllm-record.js';
import { webllmFolderUrl } from './webllm-urls.js';

const noop = () => undefined;
export const loadCancelled = () => new AegisAbortError('Loading the model was cancelled.');

/** What a finished reload put into the runtime. */
export interface Reloaded {
  modelId: string;
  modelLibUrl: string;
  /** The context window model-files.ts read from the model's config, if it did. */
  filesContextWindow: number | undefined;
  /** WebLLM's last progress line ("Finish loading…"), for the ready report. */
  finishText: string | undefined;
}

export class RuntimeLoader {
  /** Settles once the last reload has finished and, if it was abandoned, been undone. */
  private background: Promise<void> = Promise.resolve();
  /** Tail of the runtime's unload() calls: WebLLM's unload must not run twice at once (idx:18345-18366). */
  private unloading: Promise<void> = Promise.resolve();
  /** Where the runtime's progress reports and log lines go during the current reload. */
  private progressRoute: ((report: InitProgressReport) => void) | undefined;
  private logRoute: ((message: string) => void) | undefined;

  constructor(
    private readonly runtime: MLCEngine,
    private readonly checkFiles: typeof checkModelFiles,
  ) {
    runtime.setInitProgressCallback((report) => this.progressRoute?.(report));
    tapRuntimeLog(runtime, (message) => this.logRoute?.(message));
  }

  /**
   * Reloads the runtime with `spec`. `isCurrent()` turns false once a later load or unload superseded this
   * one. Resolves once reload() has; the caller checks that the model is still there (an unload during
   * reload makes it resolve without one).
   */
  async reload(spec: ModelSpec, signal: AbortSignal, progress: LoadProgressTracker, isCurrent: () => boolean): Promise<Reloaded> {
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
        void this.unload();
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
    // The next load or unload waits for this reload to settle; an abandoned one is then undone, since it
    // would otherwise leave a model loaded behind our back.
    this.background = reload.then(noop, noop).then(async () => {
      if (signal.aborted || !isCurrent()) await this.unload();
    });

    try {
      await untilAborted(reload, signal, loadCancelled);
    } catch (error) {
      if (signal.aborted) {
        void this.unload();
        throw loadCancelled();
      }
      await this.unload();
      throw toAegisError(error, { ...context, stage, failedUrl });
    }
    return { modelId: record.model_id, modelLibUrl: record.model_lib, filesContextWindow: files.contextWindow, finishText };
  }

  /** Settles once the last reload has finished and, if it was abandoned, been undone. */
  settled(): Promise<void> {
    return this.background;
  }

  /** Unloads the runtime, after any unload already running. Never rejects. */
  unload(): Promise<void> {
    this.unloading = this.unloading.then(() => this.runtime.unload()).catch(noop);
    return this.unloading;
  }
}
