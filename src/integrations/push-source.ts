/**
 * A stream source fed by callbacks (UI libraries push text into a handler instead of handing out an
 * iterator): `push()` text, then `end()` or `fail(error)`. Its iterator's `return()` (the stream guard
 * stopping it) calls `onStop`, so the producer can be told to stop.
 */
export interface PushSource {
  readonly iterable: AsyncIterable<string>;
  push(text: string): void;
  end(): void;
  fail(error: unknown): void;
  /** Whether the consumer stopped reading (no more pushes are wanted). */
  readonly stopped: boolean;
}

export function pushSource(onStop: () => void): PushSource {
  const queue: string[] = [];
  let ended = false;
  let failure: { error: unknown } | undefined;
  let stopped = false;
  let wake: (() => void) | undefined;
  const notify = () => {
    wake?.();
    wake = undefined;
  };

  const iterator: AsyncIterator<string, undefined> = {
    async next() {
      for (;;) {
        if (queue.length > 0) return { done: false, value: queue.shift()! };
        if (failure) throw failure.error;
        if (ended || stopped) return { done: true, value: undefined };
        await new Promise<void>((resolve) => (wake = resolve));
      }
    },
    async return() {
      if (!stopped && !ended) {
        stopped = true;
        queue.length = 0;
        notify();
        onStop();
      }
      return { done: true, value: undefined };
    },
  };

  return {
    iterable: { [Symbol.asyncIterator]: () => iterator },
    push(text) {
      if (ended || stopped) return;
      queue.push(text);
      notify();
    },
    end() {
      ended = true;
      notify();
    },
    fail(error) {
      if (ended || stopped) return;
      failure = { error };
      ended = true;
      notify();
    },
    get stopped() {
      return stopped;
    },
  };
}
