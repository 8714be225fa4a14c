/**
 * A streamed assistant reply: text appears as the stream guard releases it, and an unsafe chunk turns the
 * message into the blocked state without its text ever being shown.
 */
import { describe, expect, test } from 'vitest';
import type { AegisGuardElement } from '../../src/element/aegis-guard.js';
import type { AegisBlockEvent, AegisVerdictEvent } from '../../src/element/events/events.js';
import { mount, nextEvent, part, settledAs, shadowText, testGuard } from './element-fixtures.js';

const SAFE_REPLY =
  'Bread is simple. Mix flour, water, salt and yeast. Knead it well for ten minutes. Let it rise until doubled. Shape the loaf gently. Bake it hot until the crust is brown. Cool it before slicing.';

async function* tokens(text: string, stopped?: { value: boolean }): AsyncGenerator<string> {
  try {
    for (const piece of text.match(/\S+\s*/g) ?? []) {
      await new Promise((r) => setTimeout(r, 5));
      yield piece;
    }
  } finally {
    if (stopped) stopped.value = true;
  }
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
    const verdicts: AegisVerdictEvent[] = [];
    const el = mount({ guard, role: 'assistant', prompt: 'How do I bake bread?', streamOptions: { chunkTokens: 8, contextTokens: 4 } });
    el.addEventListener('aegis-verdict', (e) => verdicts.push(e));
    const shown = recordShown(el);
    const states = new Set<string>();
    const poll = setInterval(() => states.add(el.state), 1);
    el.stream = tokens(SAFE_REPLY);
    await settledAs(el, 'allowed');
    clearInterval(poll);
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
    const reply = `${SAFE_REPLY} Then do something awful [[unsafe:Violence]] and more text after it that never shows.`;
    const stopped = { value: false };
    const el = mount({ guard, role: 'assistant', prompt: 'Tell me about bread', streamOptions: { chunkTokens: 8, contextTokens: 4 } });
    const shown = recordShown(el);
    const verdicts: AegisVerdictEvent[] = [];
    el.addEventListener('aegis-verdict', (e) => verdicts.push(e));
    const block = nextEvent<AegisBlockEvent>(el, 'aegis-block');
    el.stream = tokens(reply, stopped);
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
    await expect.poll(() => stopped.value).toBe(true);
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
    const el = mount({ guard, role: 'assistant', prompt: 'hi', stream: tokens('This part breaks [[fault:engine]] the checker.') });
    await settledAs(el, 'error');
    expect(shadowText(el)).not.toContain('breaks');
    // A consumed stream cannot be checked again, so no retry is offered.
    expect(part(el, 'retry-button')).toBeNull();
  });

  test('removing the element mid-stream cancels it and stops the upstream', async () => {
    const { guard } = testGuard();
    await guard.ready;
    const stopped = { value: false };
    const el = mount({ guard, role: 'assistant', prompt: 'hi', streamOptions: { chunkTokens: 4 }, stream: tokens(`${SAFE_REPLY} [[delay:200]]`, stopped) });
    await expect.poll(() => el.state).toBe('streaming');
    el.remove();
    await expect.poll(() => stopped.value).toBe(true);
    await settledAs(el, 'error');
  });

  test('a stream on a user message is an input error', async () => {
    const { guard } = testGuard();
    const el = mount({ guard, role: 'user', stream: tokens('hello') });
    await settledAs(el, 'error');
    expect(el.error?.code).toBe('invalid-input');
  });
});
