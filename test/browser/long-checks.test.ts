/**
 * Long prompts and replies through the real client, worker and queue (scripted engine): judged in windows,
 * not refused; the length limit; cancelling and timing out a long check; a long message in <aegis-guard>.
 */
import { describe, expect, onTestFinished, test, vi } from 'vitest';
import { AegisAbortError, AegisInputError } from '../../src/core/errors.js';
import { createGuard } from '../../src/client/create-guard.js';
import type { Verdict } from '../../src/core/types.js';
import { guardPerTest } from '../helpers/guard-per-test.js';
import { between, pick, seededRandom } from '../helpers/prng.js';
import { insertAt, longText } from '../helpers/long-text.js';
import { mount, part, settledAs, testGuard } from './element-fixtures.js';

const guardWith = guardPerTest();

describe('long texts are judged in windows', () => {
  test('a 200 kB prompt: every window checked, safe, with the window count on the verdict', async () => {
    const { guard, stats } = guardWith();
    const verdict = await guard.checkPrompt(longText(200_000, 51));
    expect(verdict).toMatchObject({ safe: true, source: 'model', unsafeSpans: [] });
    expect(verdict.windows).toBeGreaterThan(10);
    expect((await stats()).completions).toBe(verdict.windows);
  });

  test('unsafe text in the middle of a 200 kB reply blocks, and its span is reported', async () => {
    const { guard } = guardWith();
    const reply = insertAt(longText(200_000, 52), 100_000, ' [[unsafe:Violence]] ');
    const verdict = await guard.checkResponse('Summarise the report.', reply);
    expect(verdict).toMatchObject({ safe: false, categories: [{ code: 'S1', name: 'Violence' }] });
    const at = reply.indexOf('[[unsafe');
    expect(verdict.unsafeSpans).toEqual([{ start: expect.any(Number), end: expect.any(Number) }]);
    expect(verdict.unsafeSpans![0]!.start).toBeLessThanOrEqual(at);
    expect(verdict.unsafeSpans![0]!.end).toBeGreaterThan(at);
  });

  test('a repeated long check is answered from the cache, windows and spans included', async () => {
    const { guard } = guardWith();
    const text = insertAt(longText(60_000, 53), 59_000, ' [[unsafe]] ');
    const first = await guard.checkPrompt(text);
    const again = await guard.checkPrompt(text);
    expect(again).toMatchObject({ source: 'cache', safe: false, windows: first.windows, unsafeSpans: first.unsafeSpans });
  });
});

describe('limits', () => {
  test('a text over maxInputChars is not judged and blocks with input-too-long, even failing open', async () => {
    const { guard, stats } = guardWith({ maxInputChars: 1000, failMode: 'open' });
    const verdict = await guard.checkPrompt('x'.repeat(1001));
    expect(verdict).toMatchObject({ safe: false, source: 'failure', failure: { code: 'input-too-long' } });
    expect(verdict.failure!.message).toContain('1,001 characters');
    expect((await guard.checkPrompt('x'.repeat(1000))).safe).toBe(true);
    expect((await stats()).completions).toBe(1);
  });

  test('an over-long text is refused on the page: never sent to the worker, reported like any verdict', async () => {
    const random = seededRandom(61);
    // Every message the page posts to a worker, passed on unchanged.
    const posted = vi.spyOn(Worker.prototype, 'postMessage');
    onTestFinished(() => posted.mockRestore());
    const sent = () => posted.mock.calls.map(([message]) => message as unknown);
    const { guard, stats } = guardWith({ maxInputChars: 500, failMode: 'open', eager: false });
    const emitted: Verdict[] = [];
    guard.on('verdict', (v) => emitted.push(v));
    const refused: Verdict[] = [];
    const texts: string[] = [];
    for (let i = 0; i < 6; i++) {
      const long = `${i}:${'y'.repeat(between(random, 500, 4000))}`;
      texts.push(long);
      const which = pick(random, ['prompt', 'reply', 'both'] as const);
      refused.push(
        await (which === 'prompt'
          ? guard.checkPrompt(long)
          : guard.checkResponse(which === 'both' ? long : 'short question', long)),
      );
    }
    for (const v of refused) expect(v).toMatchObject({ safe: false, source: 'failure', failure: { code: 'input-too-long' } });
    expect(emitted).toEqual(refused);
    expect(sent()).toHaveLength(0);
    // Within the limit, the worker is asked, and no refused text ever reached it.
    expect((await guard.checkPrompt('y'.repeat(500))).source).toBe('model');
    expect((await stats()).completions).toBe(1);
    const wire = JSON.stringify(sent());
    for (const text of texts) expect(wire).not.toContain(text);
  });

  test('createGuard rejects a nonsense maxInputChars', () => {
    for (const value of [0, -5, 2.5, Number.NaN]) expect(() => createGuard({ maxInputChars: value, eager: false })).toThrow(AegisInputError);
  });

  test('the timeout covers the whole long check, not each window', async () => {
    const { guard } = guardWith({ timeout: 400 });
    // Every window waits 150 ms: each alone is well within the timeout, all of them together are not.
    let text = longText(120_000, 54);
    for (let at = 4_000; at < text.length; at += 4_000) text = insertAt(text, at, ' [[delay:150]] ');
    const verdict = await guard.checkPrompt(text);
    expect(verdict).toMatchObject({ safe: false, source: 'failure', failure: { code: 'timeout' } });
  });

  test('a cancelled long check stops at the next window; the guard goes on', async () => {
    const { guard, stats } = guardWith();
    let text = longText(200_000, 55);
    for (let at = 4_000; at < text.length; at += 4_000) text = insertAt(text, at, ' [[delay:50]] ');
    const controller = new AbortController();
    const pending = guard.checkPrompt(text, { signal: controller.signal });
    await expect.poll(async () => (await stats()).completions, { timeout: 20_000 }).toBeGreaterThanOrEqual(2);
    controller.abort();
    await expect(pending).rejects.toBeInstanceOf(AegisAbortError);
    const atCancel = (await stats()).completions;
    // The next check runs after the cancelled one has stopped (one check at a time).
    expect((await guard.checkPrompt('and now something short')).safe).toBe(true);
    expect((await stats()).completions).toBeLessThanOrEqual(atCancel + 2);
  });
});

