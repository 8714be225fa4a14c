/**
 * Message text is untrusted: whatever path it takes into the element (allowed, shown anyway, streamed, named
 * in an error), it renders as text. No element is created from it and no script or handler runs.
 */
import { afterEach, describe, expect, test } from 'vitest';
import type { AegisGuardElement } from '../../src/element/aegis-guard.js';
import { mount, part, settledAs, testGuard } from './element-fixtures.js';

declare global {
  interface Window {
    __xss?: string;
  }
}

const PAYLOADS = [
  `<img src=x onerror="window.__xss='img'">`,
  `<script>window.__xss='script'</script>`,
  `<a href="javascript:window.__xss='link'">click me</a>`,
  `<svg><svg onload="window.__xss='svg'"></svg></svg>`,
  `"><iframe srcdoc="<script>parent.__xss='iframe'</script>"></iframe>`,
  `<details open ontoggle="window.__xss='details'">x</details>`,
  `<style>* { display: none !important }</style>`,
];

/** Two frames: enough for an <img> error or a load handler to have fired, had one been created. */
const frames = () => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));

function expectInert(el: AegisGuardElement, payload: string) {
  const content = part(el, 'content')!;
  expect(content.textContent).toBe(payload);
  expect(content.children).toHaveLength(0);
  expect(el.shadowRoot!.querySelectorAll('img, script, a, svg, iframe, details, style')).toHaveLength(0);
}

afterEach(() => {
  delete window.__xss;
});

describe('XSS', () => {
  test.each(PAYLOADS)('an allowed message %s renders as text and runs nothing', async (payload) => {
    const { guard } = testGuard();
    const el = mount({ guard, text: payload });
    await settledAs(el, 'allowed');
    expectInert(el, payload);
    await frames();
    expect(window.__xss).toBeUndefined();
  });

  test('a blocked message shown anyway renders as text', async () => {
    const { guard } = testGuard();
    const payload = `${PAYLOADS[0]} [[unsafe]]`;
    const el = mount({ guard, text: payload });
    await settledAs(el, 'blocked');
    el.reveal();
    await el.updateComplete;
    expectInert(el, payload);
    await frames();
    expect(window.__xss).toBeUndefined();
  });

  test('a streamed reply renders as text while streaming and when done', async () => {
    const { guard } = testGuard();
    const payload = PAYLOADS.join(' ');
    async function* source() {
      for (const piece of payload.match(/.{1,7}/gs)!) yield piece;
    }
    const el = mount({ guard, role: 'assistant', prompt: 'hi', streamOptions: { chunkTokens: 6 }, stream: source() });
    const created: string[] = [];
    new MutationObserver((records) => {
      for (const r of records) for (const n of r.addedNodes) if (n instanceof Element && n.parentElement?.closest('[part~="content"]')) created.push(n.tagName);
    }).observe(el.shadowRoot!, { subtree: true, childList: true });
    await settledAs(el, 'allowed');
    expectInert(el, payload);
    expect(created).toEqual([]);
    await frames();
    expect(window.__xss).toBeUndefined();
  });

  test('text echoed in an error reason renders as text', async () => {
    const { guard } = testGuard();
    const id = `<img src=x onerror="window.__xss='error'">`;
    const el = mount({ guard, text: 'reply' }, { attrs: { role: 'assistant', for: id } });
    await settledAs(el, 'error');
    expect(part(el, 'error-details')!.textContent).toContain(id);
    (part(el, 'error-details') as HTMLDetailsElement).open = true;
    expect(el.shadowRoot!.querySelectorAll('img')).toHaveLength(0);
    await frames();
    expect(window.__xss).toBeUndefined();
  });

  test('the message never reaches an attribute or the light DOM', async () => {
    const { guard } = testGuard();
    const el = mount({ guard, text: 'plain secret words' });
    await settledAs(el, 'allowed');
    expect(el.outerHTML).not.toContain('plain secret words');
    expect([...el.attributes].some((a) => a.value.includes('plain secret'))).toBe(false);
  });
});
