/**
 * Waiting on work that may ignore its abort signal (an engine call, a reload, a database read): the wait
 * ends when the signal aborts, whether or not the work does.
 */

/**
 * Settles as `promise` does, or rejects with `reason()` (default: the signal's own reason) as soon as
 * `signal` aborts, even if `promise` is still pending or never ends. The abort listener is removed either way.
 */
export function untilAborted<T>(promise: Promise<T>, signal: AbortSignal, reason: () => unknown = () => signal.reason): Promise<T> {
  if (signal.aborted) return Promise.reject(reason());
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(reason());
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(e);
      },
    );
  });
}
