/**
 * Settling on time, whatever the engine does. A forward pass cannot be interrupted and an engine may ignore
 * its abort signal, so the worker never waits on engine work without also watching the clock or the signal.
 */

/** Engine work whose end can be asked about synchronously, and waited for with a limit. */
export class EngineWork<T> {
  private ended = false;
  readonly promise: Promise<T>;

  /** Runs `start` at once; a synchronous throw becomes a rejection. */
  constructor(start: () => Promise<T>) {
    let promise: Promise<T>;
    try {
      promise = Promise.resolve(start());
    } catch (error) {
      promise = Promise.reject(error);
    }
    this.promise = promise;
    const end = () => {
      this.ended = true;
    };
    promise.then(end, end);
  }

  get done(): boolean {
    return this.ended;
  }

  /** Resolves true once the work ends, or false after `ms` if it has not. Never rejects. */
  endsWithin(ms: number): Promise<boolean> {
    if (this.ended) return Promise.resolve(true);
    return new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), ms);
      const end = () => {
        clearTimeout(timer);
        resolve(true);
      };
      this.promise.then(end, end);
    });
  }
}

/** Aborts `controller` with `reason()` after `ms` (none when `ms` is 0). Returns the disarm function. */
export function armTimeout(controller: AbortController, ms: number, reason: () => Error): () => void {
  if (!(ms > 0)) return () => undefined;
  const timer = setTimeout(() => controller.abort(reason()), ms);
  return () => clearTimeout(timer);
}
