/**
 * The stream guard for streams of SDK parts (AI SDK stream parts, OpenAI chunks): the reply text inside the
 * parts is judged by `guardStream`, and everything else in the parts is passed on in its original order
 * relative to the text, never ahead of text that is still held back.
 *
 * Each upstream part is split by the integration into the reply text it carries (with `meta`, e.g. the text
 * block id, attached to that stretch of text) and the `rest` to pass on (a part without its text, or nothing).
 * A rest that arrived after the first N characters of text is passed on once N characters were released.
 * On a block, held rests are dropped and the integration ends the output its own way.
 */
import { AegisAbortError } from '../core/errors.js';
import type { Guard } from '../client/types.js';
import { guardStream } from '../stream/guard-stream.js';
import type { GuardStreamEvent, GuardStreamOptions } from '../stream/types.js';
import { partsReader, type PartsReader } from './parts-reader.js';

export interface SplitPart<Out, Meta> {
  /** Reply text this part carries; judged before it is passed on. */
  text?: string;
  /** Attached to this part's text when it is released (e.g. its text block id). */
  meta?: Meta;
  /** What of the part goes on as is, after its text (e.g. a finish reason). */
  rest?: Out;
  /** What of the part goes on as is, before its text (e.g. a role announcement). */
  before?: Out;
}

export interface OrderedGuardOptions<In, Out, Meta> {
  split(part: In): SplitPart<Out, Meta>;
  /** Builds an output part from released text. */
  textPart(text: string, meta: Meta): Out;
  /** Whether two stretches of text may be released as one part (default: same meta by `===`). */
  sameMeta?(a: Meta, b: Meta): boolean;
  /** Extra ways to stop the upstream at once (e.g. `controller.abort()`, `engine.interruptGenerate()`). */
  stopUpstream?(): void;
  stream?: Omit<GuardStreamOptions, 'release'>;
}

export type OrderedEvent<Out> =
  | { type: 'part'; part: Out }
  | Extract<GuardStreamEvent, { type: 'verdict' }>
  | Extract<GuardStreamEvent, { type: 'end' }>;

interface Segment<Meta> {
  start: number;
  meta: Meta;
}

/**
 * Guards the text inside a stream of parts. Yields output parts in order, the verdict of every chunk, and
 * finally the stream guard's `end` event (after which nothing more comes). Single consumer, single use.
 */
export function guardOrdered<In, Out, Meta>(
  guard: Pick<Guard, 'checkResponse'>,
  prompt: string,
  source: AsyncIterable<In> | ReadableStream<In>,
  options: OrderedGuardOptions<In, Out, Meta>,
): AsyncIterableIterator<OrderedEvent<Out>> {
  return new OrderedGuard(guard, prompt, partsReader(source, options.stopUpstream), options);
}

class OrderedGuard<In, Out, Meta> implements AsyncIterableIterator<OrderedEvent<Out>> {
  private readonly ready: OrderedEvent<Out>[] = [];
  private readonly held: { offset: number; part: Out }[] = [];
  private readonly segments: Segment<Meta>[] = [];
  private readonly stop = new AbortController();
  private readonly events: AsyncIterator<GuardStreamEvent>;
  private pendingEvent?: Promise<IteratorResult<GuardStreamEvent>>;
  private wake?: () => void;
  /** Text pushed to the guard so far, and text released. */
  private total = 0;
  private released = 0;
  private replyText = '';
  private finished = false;

