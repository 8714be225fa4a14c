/**
 * The stream guard over a real guard (client, worker, Comlink, queue) with the scripted engine in place of
 * the model. Markers such as [[unsafe:Violence]] inside the streamed reply make the chunk holding them unsafe.
 */
import { describe, expect, test } from 'vitest';
import { AegisAbortError, AegisInputError, GuardDisposedError } from '../../src/core/errors.js';
import type { Verdict } from '../../src/core/types.js';
import type { Guard } from '../../src/client/types.js';
import { Chunker } from '../../src/stream/chunker.js';
import { guardStream } from '../../src/stream/guard-stream.js';
import type { GuardStreamEvent, GuardStreamOptions } from '../../src/stream/types.js';
import { guardPerTest } from '../helpers/guard-per-test.js';

const testGuard = guardPerTest();

/** An upstream that records how far it was read and whether it was stopped. */
interface Upstream {
  source: AsyncGenerator<string>;
  pulled: number;
  stopped: Promise<void>;
  wasStopped: boolean;
  completed: boolean;
}

function upstream(deltas: string[], options: { failAfter?: number; error?: Error } = {}): Upstream {
  let markStopped!: () => void;
  const u: Upstream = {
    pulled: 0,
    wasStopped: false,
    completed: false,
    stopped: new Promise<void>((resolve) => (markStopped = resolve)),
    source: undefined as unknown as AsyncGenerator<string>,
  };
  u.source = (async function* () {
    try {
      for (const d of deltas) {
        if (options.failAfter !== undefined && u.pulled >= options.failAfter) throw options.error ?? new Error('upstream broke');
        u.pulled++;
        // A macrotask between deltas, like a network or a model.
        await new Promise((r) => setTimeout(r, 0));
        yield d;
      }
      u.completed = true;
    } finally {
      if (!u.completed) {
        u.wasStopped = true;
        markStopped();
      }
    }
  })();
  return u;
}

/** Word-sized deltas, the way a model streams. */
function words(text: string): string[] {
  return text.match(/\s*\S+|\s+/g) ?? [];
}

async function collect(iterable: AsyncIterable<GuardStreamEvent>): Promise<GuardStreamEvent[]> {
  const events: GuardStreamEvent[] = [];
  for await (const e of iterable) events.push(e);
  return events;
}

const released = (events: GuardStreamEvent[]) =>
  events
    .filter((e): e is Extract<GuardStreamEvent, { type: 'text' }> => e.type === 'text')
    .map((e) => e.text)
    .join('');
const verdicts = (events: GuardStreamEvent[]) => events.filter((e) => e.type === 'verdict');
const endOf = (events: GuardStreamEvent[]) => events.at(-1) as Extract<GuardStreamEvent, { type: 'end' }>;

/** A reply of `sentences` short sentences; `unsafeAt` puts a marker into that sentence. */
function reply(sentences: number, unsafeAt?: number, extra = ''): string {
  return Array.from(
    { length: sentences },
    (_, i) => `Sentence ${i} talks about baking bread at home${i === unsafeAt ? ` [[unsafe:Violence]]${extra}` : ''}.`,
  ).join(' ');
}

const SMALL: GuardStreamOptions = { chunkTokens: 30, contextTokens: 8 };

function plannedChunks(text: string, options = SMALL) {
  const chunker = new Chunker({ chunkTokens: options.chunkTokens!, contextTokens: options.contextTokens! });
  return [...chunker.push(text), ...chunker.finish()];
}

