/**
 * The main-thread guard: validates input, forwards checks to the worker, turns worker failures into
 * fail-closed verdicts, and keeps working after the worker crashes (a fresh worker reloads the model).
 *
 * Restarts: a worker that never started (its script did not load) is not restarted, since the same script
 * would fail again. A failure while a check was running is blamed on that check (flights.ts) and the worker
 * is restarted; one with nobody to blame counts against a budget, past which the guard is `failed`.
 * `reload()` starts over.
 */
import {
  AegisAbortError,
  AegisInputError,
  type AegisError,
  GuardDisposedError,
  InputTooLongError,
  WorkerCrashedError,
  describeThrown,
  errorFromWire,
} from '../core/errors.js';
import { resolvePolicy } from '../core/policy.js';
import { validateCustomCategories } from '../core/taxonomy.js';
import type { CustomCategory, ModelInfo, Policy, Target, Verdict } from '../core/types.js';
import { modelInfoProblem, resultProblem } from '../core/wire-shapes.js';
import { failureVerdict } from '../core/verdict.js';
import { assertWithinInputLimit, DEFAULT_MAX_INPUT_CHARS, scaledTimeoutMs, validateMaxInputChars } from '../windowing/limits.js';
import type { CheckRequest, ModelSource, ServiceEvent } from '../worker/protocol.js';
import { guardStream } from '../stream/guard-stream.js';
import type { GuardStreamEvent, GuardStreamOptions, StreamSource } from '../stream/types.js';
import { Emitter } from './emitter.js';
import { Flights } from './flights.js';
import { toModelSource } from './model-option.js';
import { isTransientCheck } from './transient-check.js';
import { clearStoredVerdicts, PersistentVerdicts, resolvePersistentCache } from './persistent-verdicts.js';
import type { CheckOptions, Guard, GuardEventMap, GuardOptions, GuardState, ModelOption } from './types.js';
import { WorkerConnection } from './worker-connection.js';
import { workerSpawner, type WorkerSpawner } from './worker-source.js';

const DEFAULT_TIMEOUT_MS = 30_000;
const DEFAULT_UNRESPONSIVE_AFTER_MS = 10_000;
/** Before its first message a worker may still be downloading its script (WebLLM is ~6 MB). */
const STARTUP_FACTOR = 3;
/** More failures than this within the window, with no check to blame, means the worker cannot run here. */
const MAX_CRASHES = 3;
const CRASH_WINDOW_MS = 60_000;

/** Creates a guard with its own worker and model. */
export function createGuard(options: GuardOptions = {}): Guard {
  return new GuardClient(options);
}

function pageBase(): string {
  const base = globalThis.document?.baseURI ?? globalThis.location?.href;
  if (!base) throw new AegisInputError('aegis-guard must run in a browser page (no document or location found).');
  return base;
}

function nonNegativeMs(value: number | undefined, fallback: number, name: string): number {
  const ms = value ?? fallback;
  if (!(Number.isFinite(ms) && ms >= 0)) throw new AegisInputError(`${name} must be a non-negative number of milliseconds.`);
  return ms;
}

