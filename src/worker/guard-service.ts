/**
 * The guard service: everything the worker does between Comlink and the Engine port.
 *
 * - One model, one running check. Waiting checks sit in a queue where prompt checks go first.
 * - Identical requests (same text, target, categories and policy) share one evaluation; a bounded cache
 *   answers repeats.
 * - A check reports its rating as soon as it is known, then resolves with the final verdict.
 * - Failures of a check become fail-closed verdicts; only a cancellation rejects.
 * - A check settles at its timeout whatever the engine does (settle.ts). An engine that keeps working after
 *   that gets a grace period; after it the service reports `engine-stuck` and reloads the model.
 * - What the engine hands back is copied and checked before it leaves the worker (boundary.ts).
 * - After the GPU device is lost the model is reloaded on the next check.
 *
 * Nothing here knows about Comlink (see expose.ts) or WebLLM (see engine/webllm-engine.ts).
 */
import {
  AegisAbortError,
  AegisError,
  AegisInputError,
  AegisTimeoutError,
  DeviceLostError,
  EngineError,
  ModelNotLoadedError,
  describeThrown,
  errorToWire,
} from '../core/errors.js';
import { decisionProblem } from '../core/wire-shapes.js';
import { requestKey } from '../core/policy.js';
import type { Decision, LoadProgress, ModelInfo, Verdict } from '../core/types.js';
import { untilAborted } from '../core/until-aborted.js';
import type { Engine } from '../engine/engine.js';
import { fastPathStatusOf } from '../engine/fast-path-status.js';
import { resolveModelSpec } from '../engine/model-records.js';
import { preflight } from '../engine/preflight.js';
import { CheckQueue } from './check-queue.js';
import { judgeFast } from './fast-judge.js';
import { judgeByJson } from './json-judge.js';
import type { Judge, Judgement } from './judge.js';
import type { CheckEvent, CheckRequest, GuardServiceApi, ModelSource, Result, ServiceEvent } from './protocol.js';
import { validateCheckRequest } from './validate-request.js';
import { windowed } from './windowed-judge.js';
import { LruCache } from './verdict-cache.js';
import { failureVerdict, verdictFromJudgement } from '../core/verdict.js';
import { assertVerdict, plainJudgement, plainModelInfo, plainProgress } from './boundary.js';
import { EngineWork, armTimeout } from './settle.js';
import { DEFAULT_MAX_INPUT_CHARS, inputLimitError } from '../windowing/limits.js';

export interface GuardServiceOptions {
  /** Finished judgements kept for repeats. Default 512. */
  cacheSize?: number;
  /** Picks the judge for a request; default: the fast judge when the engine offers token access, else JSON (windowed for long texts). */
  selectJudge?: (engine: Engine, request: CheckRequest) => Judge;
  /**
   * How long the engine may keep working on a check that already settled (timed out or cancelled) before it
   * is declared stuck. A forward pass cannot be interrupted, so this covers the longest one. Default 5000.
   */
  engineReleaseMs?: number;
}

const DEFAULT_ENGINE_RELEASE_MS = 5000;

/** One caller waiting for a (possibly shared) evaluation. */
interface Subscriber {
  request: CheckRequest;
  onEvent?: (event: CheckEvent) => void;
  receivedAt: number;
  settle(result: Result<Verdict>): void;
}

/** One evaluation, shared by every identical request that arrives before it ends. */
interface Job {
  key: string;
  target: CheckRequest['target'];
  request: CheckRequest;
  subscribers: Set<Subscriber>;
  controller: AbortController;
  running: boolean;
  /** Set once its subscribers have their results; later engine callbacks are ignored. */
  settled: boolean;
  decision?: Decision;
}

type ModelState =
  | { status: 'loading' | 'ready' | 'failed'; source: ModelSource; promise: Promise<ModelInfo>; controller: AbortController }
  /** Reload before the next check: the device was lost, or the engine got stuck. */
  | { status: 'lost'; source: ModelSource };

