/**
 * What the element judges and when: `text` vs slotted content, the prompt of a reply (`prompt` / `for`),
 * re-checks on change with stale checks cancelled, detached elements cancelling, lazy checks, the shared
 * guard, and the define module.
 */
import { describe, expect, test } from 'vitest';
import { AegisGuardElement } from '../../src/element/aegis-guard.js';
import { disposeSharedGuards, setSharedGuardOptions, sharedGuard } from '../../src/element/shared-guard.js';
import { scriptedWorker } from '../helpers/test-guard.js';
import { mount, part, settledAs, shadowText, testGuard, track } from './element-fixtures.js';

const FIXTURE_MODEL = '/__fixtures/scripted-model/';

describe('text and slotted content', () => {
  test('slotted content is not rendered, not visible and not assigned to a slot until allowed', async () => {
    const { guard } = testGuard();
    await guard.ready;
    const el = mount({ guard }, { html: '<p id="msg">Slotted <a href="#x">link</a> text [[delay:300]]</p>' });
    const p = el.querySelector('#msg')!;
    const link = el.querySelector('a')!;
    await el.updateComplete;
    expect(el.state).toBe('checking');
    expect(p.assignedSlot).toBeNull();
    expect(p.checkVisibility()).toBe(false);
    expect(p.getClientRects()).toHaveLength(0);
    // Not focusable while hidden: focusing it does nothing.
    link.focus();
    expect(document.activeElement).not.toBe(link);
    await settledAs(el, 'allowed');
    expect(p.assignedSlot).not.toBeNull();
    expect(p.checkVisibility()).toBe(true);
    link.focus();
    expect(document.activeElement).toBe(link);
  });

  test('the slotted text is what is judged (markup dropped, white space collapsed)', async () => {
    const { guard, stats } = testGuard();
    const el = mount({ guard }, { html: '<p>Hello   <b>there</b></p>\n  <p>friend</p>' });
    await settledAs(el, 'allowed');
    expect(el.messageText).toBe('Hello there friend');
    expect((await stats()).prompts.at(-1)).toContain('user: Hello there friend');
  });

  test('changed slotted content is hidden again and judged again', async () => {
    const { guard } = testGuard();
    const el = mount({ guard }, { html: '<p>fine text</p>' });
    await settledAs(el, 'allowed');
    el.querySelector('p')!.textContent = 'changed to something bad [[unsafe:Threat]]';
    // The mutation observer runs before the next paint: the new text is unassigned at once.
    await Promise.resolve();
    await el.updateComplete;
    expect(el.querySelector('p')!.assignedSlot).toBeNull();
    await settledAs(el, 'blocked');
    expect(el.querySelector('p')!.checkVisibility()).toBe(false);
  });

  test('`text` takes precedence over slotted content, which then never shows', async () => {
    const { guard } = testGuard();
    const el = mount({ guard, text: 'from the property' }, { html: '<span>from the slot</span>' });
    await settledAs(el, 'allowed');
    expect(part(el, 'content')!.textContent).toBe('from the property');
    expect(el.querySelector('span')!.assignedSlot).toBeNull();
  });

  test('the text shown is the text judged, even if the property changes again later', async () => {
    const { guard } = testGuard();
    await guard.ready;
    const el = mount({ guard, text: 'first [[delay:300]]' });
    await el.updateComplete;
    el.text = 'second';
    await settledAs(el, 'allowed');
    expect(part(el, 'content')!.textContent).toBe('second');
    el.text = 'third [[unsafe]] [[delay:200]]';
    await el.updateComplete;
    expect(el.state).toBe('checking');
    expect(shadowText(el)).not.toContain('second');
    await settledAs(el, 'blocked');
  });
});