describe('safe replies', () => {
  test('every chunk is judged, and its text comes only after its own verdict', async () => {
    const { guard, stats } = testGuard();
    const text = reply(12);
    const events = await collect(guardStream(guard, 'How do I bake bread?', upstream(words(text)).source, SMALL));
    expect(released(events)).toBe(text);
    expect(endOf(events)).toEqual({ type: 'end', outcome: 'allowed', text });
    const plan = plannedChunks(text);
    expect(plan.length).toBeGreaterThan(3);
    expect(verdicts(events).map((e) => e.type === 'verdict' && [e.start, e.end])).toEqual(plan.map((c) => [c.start, c.end]));
    // Order: each text event is preceded by the verdict of the chunk it belongs to.
    let judgedUpTo = 0;
    let shown = 0;
    for (const e of events) {
      if (e.type === 'verdict') {
        expect(e.verdict.safe).toBe(true);
        expect(e.start).toBe(judgedUpTo);
        judgedUpTo = e.end;
      }
      if (e.type === 'text') {
        shown += e.text.length;
        expect(shown).toBeLessThanOrEqual(judgedUpTo);
      }
    }
    // What the model saw: the prompt and each chunk with its context, nothing more.
    const prompts = (await stats()).prompts;
    expect(prompts).toHaveLength(plan.length);
    for (const chunk of plan) expect(prompts.some((p) => p.includes(`response: agent: ${chunk.checkText}\n\n`))).toBe(true);
    expect(prompts.every((p) => p.includes('user: How do I bake bread?'))).toBe(true);
  });

  test('Guard.guardStream delegates to the stream guard, and each chunk verdict reaches the page as it is produced', async () => {
    const { guard } = testGuard();
    const seen: Verdict[] = [];
    guard.on('verdict', (v) => seen.push(v));
    const text = reply(6);
    const events = await collect(guard.guardStream('Tell me about bread', upstream(words(text)).source, SMALL));
    expect(released(events)).toBe(text);
    expect(seen).toHaveLength(verdicts(events).length);
    expect(seen.every((v) => v.target === 'response')).toBe(true);
  });

  test('a reply that ends mid-sentence is judged and released to its last character', async () => {
    const { guard } = testGuard();
    const text = `${reply(5)} And then the reply stops in the middle of`;
    const events = await collect(guardStream(guard, 'q', upstream(words(text)).source, SMALL));
    expect(released(events)).toBe(text);
    const last = verdicts(events).at(-1)!;
    expect(last.type === 'verdict' && last.end).toBe(text.length);
  });

  test('an empty reply ends allowed without a check', async () => {
    const { guard, stats } = testGuard();
    await guard.ready;
    const events = await collect(guardStream(guard, 'q', upstream([]).source));
    expect(events).toEqual([{ type: 'end', outcome: 'allowed', text: '' }]);
    const events2 = await collect(guardStream(guard, 'q', upstream(['', '']).source));
    expect(events2).toEqual([{ type: 'end', outcome: 'allowed', text: '' }]);
    expect((await stats()).completions).toBe(0);
  });

  test('reading ahead is bounded: with one pending check, the upstream waits for the verdict', async () => {
    const { guard } = testGuard();
    const text = reply(12);
    const deltas = words(text);
    const up = upstream(deltas);
    const iterator = guardStream(guard, 'q', up.source, { ...SMALL, maxPendingChecks: 1 });
    const first = await iterator.next();
    expect(first.value).toMatchObject({ type: 'verdict' });
    const firstEnd = (first.value as Extract<GuardStreamEvent, { type: 'verdict' }>).end;
    // Deltas needed to complete chunk 1 (its cut needs the start of the next piece), and not one more.
    let needed = 0;
    for (let length = 0; length <= firstEnd; needed++) length += deltas[needed]!.length;
    expect(up.pulled).toBe(needed);
    await iterator.return();
  });
});

describe('unsafe replies', () => {
  test('the first unsafe chunk stops the upstream, blocks with its categories, and releases nothing more', async () => {
    const { guard } = testGuard();
    const text = reply(20, 8);
    const up = upstream(words(text));
    const events = await collect(guardStream(guard, 'Tell me a story', up.source, SMALL));
    const end = endOf(events);
    expect(end).toMatchObject({ type: 'end', outcome: 'blocked', categories: [{ code: 'S1', name: 'Violence' }] });
    expect(end.outcome === 'blocked' && end.verdict.safe).toBe(false);
    const shown = released(events);
    expect(shown).not.toContain('unsafe');
    expect(text.startsWith(shown)).toBe(true);
    expect(end.text).toBe(shown);
    // The verdict before the end is the unsafe one; no text after it.
    expect(events.at(-2)).toMatchObject({ type: 'verdict', verdict: { safe: false } });
    await up.stopped;
    expect(up.wasStopped).toBe(true);
    expect(up.pulled).toBeLessThan(words(text).length);
  });

  test('unsafe content split across two chunks is caught through the context overlap (and missed without it)', async () => {
    const { guard } = testGuard();
    // Filler without sentence ends, so chunk 1 is cut at the token limit, inside the marker.
    const text = `${Array.from({ length: 28 }, () => 'w').join(' ')} [[unsafe:Violence]] and more words after it until the end`;
    const options = { chunkTokens: 30, contextTokens: 8 };
    const plan = plannedChunks(text, options);
    // Precondition: no chunk holds the whole marker.
    expect(plan.some((c) => c.text.includes('[[unsafe:Violence]]'))).toBe(false);
    expect(plan[0]!.text).toContain('[[unsafe');

    const withOverlap = await collect(guardStream(guard, 'q', upstream(words(text)).source, options));
    expect(endOf(withOverlap)).toMatchObject({ outcome: 'blocked', categories: [{ code: 'S1' }] });
    expect(released(withOverlap)).toBe(plan[0]!.text);

    const withoutOverlap = await collect(guardStream(guard, 'q', upstream(words(text)).source, { ...options, contextTokens: 0 }));
    expect(endOf(withoutOverlap).outcome).toBe('allowed');
  });

  test('a failed check blocks (fail closed) with the failure on the verdict', async () => {
    const { guard } = testGuard();
    const text = reply(8, 3, ' [[fault:engine]]').replace(' [[unsafe:Violence]]', '');
    const events = await collect(guardStream(guard, 'q', upstream(words(text)).source, SMALL));
    const end = endOf(events);
    expect(end).toMatchObject({ outcome: 'blocked', categories: [] });
    expect(end.outcome === 'blocked' && end.verdict).toMatchObject({ source: 'failure', failure: { code: 'engine-failed' } });
    expect(released(events)).not.toContain('fault');
  });
});

