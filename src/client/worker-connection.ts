/**
 * One live worker and its Comlink proxy. Comlink leaves a call pending forever when its worker dies or is
 * terminated, so every call goes through `call()`, which this class can reject on a crash or on dispose.
 */
import * as Comlink from 'comlink';
import { type AegisError, WorkerCrashedError } from '../core/errors.js';
import type { GuardServiceApi } from '../worker/protocol.js';

export class WorkerConnection {
  /**
   * Every method of the service already returns a Promise and takes plain data or Comlink proxies, so the
   * API type itself describes the remote (Comlink's Remote<> would split the Result union apart).
   */
  readonly remote: GuardServiceApi;
  private readonly proxy: Comlink.Remote<GuardServiceApi>;
  private readonly pending = new Set<(error: AegisError) => void>();
  private closed?: AegisError;

  constructor(
    readonly worker: Worker,
    onCrash: (error: WorkerCrashedError) => void,
  ) {
    this.proxy = Comlink.wrap<GuardServiceApi>(worker);
    this.remote = this.proxy as unknown as GuardServiceApi;
    const crashed = (detail: string) => {
      if (this.closed) return;
      const error = new WorkerCrashedError(`The guard worker stopped: ${detail}`);
      this.close(error);
      onCrash(error);
    };
    // An uncaught error means the worker's state can no longer be trusted: it is replaced, not reused.
    worker.addEventListener('error', (event) => {
      event.preventDefault();
      crashed(event.message || 'it failed to start or threw an uncaught error');
    });
    worker.addEventListener('messageerror', () => crashed('a message could not be deserialized'));
  }

  get isClosed(): boolean {
    return this.closed !== undefined;
  }

  /** Runs one remote call; rejects with the close reason if the worker goes away first. */
  call<T>(fn: (remote: GuardServiceApi) => Promise<T>): Promise<T> {
    if (this.closed) return Promise.reject(this.closed);
    return new Promise<T>((resolve, reject) => {
      this.pending.add(reject);
      fn(this.remote)
        .then(resolve, reject)
        .finally(() => this.pending.delete(reject));
    });
  }

  /** Terminates the worker and rejects every pending call with `reason`. */
  close(reason: AegisError): void {
    if (this.closed) return;
    this.closed = reason;
    for (const reject of this.pending) reject(reason);
    this.pending.clear();
    this.proxy[Comlink.releaseProxy]();
    this.worker.terminate();
  }
}