const now = () => performance.now();

export class GuardService implements GuardServiceApi {
  private listener?: (event: ServiceEvent) => void;
  private model?: ModelState;
  private readonly queue = new CheckQueue<Job>();
  private readonly jobs = new Map<string, Job>();
  private readonly byId = new Map<string, { job: Job; subscriber: Subscriber }>();
  private readonly cache: LruCache<Judgement>;
  private readonly selectJudge: (engine: Engine, request: CheckRequest) => Judge;
  private readonly engineReleaseMs: number;
  private pumping = false;

  constructor(
    private readonly engine: Engine,
    options: GuardServiceOptions = {},
  ) {
    this.cache = new LruCache(options.cacheSize ?? 512);
    this.selectJudge = options.selectJudge ?? ((e, r) => windowed(defaultJudge(e, r)));
    this.engineReleaseMs = options.engineReleaseMs ?? DEFAULT_ENGINE_RELEASE_MS;
    try {
      engine.onDeviceLost((error) => this.onDeviceLost(error));
    } catch {
      // An engine that cannot report device loss still serves checks; a loss then fails them instead.
    }
  }

  async listen(listener: (event: ServiceEvent) => void): Promise<void> {
    this.listener = listener;
  }

  async load(source: ModelSource): Promise<Result<ModelInfo>> {
    try {
      return { ok: true, value: await this.startLoad(source) };
    } catch (error) {
      return { ok: false, error: errorToWire(error) };
    }
  }

  async unload(): Promise<void> {
    const model = this.model;
    this.model = undefined;
    if (model && model.status !== 'lost') model.controller.abort(new AegisAbortError('The model was unloaded.'));
    this.cache.clear();
    await this.engine.unload();
  }

  async check(request: CheckRequest, onEvent?: (event: CheckEvent) => void): Promise<Result<Verdict>> {
    const receivedAt = now();
    try {
      validateCheckRequest(request);
    } catch (error) {
      return { ok: false, error: errorToWire(error) };
    }
    if (this.byId.has(request.id)) {
      return { ok: false, error: errorToWire(new AegisInputError(`A check with id "${request.id}" is already pending.`)) };
    }
    // Before the key (a copy of the texts), the cache, merging and the model: a text over the limit is
    // refused whatever the judge, the model's state or the fail mode, so merged checks never share a limit.
    const tooLong = inputLimitError(request, request.maxInputChars ?? DEFAULT_MAX_INPUT_CHARS);
    if (tooLong) return { ok: true, value: failureVerdict(tooLong, request, { queuedMs: 0, totalMs: now() - receivedAt }) };
    const key = requestKey(request);
    const cached = this.cache.get(key);
    if (cached) {
      const totalMs = now() - receivedAt;
      return { ok: true, value: verdictFromJudgement(cached, request, { queuedMs: 0, totalMs }, true) };
    }
    return new Promise<Result<Verdict>>((resolve) => {
      const subscriber: Subscriber = {
        request,
        onEvent,
        receivedAt,
        settle: (result) => {
          this.byId.delete(request.id);
          resolve(result);
        },
      };
      let job = this.jobs.get(key);
      if (!job) {
        job = {
          key,
          target: request.target,
          request,
          subscribers: new Set(),
          controller: new AbortController(),
          running: false,
          settled: false,
        };
        this.jobs.set(key, job);
        this.queue.push(job);
      }
      job.subscribers.add(subscriber);
      this.byId.set(request.id, { job, subscriber });
      if (job.running) emit(subscriber, { type: 'started', queuedMs: 0 });
      if (job.decision) emit(subscriber, { type: 'decision', decision: job.decision });
      void this.pump();
    });
  }

  async clearCache(): Promise<void> {
    this.cache.clear();
  }

