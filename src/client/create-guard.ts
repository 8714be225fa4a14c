/**
 * The main-thread guard: validates input, forwards checks to the worker, turns worker failures into
 * fail-closed verdicts, and keeps working after the worker crashes (a fresh worker reloads the model).
 */
import * as Comlink from 'comlink';
import {
  AegisAbortError,
  AegisInputError,
  type AegisError,
  GuardDisposedError,
  WorkerCrashedError,
  errorFromWire,
} from '../core/errors.js';
import { resolvePolicy } from '../core/policy.js';
import { validateCustomCategories } from '../core/taxonomy.js';
import type { CustomCategory, ModelInfo, Policy, Target, Verdict } from '../core/types.js';
import { failureVerdict } from '../core/verdict.js';
import { DEFAULT_MAX_INPUT_CHARS, scaledTimeoutMs, validateMaxInputChars } from '../windowing/limits.js';
import type { CheckEvent, CheckRequest, ModelSource, Result, ServiceEvent } from '../worker/protocol.js';
import { guardStream } from '../stream/guard-stream.js';
import type { GuardStreamEvent, GuardStreamOptions, StreamSource } from '../stream/types.js';
import { Emitter } from './emitter.js';
import { toModelSource } from './model-option.js';
import { clearStoredVerdicts, PersistentVerdicts, resolvePersistentCache } from './persistent-verdicts.js';
import type { CheckOptions, Guard, GuardEventMap, GuardOptions, GuardState, ModelOption } from './types.js';
import { WorkerConnection } from './worker-connection.js';

const DEFAULT_TIMEOUT_MS = 30_000;
/** More crashes than this within the window means the worker cannot run here; stop restarting it. */
const MAX_CRASHES = 3;
const CRASH_WINDOW_MS = 60_000;

/** Creates a guard with its own worker and model. */
export function createGuard(options: GuardOptions = {}): Guard {
  return new GuardClient(options);
}

function defaultWorker(): Worker {
  return new Worker(new URL('../worker/guard.worker.js', import.meta.url), { type: 'module', name: 'aegis-guard' });
}

function pageBase(): string {
  const base = globalThis.document?.baseURI ?? globalThis.location?.href;
  if (!base) throw new AegisInputError('aegis-guard must run in a browser page (no document or location found).');
  return base;
}

function unwrap<T>(result: Result<T>): T {
  if (result.ok) return result.value;
  throw errorFromWire(result.error);
}

class GuardClient implements Guard {
  private readonly emitter = new Emitter<GuardEventMap>();
  private readonly policy: Policy;
  private readonly categories: CustomCategory[];
  private readonly timeoutMs: number;
  private readonly timeoutScales: boolean;
  private readonly maxInputChars: number;
  private readonly makeWorker: () => Worker;
  private source: ModelSource;
  private connection: WorkerConnection;
  private loading?: Promise<ModelInfo>;
  private currentState: GuardState = 'idle';
  private crashes: number[] = [];
  private sequence = 0;
  private readonly stored?: PersistentVerdicts;

  constructor(options: GuardOptions) {
    if (typeof options !== 'object' || options === null) throw new AegisInputError('createGuard options must be an object.');
    this.policy = resolvePolicy({
      failMode: options.failMode,
      threshold: options.threshold,
      ignore: options.ignoreCategories,
    });
    this.categories = [...(options.categories ?? [])];
    validateCustomCategories(this.categories);
    const timeout = options.timeout ?? DEFAULT_TIMEOUT_MS;
    if (!(Number.isFinite(timeout) && timeout >= 0)) throw new AegisInputError('timeout must be a non-negative number of milliseconds.');
    this.timeoutMs = timeout;
    this.timeoutScales = options.timeout === undefined;
    this.maxInputChars = options.maxInputChars ?? DEFAULT_MAX_INPUT_CHARS;
    validateMaxInputChars(this.maxInputChars);
    this.source = toModelSource(options.model, pageBase());
    const persistent = resolvePersistentCache(options.persistentCache);
    if (persistent) {
      this.stored = new PersistentVerdicts(persistent);
      // An eager guard also finds out at once which model it will run, ready for the first lookup.
      this.stored.bind(this.source, { now: options.eager !== false });
    }
    this.makeWorker = workerFactory(options.worker);
    this.connection = this.connect();
    if (options.eager !== false) void this.load();
  }

