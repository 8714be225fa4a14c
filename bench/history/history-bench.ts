/**
 * One visit of a returning user with a 500-message chat history (250 prompt/reply pairs, one message in 25
 * flagged), over the real guard stack (client, worker, Comlink, queue) with the scripted engine standing in
 * for the model. `?visit=` says which:
 * - `first`: an empty store; every message is judged and its verdict stored;
 * - `second`: a new page on the same origin, the persistent cache on: every check is issued at once, right
 *   after the guard is created (the model loads meanwhile), and timed until the last verdict;
 * - `second-off`: the same with `persistentCache: false` (every message goes to the model again);
 * - `second-element`: the history as 500 `<aegis-guard>` elements, timed from the append until every one
 *   has settled.
 * Model checks are the scripted engine's completion count, read from inside the worker.
 */
import '../../src/element/define.js';
import type { AegisGuardElement } from '../../src/element/aegis-guard.js';
import { clearStoredVerdicts, storedVerdictsWritten } from '../../src/client/persistent-verdicts.js';
import type { Verdict } from '../../src/core/types.js';
import { createTestGuard } from '../../test/helpers/test-guard.js';
import { publishBenchResult } from '../page-result.js';

const PAIRS = 250;
const MODEL = '/__fixtures/persist/scripted-a/';
const SETTLED = new Set(['allowed', 'blocked', 'error']);

function pair(i: number): { prompt: string; reply: string } {
  const flagged = (n: number) => (n % 25 === 7 ? ' [[unsafe:Violence]]' : '');
  return {
    prompt: `Question ${i}: how long should bread dough rise at room temperature?${flagged(2 * i)}`,
    reply: `Answer ${i}: usually one to two hours, until it has doubled in size; a cooler kitchen takes longer.${flagged(2 * i + 1)}`,
  };
}

const frame = () => new Promise<void>((resolve) => requestAnimationFrame(() => resolve()));

export interface VisitResult {
  visit: string;
  messages: number;
  /** From creating the guard to the last verdict (element visit: from the append to the last settled element). */
  settledMs: number;
  /** The same, from navigation start (includes loading this page's modules). */
  settledSinceNavigationMs: number;
  firstVerdictMs: number;
  sources: Record<string, number>;
  blocked: number;
  modelChecks: number;
}

async function apiVisit(visit: string, persistentCache: boolean): Promise<VisitResult> {
  if (visit === 'first') await clearStoredVerdicts();
  const started = performance.now();
  const { guard, stats } = createTestGuard({ model: MODEL, timeout: 0, persistentCache });
  let firstVerdictMs = Infinity;
  const settle = (v: Promise<Verdict>) => v.then((verdict) => ((firstVerdictMs = Math.min(firstVerdictMs, performance.now() - started)), verdict));
  const checks: Promise<Verdict>[] = [];
  for (let i = 0; i < PAIRS; i++) {
    const { prompt, reply } = pair(i);
    checks.push(settle(guard.checkPrompt(prompt)), settle(guard.checkResponse(prompt, reply)));
  }
  const verdicts = await Promise.all(checks);
  const settledMs = performance.now() - started;
  const settledSinceNavigationMs = performance.now();
  await storedVerdictsWritten();
  await guard.ready;
  const modelChecks = (await stats()).completions;
  guard.dispose();
  const sources: Record<string, number> = {};
  for (const v of verdicts) sources[v.source] = (sources[v.source] ?? 0) + 1;
  return { visit, messages: verdicts.length, settledMs, settledSinceNavigationMs, firstVerdictMs, sources, blocked: verdicts.filter((v) => !v.safe).length, modelChecks };
}

async function elementVisit(): Promise<VisitResult> {
  const { guard, stats } = createTestGuard({ model: MODEL, timeout: 0 });
  const chat = document.getElementById('chat')!;
  const els: AegisGuardElement[] = [];
  for (let i = 0; i < PAIRS; i++) {
    const { prompt, reply } = pair(i);
    for (const [role, text] of [['user', prompt], ['assistant', reply]] as const) {
      const el = document.createElement('aegis-guard');
      el.guard = guard;
      el.id = `m-${els.length}`;
      el.role = role;
      el.announce = 'problems';
      if (role === 'assistant') el.htmlFor = `m-${els.length - 1}`;
      el.text = text;
      els.push(el);
    }
  }
  const appendAt = performance.now();
  chat.append(...els);
  let firstVerdictMs = Infinity;
  while (!els.every((el) => SETTLED.has(el.state))) {
    await frame();
    if (firstVerdictMs === Infinity && els.some((el) => SETTLED.has(el.state))) firstVerdictMs = performance.now() - appendAt;
  }
  const settledMs = performance.now() - appendAt;
  const settledSinceNavigationMs = performance.now();
  await guard.ready;
  const modelChecks = (await stats()).completions;
  const blocked = els.filter((el) => el.state === 'blocked').length;
  guard.dispose();
  chat.replaceChildren();
  return { visit: 'second-element', messages: els.length, settledMs, settledSinceNavigationMs, firstVerdictMs, sources: {}, blocked, modelChecks };
}

const visit = new URLSearchParams(location.search).get('visit') ?? 'first';
publishBenchResult(() => (visit === 'second-element' ? elementVisit() : apiVisit(visit, visit !== 'second-off')));
