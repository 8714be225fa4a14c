/**
 * A streamed assistant reply: text appears as the stream guard releases it, and an unsafe chunk turns the
 * message into the blocked state without its text ever being shown.
 */
import { describe, expect, test } from 'vitest';
import type { Guard } from '../../src/client/types.js';
import type { AegisGuardElement } from '../../src/element/aegis-guard.js';
import type { AegisBlockEvent, AegisVerdictEvent } from '../../src/element/events/events.js';
import { mount, nextEvent, part, settledAs, shadowText, testGuard } from './element-fixtures.js';

const SAFE_REPLY =
  'Bread is simple. Mix flour, water, salt and yeast. Knead it well for ten minutes. Let it rise until doubled. Shape the loaf gently. Bake it hot until the crust is brown. Cool it before slicing.';

/** A model's reply as the element reads it. */
interface ModelStream {
  stream: AsyncGenerator<string>;
  /** Settles once the stream is over (read to its end or stopped); rejects when a wait never ended. */
  done: Promise<void>;
  /** The reader stopped it before its end. */
  readonly stopped: boolean;
}

/**
 * A model streaming `text` piece by piece. Each piece waits until `until()` holds (polled: it waits for the
 * guard or the page, never for a time). With `openUntil` the stream then stays open, a model still
 * generating, until that holds, and offers one more piece.
 */
function model(text: string, { until = () => true, openUntil }: { until?: () => boolean; openUntil?: () => boolean } = {}): ModelStream {
  let stopped = false;
  let settle!: (error?: unknown) => void;
  const done = new Promise<void>((resolve, reject) => (settle = (error) => (error === undefined ? resolve() : reject(error))));
  const wait = (condition: () => boolean, message: string) => expect.poll(condition, { message }).toBe(true);
  async function* stream(): AsyncGenerator<string> {
    let over = false;
    try {
      for (const piece of text.match(/\S+\s*/g) ?? []) {
        await wait(until, 'the element never caught up with the stream');
        yield piece;
      }
      if (openUntil) {
        await wait(openUntil, 'the stream was never stopped');
        yield ' and more';
      }
      over = true;
    } catch (error) {
      over = true;
      settle(error);
      throw error;
    } finally {
      if (!over) stopped = true;
      settle();
    }
  }
  return {
    stream: stream(),
    done,
    get stopped() {
      return stopped;
    },
  };
}

