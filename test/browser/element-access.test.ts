/** Accessibility and labels: polite announcements, keyboard-reachable controls, replaceable words. */
import { afterEach, describe, expect, test } from 'vitest';
import { userEvent } from 'vitest/browser';
import { DEFAULT_LABELS, setDefaultLabels } from '../../src/element/labels.js';
import { mount, part, settledAs, testGuard } from './element-fixtures.js';

const liveRegion = (el: HTMLElement) => el.shadowRoot!.querySelector('[aria-live]')!;

afterEach(() => setDefaultLabels({}));

describe('announcements', () => {
  test('verdicts are announced through a polite live region', async () => {
    const { guard } = testGuard();
    const ok = mount({ guard, text: 'hello' });
    const bad = mount({ guard, text: 'x [[unsafe:Harassment]]' });
    const broken = mount({ guard, text: 'y [[fault:engine]]' });
    await ok.updateComplete;
    expect(liveRegion(ok).getAttribute('aria-live')).toBe('polite');
    expect(liveRegion(ok).getAttribute('role')).toBe('status');
    expect(liveRegion(ok).textContent).toBe('');
    await settledAs(ok, 'allowed');
    await settledAs(bad, 'blocked');
    await settledAs(broken, 'error');
    expect(liveRegion(ok).textContent).toBe('Message checked and shown.');
    expect(liveRegion(bad).textContent).toBe('Message hidden: it may contain harassment.');
    expect(liveRegion(broken).textContent).toBe('Message hidden: the safety check could not run: the safety model failed.');
  });

  test('announce="problems" stays quiet for allowed messages; "none" announces nothing', async () => {
    const { guard } = testGuard();
    const quiet = mount({ guard, text: 'hello' }, { attrs: { announce: 'problems' } });
    const flagged = mount({ guard, text: 'x [[unsafe]]' }, { attrs: { announce: 'problems' } });
    const silent = mount({ guard, text: 'z [[unsafe]]' }, { attrs: { announce: 'none' } });
    await settledAs(quiet, 'allowed');
    await settledAs(flagged, 'blocked');
    await settledAs(silent, 'blocked');
    expect(liveRegion(quiet).textContent).toBe('');
    expect(liveRegion(flagged).textContent).toContain('Message hidden');
    expect(liveRegion(silent).textContent).toBe('');
  });
});

describe('telling messages apart', () => {
  test('with a label, placeholders and announcements side by side say which message each is', async () => {
    const { guard } = testGuard();
    const first = mount({ guard, text: 'a [[fault:engine]]', label: 'Message 1' });
    const second = mount({ guard, text: 'b [[fault:engine]]' }, { attrs: { label: 'Reply to message 1' } });
    const blocked = mount({ guard, text: 'c [[unsafe:Harassment]]', label: 'Message 3' });
    await settledAs(first, 'error');
    await settledAs(second, 'error');
    await settledAs(blocked, 'blocked');
    expect(part(first, 'error-reason')!.textContent).toBe('Message 1 is hidden because the safety check could not run: the safety model failed.');
    expect(part(second, 'error-reason')!.textContent).toBe('Reply to message 1 is hidden because the safety check could not run: the safety model failed.');
    expect(part(blocked, 'placeholder-message')!.textContent).toBe('Message 3 is hidden because it may contain harassment.');
    expect(liveRegion(first).textContent).toBe('Message 1 hidden: the safety check could not run: the safety model failed.');
    expect(liveRegion(blocked).textContent).toBe('Message 3 hidden: it may contain harassment.');
  });
});

describe('target size', () => {
  test('Retry, Details, "Show anyway" and "Hide" are at least 24 x 24 CSS pixels (WCAG 2.2, 2.5.8)', async () => {
    const { guard } = testGuard();
    const broken = mount({ guard, text: 'x [[fault:engine]]' });
    const flagged = mount({ guard, text: 'y [[unsafe]]' });
    await settledAs(broken, 'error');
    await settledAs(flagged, 'blocked');
    const measured: Array<{ what: string; width: number; height: number }> = [];
    const measure = (what: string, el: Element | null) => {
      expect(el, what).not.toBeNull();
      const r = el!.getBoundingClientRect();
      measured.push({ what, width: r.width, height: r.height });
    };
    measure('retry', part(broken, 'retry-button'));
    measure('details', broken.shadowRoot!.querySelector('[part~="error-details"] summary'));
    measure('show anyway', part(flagged, 'reveal-button'));
    flagged.reveal();
    await flagged.updateComplete;
    measure('hide', part(flagged, 'hide-button'));
    for (const { what, width, height } of measured) {
      expect(width, what).toBeGreaterThanOrEqual(24);
      expect(height, what).toBeGreaterThanOrEqual(24);
    }
  });
});

