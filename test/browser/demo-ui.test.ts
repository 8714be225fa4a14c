/**
 * The demo UI (the real `mountDemo`, as the shipped page mounts it) over a test guard: prompts are checked
 * before they are sent, replies before they are shown, the side panel reports each verdict, and the model
 * panel reports loading, readiness and failure. Screenshots of the allowed, blocked, loading and error states
 * are taken every run and written to test/__screenshots__/demo-*.png with UPDATE_SCREENSHOTS=1.
 */
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { page } from 'vitest/browser';
import { type DemoHandle, mountDemo } from '../../demo/demo-app.js';
import type { AegisGuardElement } from '../../src/element/aegis-guard.js';
import { createGuard } from '../../src/client/create-guard.js';
import type { Guard } from '../../src/client/types.js';

declare const __UPDATE_SCREENSHOTS__: boolean;
import { createTestGuard, type TestGuard } from '../helpers/test-guard.js';

let root: HTMLElement;
let handle: DemoHandle | undefined;
let current: TestGuard | undefined;
/** A guard over the real WebLLM engine, when a test uses one. */
let real: Guard | undefined;

beforeEach(async () => {
  await page.viewport(1280, 720);
  root = document.createElement('div');
  document.body.append(root);
});

afterEach(() => {
  handle?.dispose();
  root.remove();
  current?.guard.dispose();
  real?.dispose();
  handle = current = real = undefined;
  document.documentElement.style.colorScheme = '';
});

function mount(model = '/__fixtures/scripted-model/'): TestGuard {
  current = createTestGuard({ model });
  handle = mountDemo(root, { guard: current.guard, model: { kind: 'url', url: model }, wordDelayMs: 5 });
  return current;
}

const $ = <T extends Element = HTMLElement>(selector: string) => root.querySelector<T>(selector);
const $$ = (selector: string) => [...root.querySelectorAll<HTMLElement>(selector)];
const guards = () => $$('aegis-guard') as AegisGuardElement[];
const text = (selector: string) => $(selector)?.textContent?.replace(/\s+/g, ' ').trim() ?? '';

async function sendPrompt(value: string): Promise<AegisGuardElement> {
  const field = $<HTMLTextAreaElement>('textarea[name="prompt"]')!;
  field.value = value;
  $<HTMLButtonElement>('form.prompt button[type="submit"]')!.click();
  await expect.poll(() => guards().length).toBeGreaterThan(0);
  return guards().at(-1)!;
}

async function typeReply(value: string): Promise<AegisGuardElement> {
  const before = guards().length;
  $<HTMLTextAreaElement>('textarea[name="reply"]')!.value = value;
  $<HTMLButtonElement>('form.reply button[type="submit"]')!.click();
  await expect.poll(() => guards().length).toBe(before + 1);
  return guards().at(-1)!;
}

async function streamCanned(id: string): Promise<AegisGuardElement> {
  const before = guards().length;
  $<HTMLSelectElement>('select[name="canned"]')!.value = id;
  [...root.querySelectorAll<HTMLButtonElement>('form.reply button')].find((b) => b.textContent === 'Stream it')!.click();
  await expect.poll(() => guards().length).toBe(before + 1);
  return guards().at(-1)!;
}

async function settled(el: AegisGuardElement, state: string) {
  await expect.poll(() => el.state, { timeout: 20_000 }).toBe(state);
  await el.updateComplete;
  // Let the demo re-render and the frame paint before anything is measured or captured.
  await new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
}

async function screenshot(name: string) {
  // The test browser's window is 1280x720 and only that much of the iframe is painted: the demo is drawn at
  // 80% so all three columns fit, then the iframe is captured.
  // Anything taller than the window is cut off rather than captured as an unpainted blank area.
  root.style.cssText = 'zoom: 0.8; max-height: 900px; overflow: hidden;';
  window.scrollTo(0, 0);
  await new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
  if (__UPDATE_SCREENSHOTS__) await page.screenshot({ path: `../__screenshots__/${name}.png` });
  else expect((await page.screenshot({ save: false })).length).toBeGreaterThan(1000);
  root.style.cssText = '';
}

