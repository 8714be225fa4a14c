/**
 * Fail closed: when the guard cannot judge a message, its text is never visible, at any moment of the
 * element's life (loading, checking, error, retry). A sampler looks after every DOM change and every frame.
 */
import { describe, expect, test } from 'vitest';
import { ModelLoadError } from '../../src/core/errors.js';
import type { AegisGuardElement } from '../../src/element/aegis-guard.js';
import { mount, part, settledAs, testGuard } from './element-fixtures.js';

const SECRET = 'SECRET-7f3a9-never-visible';

interface Sampler {
  samples: number;
  leaks: string[];
  stop(): void;
}

/** Watches `el` until stopped: on every mutation (shadow or light DOM) and every animation frame. */
function watchForLeaks(el: AegisGuardElement): Sampler {
  const sampler: Sampler = { samples: 0, leaks: [], stop: () => undefined };
  const sample = (when: string) => {
    sampler.samples++;
    const root = el.shadowRoot;
    if (root?.textContent?.includes(SECRET)) sampler.leaks.push(`${when}: shadow DOM text (${el.state})`);
    for (const child of el.children) {
      if (!child.textContent?.includes(SECRET)) continue;
      if (child.assignedSlot) sampler.leaks.push(`${when}: slotted child assigned (${el.state})`);
      if (child.checkVisibility()) sampler.leaks.push(`${when}: slotted child visible (${el.state})`);
    }
    if (document.body.innerText.includes(SECRET)) sampler.leaks.push(`${when}: rendered page text (${el.state})`);
  };
  const observer = new MutationObserver(() => sample('mutation'));
  let frame = 0;
  const tick = () => {
    sample('frame');
    frame = requestAnimationFrame(tick);
  };
  const start = () => {
    if (el.shadowRoot) observer.observe(el.shadowRoot, { subtree: true, childList: true, characterData: true, attributes: true });
    observer.observe(el, { subtree: true, childList: true, characterData: true, attributes: true });
  };
  start();
  // The shadow root exists from construction; observe again once rendered in case it was created late.
  void el.updateComplete.then(start);
  tick();
  sampler.stop = () => {
    observer.disconnect();
    cancelAnimationFrame(frame);
  };
  return sampler;
}

async function throughRetry(el: AegisGuardElement) {
  await settledAs(el, 'error');
  part(el, 'retry-button')!.click();
  await el.updateComplete;
  await settledAs(el, 'error');
  // Stay a few frames in the final state.
  for (let i = 0; i < 5; i++) await new Promise((r) => requestAnimationFrame(r));
}

const SCENARIOS: Array<[string, Parameters<typeof testGuard>[0], string]> = [
  ['the engine fails', {}, '[[fault:engine]]'],
  ['the model fails to load', { model: '/__fixtures/fail-load/' }, ''],
  ['the prompt exceeds the context window', {}, '[[fault:context]]'],
  ['the check times out', { timeout: 150 }, '[[fault:hang]]'],
  ['the worker crashes', {}, '[[fault:crash]]'],
  ['the model output is unreadable', {}, '[[raw:not json at all]]'],
];

describe('fail closed', () => {
  test.each(SCENARIOS)('text property, when %s: never visible', async (_, options, marker) => {
    const { guard } = testGuard(options);
    const el = mount({ guard });
    const sampler = watchForLeaks(el);
    el.text = `${SECRET} ${marker}`;
    await throughRetry(el);
    sampler.stop();
    expect(sampler.samples).toBeGreaterThan(5);
    expect(sampler.leaks).toEqual([]);
    expect(el.state).toBe('error');
  });

  test.each(SCENARIOS)('slotted content, when %s: never visible, never assigned to a slot', async (_, options, marker) => {
    const { guard } = testGuard(options);
    const el = mount({ guard });
    const sampler = watchForLeaks(el);
    el.innerHTML = `<p>${SECRET} <a href="#">link</a> ${marker}</p>`;
    await throughRetry(el);
    sampler.stop();
    expect(sampler.samples).toBeGreaterThan(5);
    expect(sampler.leaks).toEqual([]);
    expect(el.querySelector('a')!.checkVisibility()).toBe(false);
  });

  test('an assistant reply when the engine fails: never visible', async () => {
    const { guard } = testGuard();
    const el = mount({ guard, role: 'assistant', prompt: 'question' });
    const sampler = watchForLeaks(el);
    el.text = `${SECRET} [[fault:engine]]`;
    await throughRetry(el);
    sampler.stop();
    expect(sampler.leaks).toEqual([]);
  });

  test('the guard disposed mid-check: never visible', async () => {
    const { guard } = testGuard();
    await guard.ready;
    const el = mount({ guard });
    const sampler = watchForLeaks(el);
    el.text = `${SECRET} [[delay:300]]`;
    await el.updateComplete;
    guard.dispose();
    await settledAs(el, 'error');
    expect(el.error?.code).toBe('disposed');
    for (let i = 0; i < 5; i++) await new Promise((r) => requestAnimationFrame(r));
    sampler.stop();
    expect(sampler.leaks).toEqual([]);
  });

  test('the sampler does see a leak when there is one (an allowed message)', async () => {
    const { guard } = testGuard();
    const el = mount({ guard });
    const sampler = watchForLeaks(el);
    el.text = SECRET;
    await settledAs(el, 'allowed');
    await new Promise((r) => requestAnimationFrame(r));
    sampler.stop();
    expect(sampler.leaks.length).toBeGreaterThan(0);
  });

  test('the sampler does see slotted content once it is allowed', async () => {
    const { guard } = testGuard();
    const el = mount({ guard });
    const sampler = watchForLeaks(el);
    el.innerHTML = `<p>${SECRET}</p>`;
    await settledAs(el, 'allowed');
    await new Promise((r) => requestAnimationFrame(r));
    sampler.stop();
    expect(sampler.leaks.some((l) => l.includes('slotted child assigned'))).toBe(true);
    expect(sampler.leaks.some((l) => l.includes('rendered page text'))).toBe(true);
  });

  test("a ModelLoadError in the error state has the guard's url", async () => {
    const { guard } = testGuard({ model: '/__fixtures/fail-load/' });
    const loadError = await guard.ready.then(() => undefined, (e: unknown) => e);
    expect(loadError).toBeInstanceOf(ModelLoadError);
    const el = mount({ guard });
    el.text = 'hello';
    await settledAs(el, 'error');
    expect(el.error).toBeInstanceOf(ModelLoadError);
    expect((el.error as ModelLoadError).url).toBe((loadError as ModelLoadError).url);
    expect((el.error as ModelLoadError).url).toMatch(/\/__fixtures\/fail-load\/mlc-chat-config\.json$/);
  });

  test('a check that crashed the worker is not run again by itself when the new worker is ready (no crash loop); Retry runs it', async () => {
    const t = testGuard();
    await t.guard.ready;
    const el = mount({ guard: t.guard });
    const restarted = new Promise<void>((resolve) => {
      const off = t.guard.on('ready', () => {
        off();
        resolve();
      });
    });
    el.text = `${SECRET} [[fault:crash]]`;
    await settledAs(el, 'error');
    expect(el.error?.code).toBe('worker-crashed');
    await restarted;
    // The element's own 'ready' listener ran in the same emit: had it re-run the check, it would be idle now.
    expect(el.state).toBe('error');
    expect(t.workers).toHaveLength(2);
    part(el, 'retry-button')!.click();
    expect(el.state).toBe('idle');
    await settledAs(el, 'error');
    expect(el.error?.code).toBe('worker-crashed');
  });
});
