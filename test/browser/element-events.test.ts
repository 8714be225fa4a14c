/**
 * The element's events: one class each, bubbling and composed (they cross shadow roots), with typed details;
 * `aegis-block` is cancelable and cancelling it lets the message through.
 */
import { describe, expect, test } from 'vitest';
import { EngineError } from '../../src/core/errors.js';
import {
  AegisBlockEvent,
  AegisErrorEvent,
  AegisProgressEvent,
  AegisReadyEvent,
  AegisVerdictEvent,
} from '../../src/element/events/events.js';
import { mount, part, settledAs, shadowText, testGuard, track } from './element-fixtures.js';

/** Mounts the element inside another component's shadow root, and records what reaches `document`. */
function mountInShadow(props: Parameters<typeof mount>[0]) {
  const host = document.createElement('div');
  document.body.append(host);
  track(host);
  const root = host.attachShadow({ mode: 'open' });
  const seen: Event[] = [];
  const types = ['aegis-verdict', 'aegis-block', 'aegis-error', 'aegis-progress', 'aegis-ready'];
  const record = (e: Event) => seen.push(e);
  for (const type of types) document.addEventListener(type, record);
  const stop = () => types.forEach((type) => document.removeEventListener(type, record));
  const el = mount(props, { parent: root });
  return { el, seen, stop };
}

describe('events', () => {
  test('progress, ready and verdict reach the document from inside a shadow root, as typed classes', async () => {
    const { guard } = testGuard({ model: '/__fixtures/slow-load/' });
    const { el, seen, stop } = mountInShadow({ guard, text: 'hello' });
    await settledAs(el, 'allowed');
    stop();
    const progress = seen.filter((e) => e.type === 'aegis-progress');
    expect(progress.length).toBeGreaterThan(1);
    expect(progress.every((e) => e instanceof AegisProgressEvent)).toBe(true);
    expect((progress[0] as AegisProgressEvent).detail.progress.phase).toBeTypeOf('string');
    const ready = seen.filter((e) => e.type === 'aegis-ready');
    expect(ready).toHaveLength(1);
    expect(ready[0]).toBeInstanceOf(AegisReadyEvent);
    expect((ready[0] as AegisReadyEvent).detail.info.variant).toBe('q4f32_1');
    const verdicts = seen.filter((e) => e.type === 'aegis-verdict');
    expect(verdicts).toHaveLength(1);
    const verdict = verdicts[0] as AegisVerdictEvent;
    expect(verdict).toBeInstanceOf(AegisVerdictEvent);
    expect(verdict.detail).toMatchObject({ target: 'prompt', verdict: { safe: true } });
    for (const e of seen) {
      expect(e.bubbles).toBe(true);
      expect(e.composed).toBe(true);
      expect(e.cancelable).toBe(false);
      // Retargeted to the shadow host at document level: proof the event crossed the boundary.
      expect(e.target).not.toBe(el);
    }
    // Progress comes before ready, ready before the verdict.
    const order = seen.map((e) => e.type);
    expect(order.lastIndexOf('aegis-progress')).toBeLessThan(order.indexOf('aegis-ready'));
    expect(order.indexOf('aegis-ready')).toBeLessThan(order.indexOf('aegis-verdict'));
  });

  test('aegis-ready fires for an element that starts after the model is already loaded', async () => {
    const { guard } = testGuard();
    const info = await guard.ready;
    const readies: AegisReadyEvent[] = [];
    const el = mount({ guard, text: 'x' });
    el.addEventListener('aegis-ready', (e) => readies.push(e));
    await settledAs(el, 'allowed');
    await expect.poll(() => readies.length).toBe(1);
    expect(readies[0]!.detail.info).toEqual(info);
  });

  test('aegis-block: cancelable, with the categories; by default the message stays hidden', async () => {
    const { guard } = testGuard();
    const { el, seen, stop } = mountInShadow({ guard, text: 'bad [[unsafe:Violence]]' });
    await settledAs(el, 'blocked');
    stop();
    expect(seen.map((e) => e.type).filter((t) => t !== 'aegis-progress')).toEqual(['aegis-ready', 'aegis-verdict', 'aegis-block']);
    const block = seen.find((e) => e.type === 'aegis-block') as AegisBlockEvent;
    expect(block).toBeInstanceOf(AegisBlockEvent);
    expect(block.cancelable).toBe(true);
    expect(block.bubbles && block.composed).toBe(true);
    expect(block.detail.categories).toEqual([{ code: 'S1', name: 'Violence' }]);
    expect(block.detail.verdict.safe).toBe(false);
    expect(block.defaultPrevented).toBe(false);
  });

  test('cancelling aegis-block lets the message through, badged as shown by the app', async () => {
    const { guard } = testGuard();
    document.addEventListener('aegis-block', (e) => e.preventDefault(), { once: true });
    const el = mount({ guard, text: 'edgy joke [[unsafe:Profanity]]', badge: true });
    await settledAs(el, 'allowed');
    expect(part(el, 'content')!.textContent).toBe('edgy joke [[unsafe:Profanity]]');
    expect(part(el, 'badge')!.textContent).toBe('Shown by the app');
  });

  test('aegis-error carries the typed error and the fail-closed verdict', async () => {
    const { guard } = testGuard();
    const { el, seen, stop } = mountInShadow({ guard, text: '[[fault:engine]]' });
    await settledAs(el, 'error');
    stop();
    const error = seen.find((e) => e.type === 'aegis-error') as AegisErrorEvent;
    expect(error).toBeInstanceOf(AegisErrorEvent);
    expect(error.bubbles && error.composed).toBe(true);
    expect(error.detail.error).toBeInstanceOf(EngineError);
    expect(error.detail.verdict).toMatchObject({ safe: false, source: 'failure', failure: { code: 'engine-failed' } });
    expect(seen.some((e) => e.type === 'aegis-block')).toBe(false);
  });

  test('a listener that changes the message during aegis-verdict gets the new message judged, not the old one shown', async () => {
    const { guard } = testGuard();
    const el = mount({ guard, text: 'first version' });
    el.addEventListener('aegis-verdict', () => (el.text = 'second version [[unsafe]]'), { once: true });
    await settledAs(el, 'blocked');
    expect(shadowText(el)).not.toContain('first version');
  });

  test('typed listeners: GlobalEventHandlersEventMap knows every event', () => {
    // Compile-time check: these handlers only type-check when the map declares the event classes.
    const el = document.createElement('aegis-guard');
    el.addEventListener('aegis-verdict', (e) => e.detail.verdict.safe);
    el.addEventListener('aegis-block', (e) => e.detail.categories.length);
    el.addEventListener('aegis-error', (e) => e.detail.error.code);
    el.addEventListener('aegis-progress', (e) => e.detail.progress.phase);
    el.addEventListener('aegis-ready', (e) => e.detail.info.modelId);
    expect(el).toBeInstanceOf(customElements.get('aegis-guard')!);
  });
});