class GuardClient implements Guard {
  private readonly emitter = new Emitter<GuardEventMap>();
  private readonly policy: Policy;
  private readonly categories: CustomCategory[];
  private readonly timeoutMs: number;
  private readonly timeoutScales: boolean;
  private readonly maxInputChars: number;
  private readonly unresponsiveAfter: number;
  private readonly spawn: WorkerSpawner;
  private readonly flights: Flights;
  private source: ModelSource;
  private connection?: WorkerConnection;
  /** Why there is no connection (set when the guard stops restarting its worker). */
  private broken?: AegisError;
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
    this.timeoutMs = nonNegativeMs(options.timeout, DEFAULT_TIMEOUT_MS, 'timeout');
    // The default grows with the text (a long one is judged in windows); a timeout the caller set is kept.
    this.timeoutScales = options.timeout === undefined;
    this.maxInputChars = options.maxInputChars ?? DEFAULT_MAX_INPUT_CHARS;
    validateMaxInputChars(this.maxInputChars);
    this.unresponsiveAfter = nonNegativeMs(options.unresponsiveAfter, DEFAULT_UNRESPONSIVE_AFTER_MS, 'unresponsiveAfter');
    if (this.unresponsiveAfter === 0) throw new AegisInputError('unresponsiveAfter must be more than 0 ms.');
    const base = pageBase();
    this.source = toModelSource(options.model, base);
    const persistent = resolvePersistentCache(options.persistentCache);
    if (persistent) {
      this.stored = new PersistentVerdicts(persistent);
      // An eager guard also finds out at once which model it will run, ready for the first lookup.
      this.stored.bind(this.source, { now: options.eager !== false });
    }
    this.spawn = workerSpawner(options.worker, base);
    this.flights = new Flights({
      connection: () => (this.connection && !this.connection.isClosed ? this.connection : undefined),
      unavailable: () => this.broken ?? new GuardDisposedError('The guard was disposed.'),
      onVerdict: (verdict) => this.emitter.emit('verdict', verdict),
    });
    this.connect();
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
    if (!this.connection || this.connection.isClosed) {
      // An explicit reload starts over: a fresh worker and a fresh restart budget.
      this.crashes = [];
      this.broken = undefined;
      this.connect();
    }
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
    this.connection?.call((remote) => remote.clearCache?.() ?? Promise.resolve()).catch(() => undefined);
    await clearStoredVerdicts();
  }

  dispose(): void {
    if (this.currentState === 'disposed') return;
    this.currentState = 'disposed';
    const error = new GuardDisposedError('The guard was disposed.');
    this.broken = error;
    this.stored?.close();
    this.connection?.close(error);
    this.flights.rejectAll(error);
    this.emitter.clear();
  }

  private assertAlive(): void {
    if (this.currentState === 'disposed') throw new GuardDisposedError('The guard was disposed.');
  }

  /** Starts a worker. A spawn that throws (a cross-origin URL, a used Worker instance) counts as a script that failed. */
  private connect(): void {
    let spawned;
    try {
      spawned = this.spawn();
    } catch (error) {
      this.connection = undefined;
      this.giveUp(new WorkerCrashedError(`The guard worker could not be created: ${describeThrown(error)}.`, { reason: 'script-failed', cause: error }));
      return;
    }
    const connection: WorkerConnection = new WorkerConnection(
      spawned.worker,
      { workerUrl: spawned.url, unresponsiveAfter: this.unresponsiveAfter, startupAfter: this.unresponsiveAfter * STARTUP_FACTOR },
      {
        onEvent: (event) => this.onServiceEvent(connection, event),
        onCheckEvent: (id, event) => this.flights.onCheckEvent(connection, id, event),
        onFailure: (error) => this.onWorkerFailure(connection, error),
      },
    );
    this.connection = connection;
  }

  /** Stops restarting: checks fail closed with `error` until `reload()`. */
  private giveUp(error: AegisError): void {
    this.broken = error;
    if (this.currentState !== 'disposed') this.currentState = 'failed';
    this.emitter.emit('error', error);
  }

  /**
   * Loads the model on the current worker. If that worker dies and the guard restarts it (which loads
   * again), the promise follows the new load: a transient crash does not reject `ready`.
   */
  private load(): Promise<ModelInfo> {
    this.assertAlive();
    const promise: Promise<ModelInfo> = this.loadOnce().then(
      (info) => {
        if (this.loading === promise) {
          this.currentState = 'ready';
          this.emitter.emit('ready', info);
        }
        return info;
      },
      (error: AegisError) => {
        if (error instanceof WorkerCrashedError && this.loading && this.loading !== promise) return this.loading;
        if (this.loading === promise && this.currentState !== 'disposed') {
          this.currentState = 'failed';
          // A worker failure was reported when it happened (onWorkerFailure), whatever error the load saw:
          // the connection's, or the one thrown for a malformed answer.
          if (!(error instanceof WorkerCrashedError)) this.emitter.emit('error', error);
        }
        // Past the restart budget, `ready` rejects with the error that was reported for it.
        throw error instanceof WorkerCrashedError && this.broken instanceof WorkerCrashedError ? this.broken : error;
      },
    );
    // `ready` may never be awaited; its failure is also reported through the 'error' event.
    promise.catch(() => {});
    this.loading = promise;
    return promise;
  }

  private loadOnce(): Promise<ModelInfo> {
    const connection = this.connection;
    if (!connection || connection.isClosed) return Promise.reject(this.broken ?? new WorkerCrashedError('The guard worker is not running.'));
    this.currentState = 'loading';
    const source = this.source;
    return connection
      .call((remote) => remote.load(source))
      .then((result) => {
        const problem = resultProblem(result, modelInfoProblem);
        if (problem) {
          const detail = `it answered a load with a malformed result (${problem})`;
          connection.fail('bad-message', detail);
          throw new WorkerCrashedError(`The guard worker stopped: ${detail}.`, { reason: 'bad-message', workerUrl: connection.workerUrl });
        }
        if (result.ok) return result.value;
        throw errorFromWire(result.error);
      });
  }

  private onServiceEvent(connection: WorkerConnection, event: ServiceEvent): void {
    if (connection !== this.connection) return;
    if (event.type === 'progress') this.emitter.emit('progress', event.progress);
    else if (event.type === 'engine-stuck') this.recycle(connection, errorFromWire(event.error));
    else this.emitter.emit('error', errorFromWire(event.error));
  }

  /** The worker is alive but its engine may never come back: replace the worker (the model reloads). */
  private recycle(connection: WorkerConnection, error: AegisError): void {
    // The check it was running already settled (timed out); the failure is pinned on it, so waiting checks
    // go to the next worker without a strike and the restart budget is not spent.
    this.flights.blame(connection);
    connection.fail('unresponsive', `${error.message.replace(/\.$/, '')}; the worker is replaced`);
  }

  private onWorkerFailure(connection: WorkerConnection, error: WorkerCrashedError): void {
    if (connection !== this.connection || this.currentState === 'disposed') return;
    const blamed = this.flights.noteFailure(connection);
    if (!connection.hasStarted) {
      // The script never ran: the same script would fail again.
      this.giveUp(error);
      return;
    }
    if (!blamed) {
      const now = Date.now();
      this.crashes = [...this.crashes.filter((t) => now - t < CRASH_WINDOW_MS), now];
      if (this.crashes.length > MAX_CRASHES) {
        // One failure, one 'error' event: the give-up error carries this failure's message.
        this.giveUp(new WorkerCrashedError(`${error.message} It failed ${this.crashes.length} times within a minute, so it is not restarted; call reload() to try again.`, {
          reason: error.reason,
          workerUrl: error.workerUrl,
        }));
        return;
      }
    }
    this.emitter.emit('error', error);
    this.connect();
    if (this.loading && this.connection) void this.load();
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
    const tooLong = this.inputTooLong(target, user, response);
    if (tooLong) return Promise.resolve(tooLong);
    if (!this.loading && this.connection && !this.connection.isClosed) void this.load();
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
    return this.stored && !isTransientCheck(options) ? this.sendOrRecall(this.stored, request, options) : this.flights.send(request, options);
  }

  /**
   * The worker's input-too-long verdict for a text over `maxInputChars`, given here: such a text is not
   * copied to the worker (up to megabytes), queued, or looked up, only to be refused there.
   */
  private inputTooLong(target: Target, user: string, response: string | undefined): Verdict | undefined {
    try {
      assertWithinInputLimit({ user, response }, this.maxInputChars);
      return undefined;
    } catch (error) {
      if (!(error instanceof InputTooLongError)) throw error;
      const verdict = failureVerdict(error, { target, policy: this.policy }, { queuedMs: 0, totalMs: 0 });
      this.emitter.emit('verdict', verdict);
      return verdict;
    }
  }

  /** Answers from the verdicts stored on this device when it can, else asks the worker and stores its verdict. */
  private async sendOrRecall(stored: PersistentVerdicts, request: CheckRequest, options: CheckOptions): Promise<Verdict> {
    // One key for both: it hashes the full texts.
    const { verdict: recalled, key } = await stored.lookup(request, options.signal);
    // The lookup is asynchronous: the guard may have been disposed meanwhile.
    this.assertAlive();
    if (recalled) {
      this.emitter.emit('verdict', recalled);
      return recalled;
    }
    const verdict = await this.flights.send(request, options);
    stored.remember(key, verdict);
    return verdict;
  }
}
