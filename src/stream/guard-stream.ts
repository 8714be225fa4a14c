/**
 * The stream guard: judges an assistant reply chunk by chunk while it streams (see chunker.ts for how it is
 * cut), releases text only once its chunk was judged safe, and stops everything at the first unsafe chunk.
 *
 * Order and failure rules:
 * - Events come in chunk order: a chunk's verdict, then its text. The upstream is read ahead while checks
 *   run (at most `maxPendingChecks` chunks wait for verdicts), but no text passes an unjudged chunk.
 * - Unsafe chunk (or a check that failed, under fail-closed): the upstream is stopped (`return()` /
 *   `cancel()`), pending checks are cancelled, `end` reports the block; nothing more is released.
 * - Upstream error: what was read before the error is still judged and released if safe (it was generated;
 *   hiding it would not make anything safer), then the iteration throws the upstream's own error. Text not
 *   judged is never released.
 * - A check that rejects (guard disposed, for instance): upstream stopped, checks cancelled, the iteration
 *   throws that error.
 * - The consumer stops (`break`, `return()`) or `signal` aborts: upstream stopped, checks cancelled; an abort
 *   throws `AegisAbortError`.
 * - An empty reply ends `allowed` with no check: there is nothing to show.
 */
import { AegisAbortError, AegisInputError } from '../core/errors.js';
import type { Verdict } from '../core/types.js';
import { TRANSIENT_CHECK, type TransientCheckOptions } from '../client/transient-check.js';
import type { Guard } from '../client/types.js';
import { Chunker, type PlannedChunk } from './chunker.js';
import { DEFAULT_PROMPT_TOKENS, promptForChunkChecks } from '../windowing/prompt-budget.js';
import { assertStreamSource, readDeltas, type DeltaReader } from './source.js';
import type { GuardStreamEvent, GuardStreamOptions, StreamSource } from './types.js';

export const STREAM_DEFAULTS = Object.freeze({
  chunkTokens: 200,
  contextTokens: 50,
  promptTokens: DEFAULT_PROMPT_TOKENS,
  maxPendingChecks: 2,
  release: 'after-check' as const,
});

type ResolvedOptions = Required<Omit<GuardStreamOptions, 'signal'>> & { signal?: AbortSignal };

/** The only part of a guard the stream guard needs. */
export type ResponseChecker = Pick<Guard, 'checkResponse'>;

/**
 * Guards a streamed reply to `prompt`. Bad arguments throw `AegisInputError` at once; everything else is
 * reported through the returned iterable (single use).
 */
export function guardStream(
  guard: ResponseChecker,
  prompt: string,
  source: StreamSource,
  options: GuardStreamOptions = {},
): AsyncGenerator<GuardStreamEvent, void, undefined> {
  if (typeof guard !== 'object' || guard === null || typeof guard.checkResponse !== 'function') {
    throw new AegisInputError('guardStream needs a guard (an object with checkResponse).');
  }
  if (typeof prompt !== 'string') throw new AegisInputError(`The prompt a streamed reply answers must be a string, got ${typeof prompt}.`);
  assertStreamSource(source);
  return run(guard, prompt, source, resolveOptions(options));
}

