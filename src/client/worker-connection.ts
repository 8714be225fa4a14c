/**
 * One live worker, its Comlink proxy, and the watch kept on it.
 *
 * Comlink leaves a call pending forever when its worker dies, closes itself or stops answering, and a
 * worker reports none of those (only uncaught errors and undecodable messages fire events). So every call
 * goes through `call()`, which this class rejects when the worker is given up on, and the worker is watched:
 * - every message it sends is screened: a guard notice, a well-formed Comlink answer, or (if it carries
 *   either marker but is malformed) a protocol violation that ends the connection;
 * - while calls are pending, a worker silent for `unresponsiveAfter` ms is pinged, and given up on after
 *   that long without a word (`startupAfter` before its first message: the script may still be downloading);
 * - an error before the worker's first message means its script never ran: `script-failed`, with its URL.
 */
import * as Comlink from 'comlink';
import { type AegisError, WorkerCrashedError, type WorkerFailureReason } from '../core/errors.js';
import { decisionProblem, progressProblem, wireErrorProblem } from '../core/wire-shapes.js';
import { NOTICE, PROTOCOL_VERSION, type CheckEvent, type GuardWorkerApi, type ServiceEvent } from '../worker/protocol.js';

export interface ConnectionOptions {
  /** The worker script's URL when known; the worker's hello replaces it with its own location. */
  workerUrl?: string;
  /** Silence, in ms, after which a worker with calls pending is given up on. */
  unresponsiveAfter: number;
  /** The same before the worker's first message. */
  startupAfter: number;
}

export interface ConnectionEvents {
  onEvent(event: ServiceEvent): void;
  onCheckEvent(id: string, event: CheckEvent): void;
  /** The connection was given up on (not called for `close()`). */
  onFailure(error: WorkerCrashedError): void;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null;

/** What Comlink may receive: `{id, type: 'RAW', value}` or a thrown error. Anything else would throw inside it. */
function isComlinkAnswer(data: Record<string, unknown>): boolean {
  if (typeof data.id !== 'string') return false;
  if (data.type === 'RAW') return true;
  return data.type === 'HANDLER' && data.name === 'throw' && isObject(data.value) && 'value' in data.value;
}

function serviceEventProblem(event: unknown): string | undefined {
  if (!isObject(event)) return 'event';
  if (event.type === 'progress') return progressProblem(event.progress);
  if (event.type === 'device-lost' || event.type === 'engine-stuck') return wireErrorProblem(event.error);
  return 'event type';
}

function checkEventProblem(event: unknown): string | undefined {
  if (!isObject(event)) return 'check event';
  if (event.type === 'started') return typeof event.queuedMs === 'number' ? undefined : 'queuedMs';
  if (event.type === 'decision') return decisionProblem(event.decision);
  return 'check event type';
}

const now = () => performance.now();

export class WorkerConnection {
  /**
   * Every method of the service already returns a Promise and takes plain data, so the API type itself
   * describes the remote (Comlink's Remote<> would split the Result union apart).
   */
  readonly remote: GuardWorkerApi;
  private readonly proxy: Comlink.Remote<GuardWorkerApi>;
  private readonly pending = new Set<(error: AegisError) => void>();
  private closed?: AegisError;
  private started = false;
  private url?: string;
  private lastHeard = now();
  private watchTimer?: ReturnType<typeof setTimeout>;
  private readonly onMessage = (event: MessageEvent) => this.receive(event);
  private readonly onError = (event: Event) => {
    event.preventDefault();
    const message = (event as ErrorEvent).message;
    if (this.started) this.fail('uncaught-error', `it threw an uncaught error${message ? ` (${message})` : ''}`);
    else this.fail('script-failed', message || 'the script could not be loaded or did not run (not found, not JavaScript, or an import failed)');
  };
  private readonly onMessageError = () => this.fail('bad-message', 'it sent a message that could not be deserialized');

  constructor(
    readonly worker: Worker,
    private readonly options: ConnectionOptions,
    private readonly events: ConnectionEvents,
  ) {
    this.url = options.workerUrl;
    // Registered before Comlink's own listener, so a malformed answer can be stopped before Comlink reads
    // it (it would throw inside Comlink's handler and leave the call pending). Comlink wraps the Worker
    // itself: its proxy count per endpoint then keeps other wrappers of the same worker (tests, apps) from
    // releasing the worker's side when they are garbage-collected.
    worker.addEventListener('message', this.onMessage);
    this.proxy = Comlink.wrap<GuardWorkerApi>(worker);
    this.remote = this.proxy as unknown as GuardWorkerApi;
    // An uncaught error means the worker's state can no longer be trusted: it is replaced, not reused.
    worker.addEventListener('error', this.onError);
    worker.addEventListener('messageerror', this.onMessageError);
  }

