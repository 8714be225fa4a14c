/**
 * Every state of <aegis-guard>, visible and styled: idle, loading (progress with percent and bytes),
 * checking, allowed (with badges), blocked (plain-words categories, show anyway), error (reason, retry).
 */
import { describe, expect, test } from 'vitest';
import { ModelLoadError } from '../../src/core/errors.js';
import type { AegisErrorEvent, AegisProgressEvent } from '../../src/element/events/events.js';
import { mount, nextEvent, part, settledAs, shadowText, testGuard } from './element-fixtures.js';

describe('states', () => {
  test('idle: no text means nothing to judge and nothing rendered', async () => {
    const { guard, stats } = testGuard();
    const el = mount({ guard });
    await el.updateComplete;
    expect(el.state).toBe('idle');
    expect(part(el, 'base')!.childElementCount).toBe(0);
    el.text = '   ';
    await el.updateComplete;
    expect(el.state).toBe('idle');
    expect((await stats()).completions).toBe(0);
  });

  test('loading: a progress bar with percent and downloaded/total bytes while the model downloads', async () => {
    const { guard } = testGuard({ model: '/__fixtures/slow-load/' });
    const el = mount({ guard, text: 'hello' });
    await el.updateComplete;
    expect(el.state).toBe('loading');
    expect(el.getAttribute('state')).toBe('loading');
    // Wait for a report with bytes past zero, then for the render that shows it.
    let event: AegisProgressEvent;
    do event = await nextEvent<AegisProgressEvent>(el, 'aegis-progress');
    while (!(event.detail.progress.loadedBytes! > 0 && event.detail.progress.phase === 'fetching'));
    await el.updateComplete;
    const bar = part(el, 'progress')!;
    expect(bar.getAttribute('role')).toBe('progressbar');
    const percent = Math.round(event.detail.progress.progress * 100);
    expect(bar.getAttribute('aria-valuenow')).toBe(String(percent));
    expect(part(el, 'progress-indicator')!.style.inlineSize).toBe(`${percent}%`);
    expect(part(el, 'progress-label')!.textContent).toMatch(new RegExp(`${percent}% \\(.+ of .+\\)`));
    expect(part(el, 'progress-label')!.textContent).toContain('kB');
    expect(shadowText(el)).toContain('Loading the safety model');
    expect(shadowText(el)).not.toContain('hello');
    await settledAs(el, 'allowed');
    expect(part(el, 'progress')).toBeNull();
  });

  test('checking: a status line, and the text is nowhere in the DOM yet', async () => {
    const { guard } = testGuard();
    await guard.ready;
    const el = mount({ guard, text: 'slow one [[delay:400]]' });
    await el.updateComplete;
    expect(el.state).toBe('checking');
    expect(part(el, 'status')!.textContent).toContain('Checking this message');
    expect(part(el, 'base')!.getAttribute('aria-busy')).toBe('true');
    expect(el.shadowRoot!.innerHTML).not.toContain('slow one');
    expect(el.innerHTML).toBe('');
    await settledAs(el, 'allowed');
    expect(part(el, 'base')!.getAttribute('aria-busy')).toBe('false');
  });

  test('an assistant message says it checks a reply', async () => {
    const { guard } = testGuard();
    await guard.ready;
    const el = mount({ guard, role: 'assistant', prompt: 'hi', text: 'reply [[delay:300]]' });
    await el.updateComplete;
    expect(part(el, 'status')!.textContent).toContain('Checking this reply');
    await settledAs(el, 'allowed');
  });

  test('allowed: content shown; the badge only with the badge attribute', async () => {
    const { guard } = testGuard();
    const el = mount({ guard, text: 'Bread needs flour, water, salt and yeast.' });
    await settledAs(el, 'allowed');
    expect(part(el, 'content')!.textContent).toBe('Bread needs flour, water, salt and yeast.');
    expect(part(el, 'badge')).toBeNull();
    expect(el.matches(':state(allowed)')).toBe(true);
    expect(el.verdict).toMatchObject({ safe: true, target: 'prompt', source: 'model' });
    el.badge = true;
    await el.updateComplete;
    expect(part(el, 'badge')!.textContent).toBe('Checked');
  });

  test('fail-mode="open": a failed check shows the message badged "Not checked"', async () => {
    const { guard } = testGuard({ failMode: 'open' });
    const el = mount({ guard, text: 'anything [[fault:engine]]', badge: true });
    await settledAs(el, 'allowed');
    expect(part(el, 'badge')!.textContent).toBe('Not checked');
    expect(el.verdict).toMatchObject({ safe: true, source: 'failure' });
  });

  test('blocked: the categories in plain words, "Show anyway" reveals, "Hide" hides again', async () => {
    const { guard } = testGuard();
    const el = mount({ guard, text: 'the secret plan [[unsafe:Violence, Threat, Criminal Planning/Confessions]]' });
    await settledAs(el, 'blocked');
    expect(el.matches(':state(blocked)')).toBe(true);
    expect(part(el, 'placeholder-message')!.textContent).toBe(
      'This message is hidden because it may contain violence, threats, and criminal planning or confessions.',
    );
    expect(shadowText(el)).not.toContain('the secret plan');
    part(el, 'reveal-button')!.click();
    await el.updateComplete;
    expect(part(el, 'content')!.textContent).toContain('the secret plan');
    expect(part(el, 'revealed-notice')!.textContent).toContain('Shown anyway');
    expect(el.state).toBe('blocked');
    part(el, 'hide-button')!.click();
    await el.updateComplete;
    expect(part(el, 'content')).toBeNull();
    expect(shadowText(el)).not.toContain('the secret plan');
  });

  test('blocked with an unknown or custom category shows the name the model gave', async () => {
    const { guard } = testGuard({ categories: [{ name: 'Competitor Mentions' }] });
    const el = mount({ guard, text: '[[unsafe:Competitor Mentions, Made Up Thing]]' });
    await settledAs(el, 'blocked');
    expect(part(el, 'placeholder-message')!.textContent).toContain('Competitor Mentions and Made Up Thing');
  });

  test('no-reveal removes the "Show anyway" control, and reveal() does nothing', async () => {
    const { guard } = testGuard();
    const el = mount({ guard, text: 'x [[unsafe]]' }, { attrs: { 'no-reveal': '' } });
    await settledAs(el, 'blocked');
    expect(part(el, 'reveal-button')).toBeNull();
    el.reveal();
    await el.updateComplete;
    expect(part(el, 'content')).toBeNull();
  });

  test('error: a fail-closed placeholder with the reason and a retry that checks again', async () => {
    const { guard, stats } = testGuard();
    const el = mount({ guard, text: 'never shown [[fault:engine]]' });
    await settledAs(el, 'error');
    expect(el.matches(':state(error)')).toBe(true);
    expect(part(el, 'error-reason')!.textContent).toBe('This message is hidden because the safety check could not run: the safety model failed.');
    expect(el.error?.code).toBe('engine-failed');
    expect(shadowText(el)).not.toContain('never shown');
    const before = (await stats()).completions;
    const again = nextEvent<AegisErrorEvent>(el, 'aegis-error');
    part(el, 'retry-button')!.click();
    await again;
    expect((await stats()).completions).toBe(before + 1);
    await settledAs(el, 'error');
  });

  test('error after a failed load: the reason names the model; a later successful load re-checks by itself', async () => {
    const { guard } = testGuard({ model: '/__fixtures/fail-load/' });
    const el = mount({ guard, text: 'hello' });
    await settledAs(el, 'error');
    expect(el.error).toBeInstanceOf(ModelLoadError);
    expect(part(el, 'error-reason')!.textContent).toContain('the safety model could not be loaded.');
    await guard.reload('/__fixtures/scripted-model/');
    await settledAs(el, 'allowed');
    expect(part(el, 'content')!.textContent).toBe('hello');
  });

  test('retry after a failed load reloads the model', async () => {
    const { guard, stats } = testGuard({ model: '/__fixtures/fail-load/' });
    const el = mount({ guard, text: 'hello' });
    await settledAs(el, 'error');
    const loads: string[] = [];
    guard.on('progress', (p) => loads.push(p.phase));
    part(el, 'retry-button')!.click();
    await expect.poll(() => loads.includes('fetching')).toBe(true);
    await settledAs(el, 'error');
    expect((await stats()).loads).toBe(0);
  });

  test('unreadable model output is an error with its own plain reason', async () => {
    const { guard } = testGuard();
    const el = mount({ guard, text: '[[raw:I think this is fine]]' });
    await settledAs(el, 'error');
    expect(part(el, 'error-reason')!.textContent).toContain('the safety model gave an unreadable answer.');
  });

  test('a role that is neither user nor assistant is an input error, shown fail-closed', async () => {
    const { guard } = testGuard();
    const el = mount({ guard, text: 'hello' }, { attrs: { role: 'system' } });
    await settledAs(el, 'error');
    expect(el.error?.code).toBe('invalid-input');
    expect(shadowText(el)).not.toContain('hello');
  });

  test('the state is reflected as an attribute for styling', async () => {
    const { guard } = testGuard();
    const el = mount({ guard, text: 'hi' });
    await settledAs(el, 'allowed');
    expect(el.getAttribute('state')).toBe('allowed');
    el.text = 'now bad [[unsafe]]';
    await settledAs(el, 'blocked');
    expect(el.getAttribute('state')).toBe('blocked');
  });
});