  get state(): GuardState {
    return this.currentState;
  }

  get ready(): Promise<ModelInfo> {
    return this.loading ?? this.load();
  }

  on<K extends keyof GuardEventMap>(event: K, listener: (value: GuardEventMap[K]) => void): () => void {
    return this.emitter.on(event, listener);
  }

  reload(model?: ModelOption): Promise<ModelInfo> {
    this.assertAlive();
    if (model !== undefined) {
      this.source = toModelSource(model, pageBase());
      this.stored?.bind(this.source, { now: true });
    }
    if (this.connection.isClosed) this.connection = this.connect();
    return this.load();
  }

  checkPrompt(text: string, options?: CheckOptions): Promise<Verdict> {
    return this.check('prompt', text, undefined, options);
  }

  checkResponse(prompt: string, reply: string, options?: CheckOptions): Promise<Verdict> {
    return this.check('response', prompt, reply, options);
  }

  guardStream(prompt: string, source: StreamSource, options?: GuardStreamOptions): AsyncIterable<GuardStreamEvent> {
    return guardStream(this, prompt, source, options);
  }

  async clearCache(): Promise<void> {
    this.assertAlive();
    // Not awaited: the worker handles messages in order, so every check sent after this finds its memory
    // cleared, and a worker that does not answer (or lacks the method) cannot keep this call from settling.
    this.connection.call((remote) => remote.clearCache?.() ?? Promise.resolve()).catch(() => undefined);
    await clearStoredVerdicts();
  }

  dispose(): void {
    if (this.currentState === 'disposed') return;
    this.currentState = 'disposed';
    this.stored?.close();
    this.connection.close(new GuardDisposedError('The guard was disposed.'));
    this.emitter.clear();
  }

  private assertAlive(): void {
    if (this.currentState === 'disposed') throw new GuardDisposedError('The guard was disposed.');
  }

  private connect(): WorkerConnection {
    const connection = new WorkerConnection(this.makeWorker(), (error) => this.onCrash(connection, error));
    connection
      .call((remote) => remote.listen(Comlink.proxy((event: ServiceEvent) => this.onServiceEvent(event))))
      .catch(() => {
        // A dead worker is reported through onCrash.
      });
    return connection;
  }

  private load(): Promise<ModelInfo> {
    this.assertAlive();
    this.currentState = 'loading';
    const connection = this.connection;
    const source = this.source;
    const promise: Promise<ModelInfo> = connection
      .call((remote) => remote.load(source))
      .then(unwrap)
      .then(
        (info) => {
          if (this.loading === promise) {
            this.currentState = 'ready';
            this.emitter.emit('ready', info);
          }
          return info;
        },
        (error: AegisError) => {
          if (this.loading === promise && this.currentState !== 'disposed') {
            this.currentState = 'failed';
            this.emitter.emit('error', error);
          }
          throw error;
        },
      );
    // `ready` may never be awaited; its failure is also reported through the 'error' event.
    promise.catch(() => {});
    this.loading = promise;
    return promise;
  }

  private onServiceEvent(event: ServiceEvent): void {
    if (event.type === 'progress') this.emitter.emit('progress', event.progress);
    else this.emitter.emit('error', errorFromWire(event.error));
  }

  private onCrash(connection: WorkerConnection, error: WorkerCrashedError): void {
    if (connection !== this.connection || this.currentState === 'disposed') return;
    this.emitter.emit('error', error);
    const now = Date.now();
    this.crashes = [...this.crashes.filter((t) => now - t < CRASH_WINDOW_MS), now];
    if (this.crashes.length > MAX_CRASHES) {
      this.currentState = 'failed';
      return;
    }
    try {
      this.connection = this.connect();
    } catch {
      this.currentState = 'failed';
      return;
    }
    if (this.loading) void this.load();
  }