describe('the prompt of a reply', () => {
  test('`prompt` is sent with the reply', async () => {
    const { guard, stats } = testGuard();
    const el = mount({ guard, role: 'assistant', prompt: 'How do I cook rice?', text: 'Rinse it, then simmer.' });
    await settledAs(el, 'allowed');
    expect(el.verdict?.target).toBe('response');
    const prompt = (await stats()).prompts.at(-1)!;
    expect(prompt).toContain('user: How do I cook rice?');
    expect(prompt).toContain('response: agent: Rinse it, then simmer.');
  });

  test('`for` reads the prompt from the user message element, even from its text property', async () => {
    const { guard, stats } = testGuard();
    const user = mount({ guard, id: 'u1', text: 'What is the capital of France?' });
    const reply = mount({ guard, text: 'Paris.' }, { attrs: { role: 'assistant', for: 'u1' } });
    await settledAs(user, 'allowed');
    await settledAs(reply, 'allowed');
    expect((await stats()).prompts.some((p) => p.includes('user: What is the capital of France?') && p.includes('response: agent: Paris.'))).toBe(true);
  });

  test('`for` naming no element is an input error, fail-closed', async () => {
    const { guard } = testGuard();
    const el = mount({ guard, text: 'reply' }, { attrs: { role: 'assistant', for: 'nope' } });
    await settledAs(el, 'error');
    expect(el.error?.code).toBe('invalid-input');
    expect(el.error?.message).toContain('nope');
  });

  test('an unsafe prompt does not block a safe reply: only the reply is judged', async () => {
    const { guard } = testGuard();
    const el = mount({ guard, role: 'assistant', prompt: 'hurt someone [[unsafe]]', text: 'I cannot help with that.' });
    await settledAs(el, 'allowed');
  });
});

describe('cancellation', () => {
  test('a detached element cancels its check; the worker goes on to the next one', async () => {
    const { guard, stats } = testGuard();
    await guard.ready;
    const hanging = mount({ guard, text: 'this check never ends [[fault:hang]]' });
    await expect.poll(async () => hanging.state).toBe('checking');
    // Removed once the engine is really working on the check (not after a guessed delay).
    await expect.poll(async () => (await stats()).completions).toBe(1);
    hanging.remove();
    // The worker runs one check at a time: this only completes if the hanging one was cancelled.
    const next = mount({ guard, text: 'next message' });
    await settledAs(next, 'allowed');
    expect(hanging.state).toBe('checking');
  });

  test('a moved element keeps its check (remove and re-insert in one task)', async () => {
    const { guard, stats, release } = testGuard();
    await guard.ready;
    const el = mount({ guard, text: 'moved [[hold]]' });
    // Moved while the engine is working on the check (held there until released).
    await expect.poll(async () => (await stats()).held).toBe(1);
    const other = document.createElement('div');
    document.body.append(other);
    track(other);
    other.append(el);
    // Had the move cancelled the check, the worker would have dropped this one and judged a new one.
    await el.updateComplete;
    await release();
    await settledAs(el, 'allowed');
    expect(await stats()).toMatchObject({ completions: 1, held: 1 });
  });

  test('a detached element resumes its check when it is attached again', async () => {
    const { guard } = testGuard();
    await guard.ready;
    const el = mount({ guard, text: 'come back [[delay:300]]' });
    await el.updateComplete;
    el.remove();
    await new Promise((r) => setTimeout(r));
    document.body.append(el);
    await settledAs(el, 'allowed');
  });
});

describe('scale', () => {
  test('lazy elements far below the viewport wait their turn, then are judged when scrolled near', async () => {
    const { guard, stats } = testGuard();
    await guard.ready;
    const spacer = document.createElement('div');
    spacer.style.height = '5000px';
    document.body.append(spacer);
    track(spacer);
    const near = mount({ guard, text: 'near', lazy: true });
    const far = mount({ guard, text: 'far away', lazy: true });
    document.body.insertBefore(near, spacer);
    await settledAs(near, 'allowed');
    expect(far.state).toBe('checking');
    expect((await stats()).prompts.some((p) => p.includes('user: far away'))).toBe(false);
    far.scrollIntoView();
    await settledAs(far, 'allowed');
    window.scrollTo(0, 0);
  });

  test('lazy elements in a scroll box: those within one box height of its visible part are judged, the rest when scrolled near', async () => {
    const { guard, stats } = testGuard();
    await guard.ready;
    const box = document.createElement('div');
    box.style.cssText = 'height: 200px; overflow-y: auto;';
    document.body.append(box);
    track(box);
    // 40 messages of 50px: rows 0-3 are visible, 4-7 are within one box height below, 8+ are further.
    const els = Array.from({ length: 40 }, (_, i) => {
      const el = document.createElement('aegis-guard');
      el.guard = guard;
      el.lazy = true;
      el.style.cssText = 'display: block; height: 50px;';
      el.text = `row ${i}`;
      box.append(el);
      return el;
    });
    await expect.poll(() => els.slice(0, 7).every((el) => el.state === 'allowed')).toBe(true);
    await new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
    expect(els.slice(9).every((el) => el.state === 'checking')).toBe(true);
    expect((await stats()).prompts.some((p) => p.includes('user: row 20\n'))).toBe(false);
    box.scrollTop = 20 * 50;
    await expect.poll(() => els[20]!.state).toBe('allowed');
    expect(els[39]!.state).toBe('checking');
  });

  test('200 messages mount and every one settles with its own verdict', async () => {
    const { guard } = testGuard();
    const host = document.createElement('div');
    document.body.append(host);
    track(host);
    const els = Array.from({ length: 200 }, (_, i) => {
      const el = document.createElement('aegis-guard');
      el.guard = guard;
      el.text = i % 10 === 0 ? `message ${i} [[unsafe:Violence]]` : `message ${i}`;
      return el;
    });
    host.append(...els);
    await expect.poll(() => els.every((el) => el.state === 'allowed' || el.state === 'blocked'), { timeout: 30_000 }).toBe(true);
    els.forEach((el, i) => expect(el.state).toBe(i % 10 === 0 ? 'blocked' : 'allowed'));
  });
});