describe('optimistic release', () => {
  test('text is shown as it arrives; an unsafe chunk retracts from the start of its checked context', async () => {
    const { guard } = testGuard();
    const text = reply(20, 8);
    const events = await collect(guardStream(guard, 'q', upstream(words(text)).source, { ...SMALL, release: 'optimistic' }));
    const firstVerdict = events.findIndex((e) => e.type === 'verdict');
    expect(events.slice(0, firstVerdict).some((e) => e.type === 'text')).toBe(true);
    const unsafe = events.find((e) => e.type === 'verdict' && !e.verdict.safe) as Extract<GuardStreamEvent, { type: 'verdict' }>;
    expect(unsafe).toBeDefined();
    const retract = events.find((e) => e.type === 'retract');
    expect(retract).toEqual({ type: 'retract', from: unsafe.contextStart });
    const end = endOf(events);
    expect(end).toMatchObject({ outcome: 'blocked', text: text.slice(0, unsafe.contextStart) });
    expect(end.text).not.toContain('unsafe');
  });

  test('a safe reply is shown whole and ends allowed', async () => {
    const { guard } = testGuard();
    const text = reply(7);
    const events = await collect(guardStream(guard, 'q', upstream(words(text)).source, { ...SMALL, release: 'optimistic' }));
    expect(released(events)).toBe(text);
    expect(events.some((e) => e.type === 'retract')).toBe(false);
    expect(endOf(events)).toEqual({ type: 'end', outcome: 'allowed', text });
  });
});

describe('stopping and failing', () => {
  test('the consumer stopping early stops the upstream and cancels the pending check', async () => {
    const { guard } = testGuard();
    const signals: AbortSignal[] = [];
    const outcomes: Promise<unknown>[] = [];
    let secondRequested!: () => void;
    const second = new Promise<void>((resolve) => (secondRequested = resolve));
    const spy: Pick<Guard, 'checkResponse'> = {
      checkResponse: (prompt, text, options) => {
        signals.push(options!.signal!);
        const p = guard.checkResponse(prompt, text, options);
        outcomes.push(p.catch((e: unknown) => e));
        if (signals.length === 2) secondRequested();
        // Chunk 1's verdict is held until chunk 2's check was sent, so one check is surely pending at the break.
        return signals.length === 1 ? second.then(() => p) : p;
      },
    };
    // Chunk 2 waits 10 s in the engine: it is still pending when the consumer leaves.
    const text = reply(2) + ' [[delay:10000]] ' + reply(10);
    const up = upstream(words(text));
    for await (const e of guardStream(spy, 'q', up.source, { ...SMALL, maxPendingChecks: 2 })) {
      if (e.type === 'text') break;
    }
    await up.stopped;
    expect(up.wasStopped).toBe(true);
    expect(signals).toHaveLength(2);
    expect(signals.every((s) => s.aborted)).toBe(true);
    const last = await outcomes.at(-1);
    expect(last).toBeInstanceOf(AegisAbortError);
  });

  test('an abort signal stops the stream with AegisAbortError', async () => {
    const { guard } = testGuard();
    const controller = new AbortController();
    const text = reply(3) + ' [[delay:10000]] ' + reply(5);
    const up = upstream(words(text));
    const events: GuardStreamEvent[] = [];
    const error = await (async () => {
      for await (const e of guardStream(guard, 'q', up.source, { ...SMALL, signal: controller.signal })) {
        events.push(e);
        if (e.type === 'text') controller.abort();
      }
    })().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AegisAbortError);
    await up.stopped;
    expect(events.filter((e) => e.type === 'text')).toHaveLength(1);
  });

  test('an upstream error: text read before it is still judged and released, then the error is thrown', async () => {
    const { guard } = testGuard();
    const text = reply(10);
    const deltas = words(text);
    const boom = new Error('network lost');
    const up = upstream(deltas, { failAfter: 40, error: boom });
    const events: GuardStreamEvent[] = [];
    const error = await (async () => {
      for await (const e of guardStream(guard, 'q', up.source, SMALL)) events.push(e);
    })().catch((e: unknown) => e);
    expect(error).toBe(boom);
    expect(released(events)).toBe(deltas.slice(0, 40).join(''));
    expect(events.some((e) => e.type === 'end')).toBe(false);
  });

  test('an upstream error after unsafe text still blocks (nothing unjudged is shown)', async () => {
    const { guard } = testGuard();
    const text = reply(4, 1);
    const up = upstream(words(text), { failAfter: words(text).length - 1 });
    const events = await collect(guardStream(guard, 'q', up.source, SMALL)).catch(() => undefined);
    expect(events && endOf(events)).toMatchObject({ outcome: 'blocked' });
  });

  test('a guard disposed mid-stream ends the stream with GuardDisposedError', async () => {
    const { guard } = testGuard();
    const text = reply(2) + ' [[delay:10000]] ' + reply(4);
    const error = await (async () => {
      for await (const e of guardStream(guard, 'q', upstream(words(text)).source, SMALL)) {
        if (e.type === 'text') guard.dispose();
      }
    })().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(GuardDisposedError);
  });

  test('bad arguments are rejected at once with AegisInputError', () => {
    const { guard } = testGuard();
    const source = upstream(['x']).source;
    expect(() => guardStream(guard, 'q', 'not a stream' as never)).toThrow(AegisInputError);
    expect(() => guardStream(guard, 42 as never, source)).toThrow(AegisInputError);
    expect(() => guardStream(guard, 'q', source, { chunkTokens: 0 })).toThrow(AegisInputError);
    expect(() => guardStream(guard, 'q', source, { release: 'sometimes' as never })).toThrow(AegisInputError);
    expect(() => guardStream(guard, 'q', source, { maxPendingChecks: 1.5 })).toThrow(AegisInputError);
    expect(() => guard.guardStream('q', {} as never)).toThrow(AegisInputError);
  });

  test('a delta that is neither text nor bytes fails with AegisInputError and stops the upstream', async () => {
    const { guard } = testGuard();
    async function* bad() {
      yield 'fine text ';
      yield 42 as unknown as string;
      yield 'never read';
    }
    const error = await collect(guardStream(guard, 'q', bad())).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AegisInputError);
  });
});