  get isClosed(): boolean {
    return this.closed !== undefined;
  }

  /** Whether the worker has spoken the protocol at least once (its script loaded and runs). */
  get hasStarted(): boolean {
    return this.started;
  }

  get workerUrl(): string | undefined {
    return this.url;
  }

  /** Runs one remote call; rejects with the close reason if the worker goes away first. */
  call<T>(fn: (remote: GuardWorkerApi) => Promise<T>): Promise<T> {
    if (this.closed) return Promise.reject(this.closed);
    // Silence only counts while something is asked.
    if (this.pending.size === 0) this.lastHeard = now();
    return new Promise<T>((resolve, reject) => {
      this.pending.add(reject);
      this.watch();
      let answer: Promise<T>;
      try {
        answer = fn(this.remote);
      } catch (error) {
        answer = Promise.reject(error);
      }
      answer.then(resolve, reject).finally(() => this.pending.delete(reject));
    });
  }

  /** Gives up on the worker: terminates it, rejects every pending call and reports the failure. */
  fail(reason: WorkerFailureReason, detail: string): void {
    if (this.closed) return;
    const where = this.url ? ` (${this.url})` : '';
    const error = new WorkerCrashedError(`The guard worker${where} stopped: ${detail}.`, { reason, workerUrl: this.url });
    this.close(error);
    this.events.onFailure(error);
  }

  /** Terminates the worker and rejects every pending call with `reason`. */
  close(reason: AegisError): void {
    if (this.closed) return;
    this.closed = reason;
    clearTimeout(this.watchTimer);
    this.worker.removeEventListener('message', this.onMessage);
    this.worker.removeEventListener('error', this.onError);
    this.worker.removeEventListener('messageerror', this.onMessageError);
    for (const reject of this.pending) reject(reason);
    this.pending.clear();
    this.proxy[Comlink.releaseProxy]();
    this.worker.terminate();
  }

  private receive(event: MessageEvent): void {
    if (this.closed) {
      // Answers after the connection was given up on reach no one.
      event.stopImmediatePropagation();
      return;
    }
    this.lastHeard = now();
    const data: unknown = event.data;
    if (!isObject(data)) return;
    if (NOTICE in data) {
      this.notice(data);
      return;
    }
    if (!('id' in data)) return; // not ours: a custom worker may post its own messages
    if (!isComlinkAnswer(data)) {
      event.stopImmediatePropagation();
      this.fail('bad-message', 'it sent a malformed answer');
      return;
    }
    // Comlink's listener, registered after this one, takes it from here.
    this.started = true;
  }

  private notice(data: Record<string, unknown>): void {
    const kind = data[NOTICE];
    if (kind === 'hello') {
      if (data.version !== PROTOCOL_VERSION) {
        this.fail('bad-message', `it speaks protocol version ${String(data.version)}, this page ${PROTOCOL_VERSION} (mismatched aegis-guard versions)`);
        return;
      }
      if (typeof data.url === 'string') this.url = data.url;
      this.started = true;
      return;
    }
    if (kind === 'event') {
      const problem = serviceEventProblem(data.event);
      if (problem) this.fail('bad-message', `it sent a malformed event (${problem})`);
      else this.events.onEvent(data.event as ServiceEvent);
      return;
    }
    if (kind === 'check') {
      const problem = typeof data.id === 'string' ? checkEventProblem(data.event) : 'id';
      if (problem) this.fail('bad-message', `it sent a malformed check event (${problem})`);
      else this.events.onCheckEvent(data.id as string, data.event as CheckEvent);
      return;
    }
    this.fail('bad-message', `it sent an unknown notice (${String(kind)})`);
  }

  /** Keeps one timer running while calls are pending: pings a quiet worker, gives up on a silent one. */
  private watch(): void {
    if (this.watchTimer !== undefined || this.closed) return;
    const limit = () => (this.started ? this.options.unresponsiveAfter : this.options.startupAfter);
    const tick = Math.max(10, Math.min(1000, this.options.unresponsiveAfter / 4));
    const check = () => {
      this.watchTimer = undefined;
      if (this.closed || this.pending.size === 0) return;
      const silence = now() - this.lastHeard;
      if (silence >= limit()) {
        const seconds = (silence / 1000).toFixed(1);
        if (this.started) this.fail('unresponsive', `it stopped answering (silent for ${seconds} s: it closed itself, was terminated, or is stuck)`);
        else this.fail('never-answered', `it never answered (silent for ${seconds} s since it was created); is it running aegis-guard/worker?`);
        return;
      }
      // Any answer counts as a sign of life; a worker without ping() still answers with an error.
      if (silence >= tick) this.remote.ping().catch(() => undefined);
      this.watchTimer = setTimeout(check, tick);
    };
    this.watchTimer = setTimeout(check, tick);
  }
}