  async cancel(id: string): Promise<void> {
    const entry = this.byId.get(id);
    if (!entry) return;
    const { job, subscriber } = entry;
    job.subscribers.delete(subscriber);
    subscriber.settle({ ok: false, error: errorToWire(new AegisAbortError('The check was cancelled.')) });
    if (job.subscribers.size > 0) return;
    // Nobody waits for this evaluation any more.
    this.jobs.delete(job.key);
    if (!this.queue.remove(job)) job.controller.abort(new AegisAbortError('The check was cancelled.'));
  }

  private startLoad(source: ModelSource): Promise<ModelInfo> {
    if (this.model && this.model.status !== 'lost') {
      this.model.controller.abort(new AegisAbortError('Superseded by a newer load.'));
    }
    this.cache.clear();
    const controller = new AbortController();
    // The state exists before loadModel runs, so its first progress report already counts as current.
    const state = { status: 'loading', source, controller } as Exclude<ModelState, { status: 'lost' }>;
    this.model = state;
    const promise = this.loadModel(source, controller.signal).then(plainModelInfo);
    state.promise = promise;
    promise.then(
      () => {
        if (this.model === state) state.status = 'ready';
      },
      () => {
        if (this.model === state) state.status = 'failed';
      },
    );
    return promise;
  }

  private async loadModel(source: ModelSource, signal: AbortSignal): Promise<ModelInfo> {
    const started = now();
    const report = (progress: LoadProgress) => this.notify({ type: 'progress', progress });
    report({ phase: 'preflight', progress: 0, text: 'Checking WebGPU…' });
    const gpu = await preflight();
    // Picks the variant the GPU can run (q4f32_1 without shader-f16) and builds absolute URLs.
    const spec = resolveModelSpec(source, gpu);
    signal.throwIfAborted();
    const loaded = await this.engine.load(spec, { signal, onProgress: report });
    signal.throwIfAborted();
    return {
      modelId: spec.modelId,
      variant: spec.variant,
      weightsUrl: spec.weightsUrl,
      modelLibUrl: loaded.modelLibUrl,
      contextWindow: loaded.contextWindow,
      gpu,
      ...fastPathStatusOf(this.engine),
      loadMs: now() - started,
    };
  }

  /** Waits for a usable model, reloading after a device loss. */
  private async ensureModel(): Promise<void> {
    const model = this.model;
    if (!model) throw new ModelNotLoadedError('No model is loaded: call load() first.');
    if (model.status === 'lost') {
      await this.startLoad(model.source);
      return;
    }
    await model.promise;
  }

  private onDeviceLost(error: unknown): void {
    if (this.model) this.model = { status: 'lost', source: this.model.source };
    this.cache.clear();
    this.notify({ type: 'device-lost', error: errorToWire(new DeviceLostError(describeThrown(error))) });
  }

  private notify(event: ServiceEvent): void {
    try {
      if (event.type === 'progress') {
        // Reports from a load that has ended (or from a confused engine) are dropped, not forwarded.
        const progress = this.model?.status === 'loading' ? plainProgress(event.progress) : undefined;
        if (!progress) return;
        event = { type: 'progress', progress };
      }
      this.listener?.(event);
    } catch {
      // The page's listener is best-effort; a failure there must not break loading or checks.
    }
  }

  private async pump(): Promise<void> {
    if (this.pumping) return;
    this.pumping = true;
    try {
      for (let job = this.queue.shift(); job; job = this.queue.shift(replyTo(job))) await this.run(job);
    } finally {
      this.pumping = false;
    }
  }

