/**
 * The stream guard's public contract: judge an assistant reply while it streams, release text only once the
 * chunk holding it was judged safe, and stop the upstream as soon as a chunk is unsafe.
 */
import type { Verdict, ViolatedCategory } from '../core/types.js';

/**
 * Text deltas, as an async iterable (generators, SDK streams) or a WHATWG ReadableStream. Deltas are strings,
 * or UTF-8 bytes (`Uint8Array`, e.g. a fetch body), decoded as one stream so characters split across byte
 * chunks arrive whole.
 */
export type StreamSource =
  | AsyncIterable<string>
  | ReadableStream<string>
  | AsyncIterable<Uint8Array>
  | ReadableStream<Uint8Array>
  | AsyncIterable<string | Uint8Array>
  | ReadableStream<string | Uint8Array>;

export interface GuardStreamOptions {
  /** Stops reading the upstream and cancels pending checks; the iteration then throws `AegisAbortError`. */
  signal?: AbortSignal;
  /**
   * `'after-check'` (default): text is released only after its chunk was judged safe.
   * `'optimistic'`: text is released at once and retracted if its chunk turns out unsafe.
   */
  release?: 'after-check' | 'optimistic';
  /** New text per check, in (approximate) tokens. Default 200, as NeMo Guardrails' streaming rails. */
  chunkTokens?: number;
  /** Already-judged text sent again before each chunk, in (approximate) tokens. Default 50. */
  contextTokens?: number;
  /**
   * Most (approximate) tokens of the user prompt sent with each chunk check; a longer prompt is sent as its
   * beginning and end around an elision mark. Default 200; `Infinity` sends it whole.
   */
  promptTokens?: number;
  /**
   * Chunks that may await their verdicts at once while the upstream is read further. Default 2. Reading
   * pauses when this many are pending.
   */
  maxPendingChecks?: number;
}

/** What the stream guard yields, in order. */
export type GuardStreamEvent =
  /** Text that may now be shown (a delta: append it). */
  | { type: 'text'; text: string }
  /**
   * The verdict of one checked chunk, in chunk order. `start`/`end` are character (UTF-16) offsets of the
   * chunk's new text in the whole reply; the check also saw the context from `contextStart` on.
   */
  | { type: 'verdict'; verdict: Verdict; start: number; end: number; contextStart: number }
  /** Optimistic mode only: text shown from character `from` on must be withdrawn. */
  | { type: 'retract'; from: number }
  /**
   * The stream is over: every chunk was allowed (`text` is the whole reply), or one was blocked (`text` is
   * what stays shown; nothing after it is released).
   */
  | { type: 'end'; outcome: 'allowed'; text: string }
  | { type: 'end'; outcome: 'blocked'; text: string; verdict: Verdict; categories: ViolatedCategory[] };