describe('<aegis-guard> with a long message', () => {
  const verdictOf = (el: HTMLElement) => new Promise<Verdict>((resolve) => el.addEventListener('aegis-verdict', (e) => resolve(e.detail.verdict), { once: true }));

  test('a long text is judged in windows and shown; one with unsafe text near its end is blocked', async () => {
    const { guard } = testGuard();
    const safe = mount({ guard, text: longText(80_000, 56) });
    const safeVerdict = verdictOf(safe);
    await settledAs(safe, 'allowed');
    expect((await safeVerdict).windows).toBeGreaterThan(3);
    const unsafe = mount({ guard, text: insertAt(longText(80_000, 57), 79_000, ' [[unsafe]] ') });
    const unsafeVerdict = verdictOf(unsafe);
    await settledAs(unsafe, 'blocked');
    expect((await unsafeVerdict).unsafeSpans).toHaveLength(1);
  });

  test('a long slotted message is judged in windows as well', async () => {
    const { guard } = testGuard();
    const paragraphs = longText(40_000, 58).split('\n\n').map((p) => `<p>${p.replace(/[<>&]/g, ' ')}</p>`);
    const el = mount({ guard }, { html: paragraphs.join('') });
    const verdict = verdictOf(el);
    await settledAs(el, 'allowed');
    expect((await verdict).windows).toBeGreaterThan(1);
  });

  test('shown anyway, a long message marks the stretches found unsafe, as text', async () => {
    const { guard } = testGuard();
    const payload = ' [[unsafe]] <img src="" onerror="window.__spanXss=1"> ';
    const text = insertAt(longText(60_000, 59), 30_000, payload);
    const el = mount({ guard, text });
    const verdict = verdictOf(el);
    await settledAs(el, 'blocked');
    const spans = (await verdict).unsafeSpans!;
    expect(part(el, 'content')).toBeNull();
    part(el, 'reveal-button')!.click();
    await el.updateComplete;
    const content = part(el, 'content')!;
    expect(content.textContent).toBe(text);
    const marks = [...content.querySelectorAll('mark[part="unsafe-span"]')];
    expect(marks.map((m) => m.textContent)).toEqual(spans.map((s) => text.slice(s.start, s.end)));
    expect(marks.some((m) => m.textContent!.includes(payload.trim()))).toBe(true);
    expect(content.querySelector('img')).toBeNull();
    expect(marks.map((m) => getComputedStyle(m).backgroundColor)).not.toContain('rgba(0, 0, 0, 0)');
  });

  test('a block vetoed by the page marks the unsafe stretches too; a one-window message marks nothing', async () => {
    const { guard } = testGuard();
    const text = insertAt(longText(60_000, 60), 59_000, ' [[unsafe]] ');
    const vetoed = mount({ guard, text });
    vetoed.addEventListener('aegis-block', (e) => e.preventDefault());
    await settledAs(vetoed, 'allowed');
    expect(part(vetoed, 'content')!.querySelectorAll('mark')).toHaveLength(1);

    const short = mount({ guard, text: 'A short unsafe message [[unsafe]]' });
    await settledAs(short, 'blocked');
    part(short, 'reveal-button')!.click();
    await short.updateComplete;
    expect(part(short, 'content')!.textContent).toBe('A short unsafe message [[unsafe]]');
    expect(part(short, 'content')!.querySelectorAll('mark')).toHaveLength(0);
  });
});