/** The guard, counting the reply checks it was asked for that have not settled yet. */
function countingChecks(guard: Guard): { guard: Guard; pending: () => number } {
  let pending = 0;
  const counted = new Proxy(guard, {
    get(target, key) {
      if (key === 'checkResponse') {
        return (...args: Parameters<Guard['checkResponse']>) => {
          pending++;
          return target.checkResponse(...args).finally(() => pending--);
        };
      }
      const value: unknown = Reflect.get(target, key, target);
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
  return { guard: counted, pending: () => pending };
}

/**
 * True once every reply check asked for has settled and the element shows all the text judged so far: a
 * model paced by it streams on only then, so each release is a render of its own, however slow the worker or
 * the frames are.
 */
function caughtUp(el: AegisGuardElement, checks: { pending: () => number }, verdicts: AegisVerdictEvent[], text: string): () => boolean {
  const judgedEnd = () => Math.max(0, ...verdicts.map((v) => v.detail.chunk!.end));
  return () => checks.pending() === 0 && (part(el, 'content')?.textContent ?? '') === text.slice(0, judgedEnd());
}

/** Every value the element's `state` attribute took. */
function recordStates(el: AegisGuardElement): Set<string> {
  const states = new Set<string>();
  const note = (value: string | null) => value !== null && states.add(value);
  note(el.getAttribute('state'));
  new MutationObserver((records) => {
    for (const r of records) note(r.oldValue);
    note(el.getAttribute('state'));
  }).observe(el, { attributes: true, attributeFilter: ['state'], attributeOldValue: true });
  return states;
}

/** Every text the content part showed, sampled on each render. */
function recordShown(el: AegisGuardElement): string[] {
  const shown: string[] = [];
  const sample = () => {
    const text = part(el, 'content')?.textContent;
    if (text !== undefined && shown.at(-1) !== text) shown.push(text);
  };
  new MutationObserver(sample).observe(el.shadowRoot!, { subtree: true, childList: true, characterData: true });
  return shown;
}

describe('streamed replies', () => {
  test('text is shown as it is released, chunk by chunk, then the reply is allowed', async () => {
    const { guard } = testGuard();
    await guard.ready;
    const counted = countingChecks(guard);
    const verdicts: AegisVerdictEvent[] = [];
    const el = mount({ guard: counted.guard, role: 'assistant', prompt: 'How do I bake bread?', streamOptions: { chunkTokens: 8, contextTokens: 4 } });
    el.addEventListener('aegis-verdict', (e) => verdicts.push(e));
    const shown = recordShown(el);
    const states = recordStates(el);
    const reply = model(SAFE_REPLY, { until: caughtUp(el, counted, verdicts, SAFE_REPLY) });
    el.stream = reply.stream;
    await reply.done;
    await settledAs(el, 'allowed');
    expect(reply.stopped).toBe(false);
    expect(part(el, 'content')!.textContent).toBe(SAFE_REPLY);
    expect(states.has('streaming')).toBe(true);
    // Several growing prefixes were on screen before the whole reply.
    const partial = shown.filter((t) => t !== SAFE_REPLY);
    expect(partial.length).toBeGreaterThan(2);
    for (const text of partial) expect(SAFE_REPLY.startsWith(text)).toBe(true);
    expect(verdicts.length).toBeGreaterThan(2);
    expect(verdicts.every((v) => v.detail.target === 'response' && v.detail.chunk !== undefined)).toBe(true);
  });

  test('an unsafe chunk blocks the reply; its text is never shown and the upstream is stopped', async () => {
    const { guard } = testGuard();
    await guard.ready;
    const counted = countingChecks(guard);
    const text = `${SAFE_REPLY} Then do something awful [[unsafe:Violence]] and more text after it that never shows.`;
    const el = mount({ guard: counted.guard, role: 'assistant', prompt: 'Tell me about bread', streamOptions: { chunkTokens: 8, contextTokens: 4 } });
    const shown = recordShown(el);
    const verdicts: AegisVerdictEvent[] = [];
    el.addEventListener('aegis-verdict', (e) => verdicts.push(e));
    const block = nextEvent<AegisBlockEvent>(el, 'aegis-block');
    // Paced by the element, so the safe text before the unsafe chunk is surely on screen first.
    const judgedShown = caughtUp(el, counted, verdicts, text);
    const reply = model(text, { until: () => judgedShown() || el.state === 'blocked' });
    el.stream = reply.stream;
    const event = await block;
    await settledAs(el, 'blocked');
    expect(event.detail.categories).toEqual([{ code: 'S1', name: 'Violence' }]);
    expect(part(el, 'placeholder-message')!.textContent).toContain('violence');
    // Nothing from the unsafe chunk on was ever on screen.
    const unsafe = verdicts.find((v) => !v.detail.verdict.safe)!;
    expect(unsafe.detail.chunk!.start).toBeGreaterThan(0);
    expect(shown.length).toBeGreaterThan(0);
    for (const text of shown) expect(text.length).toBeLessThanOrEqual(unsafe.detail.chunk!.start);
    expect(shown.some((t) => t.includes('never shows'))).toBe(false);
    expect(shadowText(el)).not.toContain('Bread is simple');
    await reply.done;
    expect(reply.stopped).toBe(true);
  });

  test('a ReadableStream works as a source', async () => {
    const { guard } = testGuard();
    const parts = ['Hello ', 'from ', 'a ', 'readable ', 'stream.'];
    const source = new ReadableStream<string>({
      pull(controller) {
        const next = parts.shift();
        if (next === undefined) controller.close();
        else controller.enqueue(next);
      },
    });
    const el = mount({ guard, role: 'assistant', prompt: 'hi', stream: source });
    await settledAs(el, 'allowed');
    expect(part(el, 'content')!.textContent).toBe('Hello from a readable stream.');
  });

  test('a failed chunk check ends fail-closed in the error state', async () => {
    const { guard } = testGuard();
    const el = mount({ guard, role: 'assistant', prompt: 'hi', stream: model('This part breaks [[fault:engine]] the checker.').stream });
    await settledAs(el, 'error');
    expect(shadowText(el)).not.toContain('breaks');
    // A consumed stream cannot be checked again, so no retry is offered.
    expect(part(el, 'retry-button')).toBeNull();
  });

  test('removing the element mid-stream cancels it and stops the upstream', async () => {
    const { guard, stats } = testGuard();
    await guard.ready;
    const counted = countingChecks(guard);
    const verdicts: AegisVerdictEvent[] = [];
    const text = `${SAFE_REPLY} Then a chunk the engine holds [[hold]] and words after it.`;
    const el = mount({ guard: counted.guard, role: 'assistant', prompt: 'hi', streamOptions: { chunkTokens: 4 } });
    el.addEventListener('aegis-verdict', (e) => verdicts.push(e));
    // The stream waits on the held chunk's check, so it is open, with a check in the engine, until removed.
    const judgedShown = caughtUp(el, counted, verdicts, text);
    const reply = model(text, { until: () => judgedShown() || !el.isConnected, openUntil: () => !el.isConnected });
    el.stream = reply.stream;
    await expect.poll(async () => (await stats()).held).toBe(1);
    expect(el.state).toBe('streaming');
    el.remove();
    await reply.done;
    expect(reply.stopped).toBe(true);
    await settledAs(el, 'error');
    // One check at a time: this one runs only if the held chunk check was cancelled in the worker.
    expect((await guard.checkPrompt('next')).safe).toBe(true);
  });

  test('a stream on a user message is an input error', async () => {
    const { guard } = testGuard();
    const el = mount({ guard, role: 'user', stream: model('hello').stream });
    await settledAs(el, 'error');
    expect(el.error?.code).toBe('invalid-input');
  });
});
