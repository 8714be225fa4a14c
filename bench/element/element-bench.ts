/**
 * Mounts a 500-message chat history of `<aegis-guard>` elements over the real guard stack (client, worker,
 * Comlink, queue) with the scripted engine, and records main-thread long tasks (> 50 ms, PerformanceObserver
 * 'longtask') from the moment the history is appended until every message has settled.
 *
 * Scenarios: text given as a property (user/assistant pairs linked with `for`), slotted content, lazy
 * messages in a scroll box (only those near the viewport are judged), and a history mounted while the model
 * is still loading (500 progress bars updated by every progress report).
 */
import '../../src/element/define.js';
import type { AegisGuardElement } from '../../src/element/aegis-guard.js';
import type { Guard } from '../../src/client/types.js';
import { createTestGuard } from '../../test/helpers/test-guard.js';
import { publishBenchResult } from '../page-result.js';

const MESSAGES = 500;
const SETTLED = new Set(['allowed', 'blocked', 'error']);

interface LongTask {
  start: number;
  ms: number;
}
const longTasks: LongTask[] = [];
new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) longTasks.push({ start: entry.startTime, ms: entry.duration });
}).observe({ type: 'longtask', buffered: true });

/** Resolves at the start of the next task: everything the current task queued as microtasks has run. */
const nextTask = () =>
  new Promise<void>((resolve) => {
    const channel = new MessageChannel();
    channel.port1.onmessage = () => resolve();
    channel.port2.postMessage(null);
  });

const frame = () => new Promise<void>((resolve) => requestAnimationFrame(() => resolve()));

function message(i: number, run: string): { role: 'user' | 'assistant'; text: string } {
  const role = i % 2 === 0 ? 'user' : 'assistant';
  // One message in 25 is flagged, so blocked placeholders are part of the history too.
  const flagged = i % 25 === 7 ? ' [[unsafe:Violence]]' : '';
  const text =
    role === 'user'
      ? `Question ${i} of run ${run}: how long should bread dough rise at room temperature?${flagged}`
      : `Answer ${i} of run ${run}: usually one to two hours, until it has doubled in size; a cooler kitchen takes longer.${flagged}`;
  return { role, text };
}

function build(run: string, guard: Guard, how: 'text' | 'slot', lazy: boolean): AegisGuardElement[] {
  return Array.from({ length: MESSAGES }, (_, i) => {
    const { role, text } = message(i, run);
    const el = document.createElement('aegis-guard');
    el.guard = guard;
    el.id = `${run}-${i}`;
    el.role = role;
    el.lazy = lazy;
    el.announce = 'problems';
    if (role === 'assistant') el.htmlFor = `${run}-${i - 1}`;
    if (how === 'text') el.text = text;
    else el.innerHTML = `<p>${text.replace(/</g, '&lt;')}</p>`;
    return el;
  });
}

/** Within one height of the visible area (the viewport or a scroll box): where lazy messages are judged (visibility.ts). */
function isNearViewport(el: Element, area: { top: number; bottom: number } = { top: 0, bottom: innerHeight }): boolean {
  const box = el.getBoundingClientRect();
  const height = area.bottom - area.top;
  return box.bottom > area.top - height && box.top < area.bottom + height;
}

export interface ScenarioResult {
  name: string;
  messages: number;
  /** The host's append task plus the microtasks it queued (first renders, checks started). */
  mountTaskMs: number;
  /** Append to every judged message settled. */
  settleMs: number;
  settled: number;
  blocked: number;
  longTasks: { count: number; maxMs: number; totalMs: number };
}