  private check(target: Target, user: string, response: string | undefined, options: CheckOptions = {}): Promise<Verdict> {
    try {
      this.assertAlive();
      if (typeof user !== 'string') {
        throw new AegisInputError(`${target === 'prompt' ? 'The prompt' : 'The prompt a reply answers'} must be a string, got ${typeof user}.`);
      }
      if (target === 'response' && typeof response !== 'string') {
        throw new AegisInputError(`The reply must be a string, got ${typeof response}.`);
      }
      if (typeof options !== 'object' || options === null) throw new AegisInputError('Check options must be an object.');
      if (options.judge !== undefined && options.judge !== 'auto' && options.judge !== 'fast' && options.judge !== 'json') {
        throw new AegisInputError(`judge must be 'auto', 'fast' or 'json', got ${JSON.stringify(options.judge)}.`);
      }
      if (options.signal?.aborted) throw new AegisAbortError('The check was cancelled before it started.');
    } catch (error) {
      return Promise.reject(error);
    }
    if (!this.loading && this.connection.isClosed === false) void this.load();
    const request: CheckRequest = {
      id: `check-${++this.sequence}`,
      target,
      user,
      ...(target === 'response' ? { response } : {}),
      categories: this.categories,
      policy: this.policy,
      timeoutMs: this.timeoutScales ? scaledTimeoutMs(this.timeoutMs, user.length + (response?.length ?? 0)) : this.timeoutMs,
      maxInputChars: this.maxInputChars,
      ...(options.wantCategories ? { wantCategories: true } : {}),
      ...(options.judge && options.judge !== 'auto' ? { judge: options.judge } : {}),
    };
    return this.stored ? this.sendOrRecall(this.stored, request, options) : this.send(request, options);
  }

  /** Answers from the verdicts stored on this device when it can, else asks the worker and stores its verdict. */
  private async sendOrRecall(stored: PersistentVerdicts, request: CheckRequest, options: CheckOptions): Promise<Verdict> {
    const recalled = await stored.lookup(request, options.signal);
    if (recalled) {
      this.assertAlive();
      this.emitter.emit('verdict', recalled);
      return recalled;
    }
    const verdict = await this.send(request, options);
    stored.remember(request, verdict);
    return verdict;
  }

  private send(request: CheckRequest, { signal, onDecision }: CheckOptions): Promise<Verdict> {
    const connection = this.connection;
    const sentAt = performance.now();
    const onEvent = onDecision
      ? Comlink.proxy((event: CheckEvent) => {
          if (event.type === 'decision') onDecision(event.decision);
        })
      : undefined;
    return new Promise<Verdict>((resolve, reject) => {
      const onAbort = () => {
        connection.call((remote) => remote.cancel(request.id)).catch(() => {});
        reject(new AegisAbortError('The check was cancelled.'));
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      connection
        .call((remote) => remote.check(request, onEvent))
        .then(
          (result) => {
            const verdict = unwrap(result);
            this.emitter.emit('verdict', verdict);
            resolve(verdict);
          },
          (error: unknown) => {
            // Fail closed: a crash yields a blocking verdict, not an exception a caller might ignore.
            if (error instanceof WorkerCrashedError) {
              const totalMs = performance.now() - sentAt;
              resolve(failureVerdict(error, request, { queuedMs: 0, totalMs }));
            } else reject(error);
          },
        )
        .catch(reject)
        .finally(() => signal?.removeEventListener('abort', onAbort));
    });
  }
}

function workerFactory(worker: GuardOptions['worker']): () => Worker {
  if (worker === undefined) return defaultWorker;
  if (typeof worker === 'function') return worker as () => Worker;
  if (typeof Worker !== 'undefined' && worker instanceof Worker) {
    // A worker instance can be used once; after a crash there is nothing to restart.
    let used = false;
    return () => {
      if (used) throw new WorkerCrashedError('The worker passed to createGuard crashed and cannot be restarted; pass a factory instead.');
      used = true;
      return worker;
    };
  }
  throw new AegisInputError('The worker option must be a Worker or a function returning one.');
}