  private async run(job: Job): Promise<void> {
    job.running = true;
    const startedAt = now();
    for (const s of job.subscribers) emit(s, { type: 'started', queuedMs: startedAt - s.receivedAt });
    const { signal } = job.controller;
    const timeoutMs = job.request.timeoutMs ?? 0;
    const disarm = armTimeout(job.controller, timeoutMs, () => new AegisTimeoutError(`The check took longer than ${timeoutMs} ms.`, timeoutMs));
    let work: EngineWork<Judgement> | undefined;
    try {
      await untilAborted(this.ensureModel(), signal);
      const judge = this.selectJudge(this.engine, job.request);
      work = new EngineWork(() =>
        judge(this.engine, job.request, {
          signal,
          onDecision: (decision) => {
            // An engine may call back after the check settled, or with nonsense: neither reaches the page.
            if (job.settled || decisionProblem(decision)) return;
            job.decision = decision;
            for (const s of job.subscribers) emit(s, { type: 'decision', decision });
          },
        }),
      );
      // Settles on the signal (timeout, cancel) even if the engine ignores it and never returns.
      const judgement = plainJudgement(await untilAborted(work.promise, signal));
      signal.throwIfAborted();
      if (!judgement.failure) this.cache.set(job.key, judgement);
      this.finish(job, (s) => ({
        ok: true,
        value: verdictOrFailure(() => verdictFromJudgement(judgement, s.request, timingsOf(s, startedAt), false), s, startedAt),
      }));
    } catch (thrown) {
      const error = toAegisError(signal.aborted ? signal.reason : thrown);
      if (error instanceof DeviceLostError && this.model && this.model.status !== 'lost') {
        this.model = { status: 'lost', source: this.model.source };
      }
      this.finish(job, (s) => ({ ok: true, value: failureVerdict(error, s.request, timingsOf(s, startedAt)) }));
    } finally {
      disarm();
    }
    // One check at a time on the engine: the next one waits until this one's engine work has ended.
    if (work && !work.done && !(await work.endsWithin(this.engineReleaseMs))) this.onEngineStuck();
  }

  /** The engine kept working long after its check settled. It may never return: start over with a reload. */
  private onEngineStuck(): void {
    if (this.model) this.model = { status: 'lost', source: this.model.source };
    this.cache.clear();
    const message = `The engine was still busy ${this.engineReleaseMs} ms after a check ended; the model is reloaded.`;
    this.notify({ type: 'engine-stuck', error: errorToWire(new EngineError(message)) });
  }

  private finish(job: Job, resultFor: (s: Subscriber) => Result<Verdict>): void {
    job.settled = true;
    if (this.jobs.get(job.key) === job) this.jobs.delete(job.key);
    for (const s of job.subscribers) s.settle(resultFor(s));
    job.subscribers.clear();
  }
}

/** The request's judge choice: 'json' and 'fast' force one (evaluation); 'auto' prefers the fast path. */
function defaultJudge(engine: Engine, request: CheckRequest): Judge {
  if (request.judge === 'json') return judgeByJson;
  if (request.judge === 'fast' && !engine.tokens()) {
    throw new EngineError('The fast path was requested, but the loaded model offers no token-level access (see ModelInfo.fastPath).');
  }
  return engine.tokens() ? judgeFast : judgeByJson;
}

/** After a prompt check: matches a reply check on the same prompt and categories (its prompt is still cached). */
function replyTo(previous: Job): ((job: Job) => boolean) | undefined {
  if (previous.target !== 'prompt') return undefined;
  const { user, categories } = previous.request;
  const same = JSON.stringify(categories);
  return (job) => job.request.user === user && (job.request.categories === categories || JSON.stringify(job.request.categories) === same);
}

function timingsOf(s: Subscriber, startedAt: number) {
  const end = now();
  return { queuedMs: Math.max(0, startedAt - s.receivedAt), totalMs: end - s.receivedAt };
}

function emit(s: Subscriber, event: CheckEvent): void {
  try {
    s.onEvent?.(event);
  } catch {
    // A page-side listener failing must not break the check.
  }
}

/** The verdict `build` makes, or a fail-closed one when it throws or makes a malformed one. */
function verdictOrFailure(build: () => Verdict, s: Subscriber, startedAt: number): Verdict {
  try {
    return assertVerdict(build());
  } catch (error) {
    return failureVerdict(toAegisError(error), s.request, timingsOf(s, startedAt));
  }
}

function toAegisError(error: unknown): AegisError {
  if (error instanceof AegisError) return error;
  return new EngineError(describeThrown(error), { cause: error });
}