describe('keyboard', () => {
  test('"Show anyway", "Hide" and "Retry" are buttons reached with Tab and pressed with Enter/Space', async () => {
    const { guard } = testGuard();
    const before = document.createElement('button');
    before.textContent = 'before';
    document.body.prepend(before);
    try {
      const el = mount({ guard, text: 'flagged [[unsafe]]' });
      await settledAs(el, 'blocked');
      before.focus();
      await userEvent.keyboard('{Tab}');
      expect(el.shadowRoot!.activeElement).toBe(part(el, 'reveal-button'));
      await userEvent.keyboard('{Enter}');
      await el.updateComplete;
      expect(part(el, 'content')!.textContent).toContain('flagged');
      before.focus();
      await userEvent.keyboard('{Tab}');
      expect(el.shadowRoot!.activeElement).toBe(part(el, 'hide-button'));
      await userEvent.keyboard(' ');
      await el.updateComplete;
      expect(part(el, 'content')).toBeNull();
      el.remove();

      const failing = mount({ guard, text: '[[fault:engine]]' });
      await settledAs(failing, 'error');
      before.focus();
      await userEvent.keyboard('{Tab}');
      expect(failing.shadowRoot!.activeElement).toBe(part(failing, 'retry-button'));
    } finally {
      before.remove();
    }
  });
});

describe('labels', () => {
  test('every visible word can be replaced per element', async () => {
    const { guard } = testGuard();
    const labels = {
      blocked: (c: string[]) => `Versteckt: ${c.join(', ')}`,
      showAnyway: 'Trotzdem zeigen',
      categoryNames: { S1: 'Gewalt' },
      announceBlocked: (c: string[]) => `Nachricht versteckt (${c.join(', ')})`,
    };
    const el = mount({ guard, text: 'x [[unsafe:Violence, Threat]]', labels });
    await settledAs(el, 'blocked');
    expect(part(el, 'placeholder-message')!.textContent).toBe('Versteckt: Gewalt, threats');
    expect(part(el, 'reveal-button')!.textContent).toBe('Trotzdem zeigen');
    expect(liveRegion(el).textContent).toBe('Nachricht versteckt (Gewalt, threats)');
  });

  test('page-wide defaults with setDefaultLabels, including progress and error words', async () => {
    setDefaultLabels({
      loading: 'Modell wird geladen…',
      loadingProgress: ({ percent }) => `${percent} Prozent`,
      retry: 'Nochmal',
      errorReasons: { 'engine-failed': 'das Modell ist ausgefallen.' },
      error: (reason) => `Fehler: ${reason}`,
    });
    const { guard } = testGuard({ model: '/__fixtures/hang-load/' });
    const loading = mount({ guard, text: 'x' });
    await expect.poll(() => part(loading, 'progress-label')?.textContent ?? '').toMatch(/^\d+ Prozent$/);
    expect(part(loading, 'status')!.textContent).toContain('Modell wird geladen…');

    const other = testGuard();
    const failed = mount({ guard: other.guard, text: '[[fault:engine]]' });
    await settledAs(failed, 'error');
    expect(part(failed, 'error-reason')!.textContent).toBe('Fehler: das Modell ist ausgefallen.');
    expect(part(failed, 'retry-button')!.textContent).toBe('Nochmal');
    // Untouched labels keep their defaults.
    expect(DEFAULT_LABELS.retry).toBe('Retry');
  });
});

describe('light and dark', () => {
  test('placeholder colours follow the page colour scheme', async () => {
    const { guard } = testGuard();
    const el = mount({ guard, text: 'x [[unsafe]]' });
    await settledAs(el, 'blocked');
    const background = () => getComputedStyle(part(el, 'placeholder')!).backgroundColor;
    document.documentElement.style.colorScheme = 'light';
    const light = background();
    document.documentElement.style.colorScheme = 'dark';
    const dark = background();
    document.documentElement.style.colorScheme = '';
    expect(light).toBe('rgb(243, 244, 246)');
    expect(dark).toBe('rgb(34, 38, 44)');
  });

  test('custom properties restyle the element', async () => {
    const { guard } = testGuard();
    const el = mount({ guard, text: 'x [[unsafe]]' });
    el.style.setProperty('--aegis-guard-placeholder-background', 'rgb(1, 2, 3)');
    await settledAs(el, 'blocked');
    expect(getComputedStyle(part(el, 'placeholder')!).backgroundColor).toBe('rgb(1, 2, 3)');
  });
});