describe('the demo', () => {
  test('allowed: a prompt is sent once allowed; a streamed reply is shown; the panels report it all', async () => {
    mount();
    await expect.poll(() => text('.model-status')).toContain('Ready');
    expect(text('.model-panel')).toContain('q4f32_1');
    expect(text('.model-panel')).toContain('swiftshader');
    expect(text('.model-panel')).toMatch(/shader-f16 ?no/);
    const prompt = await sendPrompt('How do I bake a simple loaf of bread?');
    await settled(prompt, 'allowed');
    await expect.poll(() => text('.delivery')).toBe('Sent');
    expect($<HTMLFieldSetElement>('form.reply fieldset')!.disabled).toBe(false);
    const reply = await streamCanned('bread');
    await settled(reply, 'allowed');
    expect(reply.shadowRoot!.textContent).toContain('Knead for ten minutes');
    // One log entry for the prompt, one or more for the reply's chunks; each with timings and tokens.
    const entries = $$('.log-entry');
    expect(entries.length).toBeGreaterThanOrEqual(2);
    expect(entries.every((e) => e.classList.contains('allowed'))).toBe(true);
    expect(text('.log-entry:last-child')).toMatch(/#1 prompt.*Allowed.*Categories none.*P\(unsafe\) not reported by this engine.*total .* ms.*Tokens \d+ in · \d+ out.*Source model/);
    expect(text('.log')).toContain('#2 reply, characters 0–');
    await screenshot('demo-allowed');
  });

  test('blocked: an unsafe prompt is not sent; an unsafe reply is hidden, with its categories in the panel', async () => {
    mount();
    const bad = await sendPrompt('Tell me how to hurt my neighbour [[unsafe:Violence, Threat]]');
    await settled(bad, 'blocked');
    await expect.poll(() => text('.delivery')).toBe('Not sent: the guard blocked it');
    // Not sent, so not lost: the message is back in the box, to edit or drop.
    expect($<HTMLTextAreaElement>('textarea[name="prompt"]')!.value).toBe('Tell me how to hurt my neighbour [[unsafe:Violence, Threat]]');
    $<HTMLTextAreaElement>('textarea[name="prompt"]')!.value = '';
    expect($<HTMLFieldSetElement>('form.reply fieldset')!.disabled).toBe(true);
    expect(text('form.reply legend')).toContain('the last message was not sent');
    expect(bad.shadowRoot!.textContent).toContain('violence and threats');
    expect(bad.shadowRoot!.textContent).not.toContain('hurt my neighbour');

    const ok = await sendPrompt('What do you think of my new haircut?');
    await settled(ok, 'allowed');
    expect($<HTMLTextAreaElement>('textarea[name="prompt"]')!.value).toBe('');
    const reply = await typeReply('Honestly, you look ridiculous and everyone laughs at you. [[unsafe:Harassment]]');
    await settled(reply, 'blocked');
    expect(reply.shadowRoot!.textContent).toContain('harassment');
    expect(root.textContent).not.toContain('you look ridiculous');
    const blockedEntries = $$('.log-entry.blocked').map((e) => e.textContent!.replace(/\s+/g, ' '));
    expect(blockedEntries.some((t) => t.includes('S1 Violence, S11 Threat'))).toBe(true);
    expect(blockedEntries.some((t) => t.includes('S10 Harassment'))).toBe(true);
    await screenshot('demo-blocked');
    document.documentElement.style.colorScheme = 'dark';
    await new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
    await screenshot('demo-blocked-dark');
  });

  test('loading: the model panel and each waiting message show download progress', async () => {
    mount('/__fixtures/hang-load/');
    await expect.poll(() => text('.load-progress')).toContain('Downloading');
    expect(text('.load-progress')).toMatch(/0% · 0\.0 kB of 1\.0 kB/);
    const waiting = await sendPrompt('Is it going to rain tomorrow?');
    await expect.poll(() => waiting.state).toBe('loading');
    await waiting.updateComplete;
    expect(waiting.shadowRoot!.querySelector('[part~="progress"]')).not.toBeNull();
    expect(waiting.shadowRoot!.textContent).not.toContain('rain tomorrow');
    expect(text('.delivery')).toBe('Checking before sending…');
    expect(text('form.reply legend')).toBe('Assistant reply (waiting for #1 to be checked)');
    // It joined after the last report: an indeterminate bar, not an invented percentage.
    expect(waiting.shadowRoot!.querySelector('[part~="progress"]')!.hasAttribute('aria-valuenow')).toBe(false);
    await new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
    await screenshot('demo-loading');
  });

  test('error: with no model the panel says so and how to get one; messages stay hidden, never judged', async () => {
    const { stats } = mount('/__fixtures/fail-load/');
    await expect.poll(() => text('.model-status')).toContain('No model is loaded.');
    expect(text('.model-status')).toContain('/__fixtures/fail-load/mlc-chat-config.json');
    expect(text('.model-status')).toContain('never makes up a verdict');
    expect(text('.how-to')).toContain('npm run build-model -- --base meta-llama/Llama-3.1-8B-Instruct');
    expect(text('.how-to')).toContain('--quantization q4f32_1 --out demo/public/models/aegis-guard-2.0-q4f32_1');
    const prompt = await sendPrompt('Hello there, can you help me plan a trip?');
    await settled(prompt, 'error');
    expect(text('.delivery')).toBe('Not sent: it could not be checked');
    expect(prompt.shadowRoot!.textContent).not.toContain('plan a trip');
    expect(text('.log-entry')).toContain('Check failed: hidden');
    expect(text('.log-entry')).toContain('model-load-failed');
    // The check never reached the model: no prefill or decode time is reported for it.
    expect(text('.log-entry')).toContain('the model did not run');
    expect(text('.log-entry')).not.toMatch(/prefill|decode/);
    // The message stays in the box, and a second failure beside the first says which message it is.
    const field = $<HTMLTextAreaElement>('textarea[name="prompt"]')!;
    await expect.poll(() => field.value).toBe('Hello there, can you help me plan a trip?');
    const second = await sendPrompt('And a second question.');
    await settled(second, 'error');
    const reason = (el: AegisGuardElement) => el.shadowRoot!.querySelector('[part~="error-reason"]')!.textContent;
    expect(reason(prompt)).toMatch(/^Your message #1 is hidden because/);
    expect(reason(second)).toMatch(/^Your message #2 is hidden because/);
    expect((await stats()).completions).toBe(0);
    await screenshot('demo-error');
  });

  test('loading another model from the panel recovers messages that could not be judged', async () => {
    mount('/__fixtures/fail-load/');
    const prompt = await sendPrompt('Good morning!');
    await settled(prompt, 'error');
    const url = $<HTMLInputElement>('#model-url')!;
    url.value = '/__fixtures/scripted-model/';
    $<HTMLButtonElement>('.url-form button')!.click();
    await expect.poll(() => text('.model-status')).toContain('Ready');
    await settled(prompt, 'allowed');
    expect(text('.delivery')).toBe('Sent');
    expect(text('.model-source')).toBe('/__fixtures/scripted-model/');
  });

  test('progress says what is happening: after the GPU check, the model files are checked (not "Checking the GPU: 20%")', async () => {
    // The shipped worker and the WebLLM engine: its preflight checks WebGPU, then fetches and checks each file.
    const guard = createGuard({ model: { weightsUrl: '/__fixtures/models/aegis-fixture-{variant}/', modelLibUrl: '/__fixtures/models/libs/not-wasm.wasm' } });
    real = guard;
    handle = mountDemo(root, { guard, model: { kind: 'url', url: '/__fixtures/models/aegis-fixture-{variant}/' } });
    const seen: Array<{ phase: string; progress: number; shown: string }> = [];
    // Subscribed after the demo, so the demo has rendered each report when this listener runs.
    guard.on('progress', (p) => seen.push({ phase: p.phase, progress: p.progress, shown: text('.progress-text') }));
    await guard.ready.catch(() => undefined);
    const files = seen.filter((e) => e.phase === 'preflight' && e.progress > 0);
    expect(files.length).toBeGreaterThan(0);
    for (const e of files) expect(e.shown).toMatch(/^Checking the model files \d+%/);
    expect(seen.filter((e) => e.shown.startsWith('Checking the GPU')).every((e) => e.progress === 0)).toBe(true);
  });

  test('one <main> landmark holds the chat and the panels; the header is outside it', async () => {
    mount();
    const main = root.querySelectorAll('main');
    expect(main).toHaveLength(1);
    expect(main[0]!.querySelector('.chat')).not.toBeNull();
    expect(main[0]!.querySelector('.model-panel')).not.toBeNull();
    expect(main[0]!.contains(root.querySelector('.demo-header'))).toBe(false);
  });

  test('Enter in the prompt field sends; Shift+Enter does not', async () => {
    mount();
    const field = $<HTMLTextAreaElement>('textarea[name="prompt"]')!;
    field.value = 'first line';
    field.dispatchEvent(new KeyboardEvent('keydown', { key: 'Enter', shiftKey: true, bubbles: true, cancelable: true }));
    expect(guards()).toHaveLength(0);
    field.dispatchEvent(new KeyboardEvent('keydown', { key: 'Enter', bubbles: true, cancelable: true }));
    await expect.poll(() => guards().length).toBe(1);
    await settled(guards()[0]!, 'allowed');
  });
});

/**
 * Resolves once the onerror handler of any payload image made so far (in the page or detached, where it still
 * loads) has run. An `<img src="">` fails without a fetch: its error event is a task queued when the image is
 * created (HTML's "update the image data"), so a probe made after it, after the next frame was rendered,
 * fails after it. (Its `src=x` twin waits on the network, so it alone could not be waited for.)
 */
async function afterPayloadImages(): Promise<void> {
  await new Promise((r) => requestAnimationFrame(r));
  await new Promise<void>((resolve) => {
    const probe = new Image();
    probe.onerror = probe.onload = () => resolve();
    probe.src = '';
  });
}

describe('the demo and untrusted text', () => {
  const PAYLOAD = `<img src=x onerror="window.__demoXss='img'"><img src="" onerror="window.__demoXss='img'"><script>window.__demoXss='script'</script><a href="javascript:window.__demoXss='a'">x</a>`;

  afterEach(() => delete (window as { __demoXss?: string }).__demoXss);

  test('message text with HTML and script renders as text and runs nothing, in the chat and the panels', async () => {
    mount();
    const prompt = await sendPrompt(PAYLOAD);
    await settled(prompt, 'allowed');
    const content = prompt.shadowRoot!.querySelector('[part~="content"]')!;
    expect(content.textContent).toBe(PAYLOAD);
    expect(root.querySelectorAll('img, script:not([type]), a[href^="javascript"]')).toHaveLength(0);
    expect(prompt.shadowRoot!.querySelectorAll('img, script, a')).toHaveLength(0);
    const reply = await typeReply(PAYLOAD);
    await settled(reply, 'allowed');
    expect(reply.shadowRoot!.querySelectorAll('img, script, a')).toHaveLength(0);
    // The log never repeats message text.
    expect(text('.log')).not.toContain('onerror');
    await afterPayloadImages();
    expect((window as { __demoXss?: string }).__demoXss).toBeUndefined();
  });

  test('a model URL with markup is shown as text in the failure message', async () => {
    mount('/__fixtures/scripted-model/');
    const url = $<HTMLInputElement>('#model-url')!;
    url.value = `/__fixtures/fail-load/<img src=x onerror="window.__demoXss='url'">/`;
    $<HTMLButtonElement>('.url-form button')!.click();
    await expect.poll(() => text('.model-status')).toContain('No model is loaded.');
    expect(root.querySelectorAll('.model-panel img')).toHaveLength(0);
    expect((window as { __demoXss?: string }).__demoXss).toBeUndefined();
  });
});
