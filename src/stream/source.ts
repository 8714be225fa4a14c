/**
 * Reads a stream source as text deltas, whatever its shape, and stops it on demand.
 *
 * Accepted: an AsyncIterable or a ReadableStream of strings or of UTF-8 bytes (Uint8Array). Bytes go through
 * one streaming TextDecoder, so a multi-byte character split across two byte chunks arrives whole; a
 * character cut off by the end of the stream becomes U+FFFD.
 */
import { AegisInputError } from '../core/errors.js';
import type { StreamSource } from './types.js';

export interface DeltaReader {
  /** The next text delta; `done` at the end of the source. Rejects with the source's own error. */
  next(): Promise<IteratorResult<string, undefined>>;
  /** Stops the source: `return()` on an iterator, `cancel()` on a stream reader. Never throws. */
  stop(reason?: unknown): void;
}

function isReadableStream(source: unknown): source is ReadableStream<unknown> {
  return typeof ReadableStream !== 'undefined' && source instanceof ReadableStream;
}

function isAsyncIterable(source: unknown): source is AsyncIterable<unknown> {
  return typeof source === 'object' && source !== null && typeof (source as AsyncIterable<unknown>)[Symbol.asyncIterator] === 'function';
}

/** Throws AegisInputError unless `source` is something {@link readDeltas} can read. */
export function assertStreamSource(source: unknown): asserts source is StreamSource {
  if (!isReadableStream(source) && !isAsyncIterable(source)) {
    throw new AegisInputError('The stream source must be an AsyncIterable or a ReadableStream of strings or Uint8Array.');
  }
}

interface RawReader {
  read(): Promise<IteratorResult<unknown>>;
  stop(reason?: unknown): void;
}

function rawReader(source: StreamSource): RawReader {
  if (isReadableStream(source)) {
    const reader = source.getReader();
    return {
      read: async () => {
        const r = await reader.read();
        return r.done ? { done: true, value: undefined } : { done: false, value: r.value };
      },
      stop: (reason) => {
        reader.cancel(reason).catch(() => {});
      },
    };
  }
  const iterator = source[Symbol.asyncIterator]();
  return {
    read: () => iterator.next(),
    stop: (reason) => {
      // Not awaited: a source stuck in its own await would hold our cleanup hostage.
      try {
        Promise.resolve(iterator.return?.(reason)).catch(() => {});
      } catch {
        // A throwing return() changes nothing for us: we stopped reading.
      }
    },
  };
}

export function readDeltas(source: StreamSource): DeltaReader {
  assertStreamSource(source);
  const raw = rawReader(source);
  let decoder: TextDecoder | undefined;
  let ended = false;

  const next = async (): Promise<IteratorResult<string, undefined>> => {
    for (;;) {
      if (ended) return { done: true, value: undefined };
      const r = await raw.read();
      if (r.done) {
        ended = true;
        const tail = decoder?.decode() ?? '';
        return tail ? { done: false, value: tail } : { done: true, value: undefined };
      }
      const value: unknown = r.value;
      let text: string;
      if (typeof value === 'string') {
        // Bytes still held by the decoder belong before this text; an incomplete character there is lost.
        text = (decoder?.decode() ?? '') + value;
      } else if (value instanceof Uint8Array) {
        decoder ??= new TextDecoder('utf-8');
        text = decoder.decode(value, { stream: true });
      } else {
        const error = new AegisInputError(`Stream deltas must be strings or Uint8Array, got ${value === null ? 'null' : typeof value}.`);
        raw.stop(error);
        ended = true;
        throw error;
      }
      if (text !== '') return { done: false, value: text };
    }
  };

  return {
    next,
    stop: (reason) => {
      if (ended) return;
      ended = true;
      raw.stop(reason);
    },
  };
}