describe('sources and characters', () => {
  test('a ReadableStream of strings is read, and cancelled when blocked', async () => {
    const { guard } = testGuard();
    const deltas = words(reply(20, 6));
    let cancelled: unknown;
    let at = 0;
    const stream = new ReadableStream<string>({
      pull(controller) {
        if (at < deltas.length) controller.enqueue(deltas[at++]!);
        else controller.close();
      },
      cancel(reason) {
        cancelled = reason ?? 'cancelled';
      },
    });
    const events = await collect(guardStream(guard, 'q', stream, SMALL));
    expect(endOf(events).outcome).toBe('blocked');
    expect(cancelled).toBeDefined();
    expect(at).toBeLessThan(deltas.length);
  });

  test('UTF-8 bytes split inside multi-byte characters arrive whole', async () => {
    const { guard } = testGuard();
    const text = 'Naïve café in Zürich: 北京烤鸭 and 😀🎉 for everyone. '.repeat(6);
    const bytes = new TextEncoder().encode(text);
    // One byte per chunk splits every multi-byte character.
    let at = 0;
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (at < bytes.length) controller.enqueue(bytes.slice(at, ++at));
        else controller.close();
      },
    });
    const events = await collect(guardStream(guard, 'q', stream, SMALL));
    expect(released(events)).toBe(text);
    expect(endOf(events)).toEqual({ type: 'end', outcome: 'allowed', text });
  });

  test('surrogate pairs split across string deltas are never released or checked in halves', async () => {
    const { guard, stats } = testGuard();
    const text = 'Party 😀 time 🎉 with 👍 cake. '.repeat(8);
    // Split every 3 UTF-16 units: many deltas end between the halves of an emoji.
    const deltas = text.match(/[\s\S]{1,3}/g)!;
    expect(deltas.some((d) => /[\ud800-\udbff]$/.test(d))).toBe(true);
    for (const release of ['after-check', 'optimistic'] as const) {
      const events = await collect(guardStream(guard, 'q', upstream(deltas).source, { ...SMALL, release }));
      expect(released(events)).toBe(text);
      for (const e of events) if (e.type === 'text') expect(e.text).not.toMatch(/[\ud800-\udbff]$|^[\udc00-\udfff]/);
    }
    // The model never saw a replacement character: no check text was cut inside a pair.
    expect((await stats()).prompts.every((p) => !p.includes('\ufffd'))).toBe(true);
  });
});