  constructor(
    guard: Pick<Guard, 'checkResponse'>,
    prompt: string,
    private readonly upstream: PartsReader<In>,
    private readonly options: OrderedGuardOptions<In, Out, Meta>,
  ) {
    const userSignal = options.stream?.signal;
    const signal = userSignal ? AbortSignal.any([userSignal, this.stop.signal]) : this.stop.signal;
    this.events = guardStream(guard, prompt, this.texts(), { ...options.stream, signal, release: 'after-check' });
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  async next(): Promise<IteratorResult<OrderedEvent<Out>, undefined>> {
    for (;;) {
      const value = this.ready.shift();
      if (value) return { done: false, value };
      if (this.finished) return { done: true, value: undefined };
      if (!this.pendingEvent) {
        this.pendingEvent = this.events.next();
        // Handled below; this only keeps an abandoned iteration from reporting an unhandled rejection.
        this.pendingEvent.catch(() => {});
      }
      // Parts that need no judging become ready while the guard works: wake up for them too.
      const woken = new Promise<undefined>((resolve) => (this.wake = () => resolve(undefined)));
      let result: IteratorResult<GuardStreamEvent> | undefined;
      try {
        result = await Promise.race([this.pendingEvent, woken]);
      } catch (error) {
        this.finished = true;
        throw error;
      }
      if (!result) continue;
      this.pendingEvent = undefined;
      if (result.done) this.finished = true;
      else this.handle(result.value);
    }
  }

  async return(): Promise<IteratorResult<OrderedEvent<Out>, undefined>> {
    if (!this.finished) {
      this.finished = true;
      this.ready.length = 0;
      // Wakes the stream guard even mid-await: it stops the upstream and cancels its checks.
      this.stop.abort();
      this.upstream.stop();
      await (this.pendingEvent ?? this.events.return?.())?.then(
        () => undefined,
        (error: unknown) => {
          if (!(error instanceof AegisAbortError)) throw error;
        },
      );
    }
    return { done: true, value: undefined };
  }

  /** The reply text of the parts, as the stream guard's source. Its `return()` stops the upstream at once. */
  private texts(): AsyncIterable<string> {
    const iterator: AsyncIterator<string, undefined> = {
      next: async () => {
        for (;;) {
          const r = await this.upstream.next();
          if (r.done) return { done: true, value: undefined };
          const { text, meta, rest, before } = this.options.split(r.value);
          if (before !== undefined) this.hold(before);
          if (text) this.addSegment(text, meta as Meta);
          if (rest !== undefined) this.hold(rest);
          if (text) return { done: false, value: text };
        }
      },
      return: async () => {
        this.upstream.stop();
        return { done: true, value: undefined };
      },
    };
    return { [Symbol.asyncIterator]: () => iterator };
  }

  private addSegment(text: string, meta: Meta): void {
    const last = this.segments.at(-1);
    const same = this.options.sameMeta ?? ((a: Meta, b: Meta) => a === b);
    if (!last || !same(last.meta, meta)) this.segments.push({ start: this.total, meta });
    this.replyText += text;
    this.total += text.length;
  }

  private hold(part: Out): void {
    if (this.held.length === 0 && this.released >= this.total) {
      this.ready.push({ type: 'part', part });
      this.wake?.();
    } else this.held.push({ offset: this.total, part });
  }

  private flushHeld(upTo: number): void {
    while (this.held.length > 0 && this.held[0]!.offset <= upTo) this.ready.push({ type: 'part', part: this.held.shift()!.part });
  }

  private handle(event: GuardStreamEvent): void {
    if (event.type === 'text') this.release(event.text.length);
    else if (event.type === 'verdict') this.ready.push(event);
    else if (event.type === 'end') {
      if (event.outcome === 'allowed') this.flushHeld(Infinity);
      this.held.length = 0;
      this.ready.push(event);
      this.finished = true;
      this.upstream.stop();
    }
  }

  /** Releases the next `length` characters as text parts, split where the meta changes or a rest is due. */
  private release(length: number): void {
    const end = this.released + length;
    let pos = this.released;
    this.flushHeld(pos);
    while (pos < end) {
      const segmentAt = this.segmentIndexAt(pos);
      const segmentEnd = this.segments[segmentAt + 1]?.start ?? Infinity;
      const heldAt = this.held[0]?.offset ?? Infinity;
      const stop = Math.min(end, segmentEnd, heldAt > pos ? heldAt : Infinity);
      this.ready.push({ type: 'part', part: this.options.textPart(this.replyText.slice(pos, stop), this.segments[segmentAt]!.meta) });
      pos = stop;
      this.released = pos;
      this.flushHeld(pos);
    }
  }

  private segmentIndexAt(pos: number): number {
    let i = this.segments.length - 1;
    while (i > 0 && this.segments[i]!.start > pos) i--;
    return i;
  }
}