describe('the shared guard', () => {
  test('elements without a guard share one guard (one worker) per model options', async () => {
    let workers = 0;
    setSharedGuardOptions({
      worker: () => {
        workers++;
        return scriptedWorker();
      },
    });
    try {
      const a = mount({ text: 'first' }, { attrs: { model: FIXTURE_MODEL } });
      const b = mount({ text: 'second' }, { attrs: { model: FIXTURE_MODEL } });
      await settledAs(a, 'allowed');
      await settledAs(b, 'allowed');
      expect(workers).toBe(1);
      expect(sharedGuard({ model: FIXTURE_MODEL })).toBe(sharedGuard({ model: FIXTURE_MODEL }));
      const c = mount({ text: 'third' }, { attrs: { model: FIXTURE_MODEL, threshold: '0.9' } });
      await settledAs(c, 'allowed');
      expect(workers).toBe(2);
      expect(sharedGuard({ model: FIXTURE_MODEL, threshold: 0.9 })).not.toBe(sharedGuard({ model: FIXTURE_MODEL }));
    } finally {
      disposeSharedGuards();
      setSharedGuardOptions({});
    }
  });

  test('categories given as an attribute reach the shared guard', async () => {
    setSharedGuardOptions({ worker: scriptedWorker });
    try {
      const el = mount({ text: 'buy [[unsafe:Competitor Mentions]]' }, { attrs: { model: FIXTURE_MODEL, categories: 'Competitor Mentions, Politics' } });
      await settledAs(el, 'blocked');
      expect(el.verdict?.categories).toEqual([{ code: 'S24', name: 'Competitor Mentions' }]);
    } finally {
      disposeSharedGuards();
      setSharedGuardOptions({});
    }
  });

  test('a bad attribute (unknown model id) is a typed input error, fail-closed', async () => {
    const el = mount({ text: 'hi' }, { attrs: { model: 'no-such-model' } });
    await settledAs(el, 'error');
    expect(el.error?.code).toBe('invalid-input');
    expect(el.error?.message).toContain('Unknown model id');
  });

  test('after disposeSharedGuards, elements get a fresh guard when they next check', async () => {
    setSharedGuardOptions({ worker: scriptedWorker });
    try {
      const first = sharedGuard({ model: FIXTURE_MODEL });
      disposeSharedGuards();
      expect(first.state).toBe('disposed');
      const el = mount({ text: 'hi' }, { attrs: { model: FIXTURE_MODEL } });
      await settledAs(el, 'allowed');
      expect(sharedGuard({ model: FIXTURE_MODEL })).not.toBe(first);
    } finally {
      disposeSharedGuards();
      setSharedGuardOptions({});
    }
  });
});

describe('define', () => {
  test('registers aegis-guard, and a second evaluation of the define module is harmless', async () => {
    expect(customElements.get('aegis-guard')).toBe(AegisGuardElement);
    // A query string makes Vite evaluate the module a second time, like a second bundle would.
    const secondCopy = new URL('../../src/element/define.ts?second-copy', import.meta.url).href;
    const module = (await import(/* @vite-ignore */ secondCopy)) as { AEGIS_GUARD_TAG: string };
    expect(module.AEGIS_GUARD_TAG).toBe('aegis-guard');
    // A distinct module instance: its top level (the define call) really ran a second time.
    expect(module).not.toBe(await import('../../src/element/define.js'));
    expect(customElements.get('aegis-guard')).toBe(AegisGuardElement);
    expect(document.createElement('aegis-guard')).toBeInstanceOf(AegisGuardElement);
  });
});
