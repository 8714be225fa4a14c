/**
 * Reads an upstream of SDK parts (an AsyncIterable or a ReadableStream) and stops it on demand, at once:
 * `stop()` cancels a stream reader, calls the iterator's `return()` and any extra stop the SDK offers (an
 * SDK iterator's `return()` is often an async generator's, which waits for its pending read to finish).
 */
import { AegisInputError } from '../core/errors.js';

export interface PartsReader<T> {
  next(): Promise<IteratorResult<T, undefined>>;
  /** Idempotent; never throws. */
  stop(): void;
}

export function partsReader<T>(source: AsyncIterable<T> | ReadableStream<T>, extraStop?: () => void): PartsReader<T> {
  let stopped = false;
  let ended = false;
  let read: () => Promise<IteratorResult<T, undefined>>;
  let cancel: () => void;
  if (typeof ReadableStream !== 'undefined' && source instanceof ReadableStream) {
    const reader = source.getReader();
    read = async () => {
      const r = await reader.read();
      return r.done ? { done: true, value: undefined } : { done: false, value: r.value };
    };
    cancel = () => void reader.cancel().catch(() => {});
  } else if (typeof source === 'object' && source !== null && Symbol.asyncIterator in source) {
    const iterator = source[Symbol.asyncIterator]();
    read = async () => {
      const r = await iterator.next();
      return r.done ? { done: true, value: undefined } : { done: false, value: r.value };
    };
    cancel = () => {
      try {
        Promise.resolve(iterator.return?.()).catch(() => {});
      } catch {
        // Stopped either way: we read no further.
      }
    };
  } else {
    throw new AegisInputError('The upstream must be an AsyncIterable or a ReadableStream.');
  }
  return {
    next: async () => {
      if (stopped || ended) return { done: true, value: undefined };
      const r = await read();
      if (r.done) ended = true;
      return stopped ? { done: true, value: undefined } : r;
    },
    stop: () => {
      if (stopped || ended) return;
      stopped = true;
      try {
        extraStop?.();
      } catch {
        // The SDK's own stop failing must not keep us from cancelling the reader.
      }
      cancel();
    },
  };
}