function resolveOptions(options: GuardStreamOptions): ResolvedOptions {
  if (typeof options !== 'object' || options === null) throw new AegisInputError('Stream options must be an object.');
  const r = { ...STREAM_DEFAULTS, ...stripUndefined(options) } as ResolvedOptions;
  const positive = (name: keyof ResolvedOptions, value: unknown, min: number, allowInfinity = false) => {
    if (typeof value !== 'number' || Number.isNaN(value) || value < min || (!allowInfinity && !Number.isFinite(value))) {
      throw new AegisInputError(`${String(name)} must be a number >= ${min}${allowInfinity ? ' (or Infinity)' : ''}, got ${String(value)}.`);
    }
  };
  positive('chunkTokens', r.chunkTokens, 1);
  positive('contextTokens', r.contextTokens, 0);
  positive('promptTokens', r.promptTokens, 0, true);
  positive('maxPendingChecks', r.maxPendingChecks, 1);
  if (!Number.isInteger(r.maxPendingChecks)) throw new AegisInputError('maxPendingChecks must be an integer.');
  if (r.release !== 'after-check' && r.release !== 'optimistic') {
    throw new AegisInputError(`release must be 'after-check' or 'optimistic', got ${String(r.release)}.`);
  }
  if (r.signal !== undefined && !(r.signal instanceof AbortSignal)) throw new AegisInputError('signal must be an AbortSignal.');
  return r;
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

type Settled<T> = { ok: true; value: T } | { ok: false; error: unknown };

/** A promise that never rejects, plus a synchronous look at its outcome once settled. */
interface Watched<T> {
  promise: Promise<void>;
  settled?: Settled<T>;
}

function watch<T>(promise: Promise<T>): Watched<T> {
  const w: Watched<T> = { promise: Promise.resolve() };
  w.promise = promise.then(
    (value) => {
      w.settled = { ok: true, value };
    },
    (error: unknown) => {
      w.settled = { ok: false, error };
    },
  );
  return w;
}

interface PendingChunk {
  chunk: PlannedChunk;
  /** Absent for blank chunks, which need no check. */
  check?: Watched<Verdict>;
}

/** Text up to the last complete code point: a high surrogate at the end waits for its partner. */
function completeCodePointsEnd(text: string, end: number): number {
  const last = text.charCodeAt(end - 1);
  return last >= 0xd800 && last <= 0xdbff ? end - 1 : end;
}

async function* run(
  guard: ResponseChecker,
  prompt: string,
  source: StreamSource,
  options: ResolvedOptions,
): AsyncGenerator<GuardStreamEvent, void, undefined> {
  const { signal, release } = options;
  const checkPrompt = promptForChunkChecks(prompt, options.promptTokens);
  const chunker = new Chunker(options);
  const checks = new AbortController();
  const pending: PendingChunk[] = [];
  let reader: DeltaReader | undefined;
  let read: Watched<IteratorResult<string, undefined>> | undefined;
  let upstreamOpen = true;
  let upstreamError: { error: unknown } | undefined;
  /** End of the text released so far. */
  let released = 0;

  // A chunk's text is never checked again as such: not worth a place among the verdicts kept on the device.
  const chunkCheckOptions: TransientCheckOptions = { signal: checks.signal, [TRANSIENT_CHECK]: true };
  const schedule = (chunks: PlannedChunk[]) => {
    for (const chunk of chunks) {
      pending.push(
        chunk.blank
          ? { chunk }
          : {
              chunk,
              // Through a promise constructor, so a guard that throws synchronously is a rejection too.
              check: watch(new Promise<Verdict>((resolve) => resolve(guard.checkResponse(checkPrompt, chunk.checkText, chunkCheckOptions)))),
            },
      );
    }
  };

  const aborted = () => new AegisAbortError('The stream guard was cancelled.');
  let abortListener: (() => void) | undefined;
  const onAbort = new Promise<void>((resolve) => {
    abortListener = () => resolve();
    signal?.addEventListener('abort', abortListener, { once: true });
  });

  try {
    if (signal?.aborted) throw aborted();
    reader = readDeltas(source);
    for (;;) {
      if (signal?.aborted) throw aborted();
      // Verdicts, in chunk order.
      while (pending[0] && (!pending[0].check || pending[0].check.settled)) {
        const { chunk, check } = pending.shift()!;
        if (check) {
          const settled = check.settled!;
          if (!settled.ok) throw settled.error;
          const verdict = settled.value;
          const event = { type: 'verdict', verdict, start: chunk.start, end: chunk.end, contextStart: chunk.contextStart } as const;
          if (!verdict.safe) {
            // Stop first: the consumer may not ask for the next event.
            upstreamOpen = false;
            reader.stop();
            checks.abort();
            yield event;
            let shown = released;
            if (release === 'optimistic' && released > chunk.contextStart) {
              shown = chunk.contextStart;
              yield { type: 'retract', from: shown };
            }
            yield { type: 'end', outcome: 'blocked', text: chunker.text.slice(0, shown), verdict, categories: verdict.categories };
            return;
          }
          yield event;
        }
        if (release === 'after-check' && chunk.text !== '') {
          released = chunk.end;
          yield { type: 'text', text: chunk.text };
        }
      }

      if (!upstreamOpen && pending.length === 0) {
        if (upstreamError) throw upstreamError.error;
        if (release === 'optimistic' && released < chunker.text.length) {
          const rest = chunker.text.slice(released);
          released = chunker.text.length;
          yield { type: 'text', text: rest };
        }
        yield { type: 'end', outcome: 'allowed', text: chunker.text };
        return;
      }

      if (upstreamOpen && !read && pending.length < options.maxPendingChecks) read = watch(reader.next());

      const waits: Promise<unknown>[] = [onAbort];
      if (read) waits.push(read.promise);
      const head = pending[0]?.check;
      if (head) waits.push(head.promise);
      await Promise.race(waits);
      if (signal?.aborted) throw aborted();

      if (read?.settled) {
        const settled = read.settled;
        read = undefined;
        if (!settled.ok) {
          upstreamOpen = false;
          upstreamError = { error: settled.error };
          schedule(chunker.finish());
        } else if (settled.value.done) {
          upstreamOpen = false;
          schedule(chunker.finish());
        } else {
          schedule(chunker.push(settled.value.value));
          if (release === 'optimistic') {
            const end = completeCodePointsEnd(chunker.text, chunker.text.length);
            if (end > released) {
              const text = chunker.text.slice(released, end);
              released = end;
              yield { type: 'text', text };
            }
          }
        }
      }
    }
  } finally {
    // Runs on every exit: block, error, abort, and the consumer's `break` / `return()`.
    if (upstreamOpen) reader?.stop();
    checks.abort();
    if (abortListener) signal?.removeEventListener('abort', abortListener);
  }
}