async function scenario(
  name: string,
  options: {
    how: 'text' | 'slot';
    lazy?: boolean;
    /** The history sits in a 600px scroll box, as in most chat UIs (default: the page scrolls). */
    scrollBox?: boolean;
    model?: string;
    /** The page lets the browser skip rendering off-screen messages (CSS content-visibility). */
    contentVisibility?: boolean;
    /** The messages that must settle, asked again every frame (lazy ones depend on layout). Default: all. */
    expectSettled?: (els: AegisGuardElement[]) => AegisGuardElement[];
  },
): Promise<ScenarioResult> {
  const { guard } = createTestGuard({ timeout: 0, ...(options.model ? { model: options.model } : {}) });
  if (!options.model) await guard.ready;
  const chat = document.getElementById('chat')!;
  chat.replaceChildren();
  chat.classList.toggle('content-visibility', options.contentVisibility ?? false);
  let parent: HTMLElement = chat;
  if (options.scrollBox) {
    parent = document.createElement('div');
    parent.id = 'scroller';
    chat.append(parent);
  }
  const els = build(name, guard, options.how, options.lazy ?? false);
  await frame();
  const fragment = document.createDocumentFragment();
  fragment.append(...els);

  const start = performance.now();
  parent.append(fragment);
  await nextTask();
  const mountTaskMs = performance.now() - start;

  const toJudge = () => (options.expectSettled ? options.expectSettled(els) : els);
  // Done when every message that must be judged has settled, and that set held still for three frames.
  let judged = toJudge();
  for (let stable = 0; stable < 3; ) {
    await frame();
    const now = toJudge();
    const done = now.length > 0 && now.every((el) => SETTLED.has(el.state));
    stable = done && now.length === judged.length ? stable + 1 : 0;
    judged = now;
  }
  await Promise.all(judged.map((el) => el.updateComplete));
  await frame();
  const end = performance.now();
  // Long tasks are reported a little after they end.
  await new Promise((r) => setTimeout(r, 200));
  const tasks = longTasks.filter((t) => t.start + t.ms >= start && t.start <= end);
  guard.dispose();
  chat.replaceChildren();
  return {
    name,
    messages: els.length,
    mountTaskMs,
    settleMs: end - start,
    settled: judged.length,
    blocked: judged.filter((el) => el.state === 'blocked').length,
    longTasks: { count: tasks.length, maxMs: Math.max(0, ...tasks.map((t) => t.ms)), totalMs: tasks.reduce((s, t) => s + t.ms, 0) },
  };
}

/** The same history as plain `<div>`s with no guard: what the page costs without the element (a control). */
async function baseline(): Promise<ScenarioResult> {
  const chat = document.getElementById('chat')!;
  chat.replaceChildren();
  const divs = Array.from({ length: MESSAGES }, (_, i) => {
    const div = document.createElement('div');
    div.textContent = message(i, 'baseline').text;
    return div;
  });
  await frame();
  const start = performance.now();
  chat.append(...divs);
  await nextTask();
  const mountTaskMs = performance.now() - start;
  await frame();
  await frame();
  const end = performance.now();
  await new Promise((r) => setTimeout(r, 200));
  const tasks = longTasks.filter((t) => t.start + t.ms >= start && t.start <= end);
  chat.replaceChildren();
  return {
    name: 'plain-divs-control',
    messages: MESSAGES,
    mountTaskMs,
    settleMs: end - start,
    settled: MESSAGES,
    blocked: 0,
    longTasks: { count: tasks.length, maxMs: Math.max(0, ...tasks.map((t) => t.ms)), totalMs: tasks.reduce((s, t) => s + t.ms, 0) },
  };
}

const params = new URLSearchParams(location.search);
/** `?repeats=N&only=name` narrow a run down (for profiling one scenario). */
const REPEATS = Number(params.get('repeats') ?? 3);
const ONLY = params.get('only');

async function run() {
  // Warm-up: module graph, Lit templates, worker start-up.
  await scenario('warm-up', { how: 'text' });
  const all: Array<[string, () => Promise<ScenarioResult>]> = [
    ['plain-divs-control', () => baseline()],
    ['text-property', () => scenario('text-property', { how: 'text' })],
    ['slotted', () => scenario('slotted', { how: 'slot' })],
    ['text+content-visibility', () => scenario('text+content-visibility', { how: 'text', contentVisibility: true })],
    [
      'lazy-in-scroll-box',
      () =>
        scenario('lazy-in-scroll-box', {
          how: 'text',
          lazy: true,
          scrollBox: true,
          // Only messages near the scroll box's visible part are judged; the rest wait their turn.
          expectSettled: (els) => els.filter((el) => isNearViewport(el, document.getElementById('scroller')!.getBoundingClientRect())),
        }),
    ],
    ['lazy-whole-page', () => scenario('lazy-whole-page', { how: 'text', lazy: true, expectSettled: (els) => els.filter((el) => isNearViewport(el)) })],
    ['while-model-loads', () => scenario('while-model-loads', { how: 'text', model: '/__fixtures/slow-load/' })],
  ];
  const scenarios = all.filter(([name]) => !ONLY || name === ONLY).map(([, run]) => run);
  // Interleaved repeats, so a burst of load from elsewhere on the machine does not hit one scenario only.
  const runs: ScenarioResult[][] = scenarios.map(() => []);
  for (let r = 0; r < REPEATS; r++) {
    for (const [i, next] of scenarios.entries()) runs[i]!.push(await next());
  }
  return { userAgent: navigator.userAgent, hardwareConcurrency: navigator.hardwareConcurrency, repeats: REPEATS, runs };
}

publishBenchResult(run);
