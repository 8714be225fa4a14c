/**
 * Cooperative time slicing for long synchronous work (tokenizing and planning a 1 MB text takes seconds):
 * the work checks `due` between small steps and yields to the event loop once a slice is used up, so the
 * thread keeps answering messages (a cancel, a timeout's timer) while it runs.
 */

/** Milliseconds of work between yields. A slice plus one step stays well under the 50 ms of a long task. */
export const SLICE_MS = 20;

const now = () => performance.now();

let channel: { port: MessagePort; waiting: (() => void)[] } | undefined;

/**
 * Resolves in a later macrotask, after pending messages and timers had their turn. Not `setTimeout(0)`:
 * browsers clamp nested timeouts to 4 ms. Node's `setImmediate` where it exists (an open MessagePort would
 * keep a Node process alive), else one shared MessageChannel.
 */
export function yieldToEventLoop(): Promise<void> {
  return new Promise<void>((resolve) => {
    const immediate = (globalThis as { setImmediate?: (callback: () => void) => unknown }).setImmediate;
    if (typeof immediate === 'function') {
      immediate(resolve);
      return;
    }
    if (typeof MessageChannel === 'undefined') {
      setTimeout(resolve, 0);
      return;
    }
    if (!channel) {
      const { port1, port2 } = new MessageChannel();
      const waiting: (() => void)[] = [];
      port1.onmessage = () => waiting.shift()?.();
      channel = { port: port2, waiting };
    }
    channel.waiting.push(resolve);
    channel.port.postMessage(null);
  });
}

export class TimeSlicer {
  private since = now();
  /** Longest stretch of work between two yields so far, in ms (what a benchmark reports). */
  longestSliceMs = 0;

  constructor(
    private readonly signal?: AbortSignal,
    private readonly sliceMs = SLICE_MS,
  ) {}

  /** The current slice is used up: call {@link yield} before the next step. */
  get due(): boolean {
    return now() - this.since >= this.sliceMs;
  }

  /** Yields when the slice is used up; throws the abort reason when the signal aborted meanwhile. */
  async pause(): Promise<void> {
    if (this.due) await this.yield();
  }

  /** Yields to the event loop now; then throws the abort reason if the signal aborted. */
  async yield(): Promise<void> {
    this.longestSliceMs = Math.max(this.longestSliceMs, now() - this.since);
    await yieldToEventLoop();
    this.since = now();
    this.signal?.throwIfAborted();
  }
}
