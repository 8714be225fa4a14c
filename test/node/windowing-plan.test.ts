/**
 * The windowing core on its own (pure code, no engine): the cut rule shared with the stream guard, and the
 * window plan of long checks: tiling, budgets, overlap, sentence cuts, code points, re-planning, time slices.
 */
import { describe, expect, test } from 'vitest';
import { AegisAbortError } from '../../src/core/errors.js';
import { closeWindow, contextStartIndex } from '../../src/windowing/cut.js';
import { TimeSlicer, yieldToEventLoop } from '../../src/windowing/time-slicer.js';
import { MAX_PIECE_CHARS, estimateTokens, pieces } from '../../src/windowing/token-estimate.js';
import { MAX_CONTEXT_SHARE, WindowPlanner, type PlannedWindow, type WindowPlanOptions } from '../../src/windowing/window-plan.js';
import { longText } from '../helpers/long-text.js';
import { seededRandom } from '../helpers/prng.js';

const byEstimate: WindowPlanOptions['measure'] = (_text, estimate) => estimate;

function options(overrides: Partial<WindowPlanOptions> = {}): WindowPlanOptions {
  return { windowTokens: 400, contextTokens: 40, maxWindowChars: 4000, maxUnitChars: 128, measure: byEstimate, slicer: new TimeSlicer(), ...overrides };
}

async function plan(text: string, o: WindowPlanOptions = options()): Promise<PlannedWindow[]> {
  const planner = new WindowPlanner(text, o);
  const out: PlannedWindow[] = [];
  for (let w = await planner.next(); w; w = await planner.next()) out.push(w);
  return out;
}

/** Checks the plan's invariants for `text`; returns the windows. */
async function checkedPlan(text: string, o: WindowPlanOptions): Promise<PlannedWindow[]> {
  const windows = await plan(text, o);
  let end = 0;
  windows.forEach((w, i) => {
    expect(w.index).toBe(i);
    // The new text tiles the text: no gap, no overlap.
    expect(w.start).toBe(end);
    expect(w.end).toBeGreaterThan(w.start);
    expect(w.contextStart).toBeLessThanOrEqual(w.start);
    end = w.end;
    expect(w.end - w.contextStart).toBeLessThanOrEqual(o.maxWindowChars);
    // Never between the halves of a surrogate pair.
    for (const at of [w.contextStart, w.start, w.end]) {
      expect(/[\ud800-\udbff]/.test(text.charAt(at - 1)) && /[\udc00-\udfff]/.test(text.charAt(at))).toBe(false);
    }
  });
  expect(end).toBe(text.length);
  return windows;
}

describe('the cut rule', () => {
  const units = (tokens: number[], sentenceEnds: number[] = []) => ({
    count: tokens.length,
    tokens: (i: number) => tokens[i]!,
    endsSentence: (i: number) => sentenceEnds.includes(i),
  });

  test("'reach' closes at the unit that reaches the budget; 'fit' before the one that would pass it", () => {
    expect(closeWindow(units([3, 3, 3, 3]), 7, 'reach', false)).toBe(2);
    expect(closeWindow(units([3, 3, 3, 3]), 7, 'fit', false)).toBe(1);
    // 'fit' always takes the first unit, even when it alone is over the budget.
    expect(closeWindow(units([9, 1]), 7, 'fit', false)).toBe(0);
  });

  test('a sentence end in the second half wins over the limit; one in the first half does not', () => {
    expect(closeWindow(units([2, 2, 2, 2, 2], [2]), 9, 'fit', false)).toBe(2);
    expect(closeWindow(units([2, 2, 2, 2, 2], [0]), 9, 'fit', false)).toBe(3);
    expect(closeWindow(units([2, 2, 2, 2, 2], [2]), 9, 'reach', false)).toBe(2);
  });

  test('an open text that does not fill a window waits; at its end it takes everything', () => {
    expect(closeWindow(units([1, 1]), 10, 'reach', false)).toBe(-1);
    expect(closeWindow(units([1, 1], [0]), 10, 'fit', true)).toBe(1);
    expect(closeWindow(units([]), 10, 'fit', true)).toBe(-1);
  });

  test('context: the last units within the budget (fit) or reaching it (reach), never before `first`', () => {
    const t = [5, 5, 5, 5];
    expect(contextStartIndex((i) => t[i]!, 4, 12, 'fit')).toBe(2);
    expect(contextStartIndex((i) => t[i]!, 4, 12, 'reach')).toBe(1);
    expect(contextStartIndex((i) => t[i]!, 4, 100, 'fit', 1)).toBe(1);
    expect(contextStartIndex((i) => t[i]!, 4, 0, 'fit')).toBe(4);
  });
});

describe('pieces', () => {
  test('a piece longer than MAX_PIECE_CHARS is split between code points, and the pieces still tile the text', () => {
    const text = `start ${'a'.repeat(200)} ${'😀'.repeat(100)} ${' '.repeat(300)}end`;
    const list = pieces(text);
    expect(list.map((p) => text.slice(p.start, p.end)).join('')).toBe(text);
    for (const p of list) {
      expect(p.end - p.start).toBeLessThanOrEqual(MAX_PIECE_CHARS);
      expect(/[\udc00-\udfff]/.test(text.charAt(p.start))).toBe(false);
    }
    // Splitting keeps the estimate about where it was (one long letter run: ~1 token per 5.5 letters).
    expect(estimateTokens('a'.repeat(1100))).toBeGreaterThanOrEqual(200);
    expect(estimateTokens('a'.repeat(1100))).toBeLessThanOrEqual(220);
  });
});

describe('window plan', () => {
  test.each([1, 2, 3, 4, 5])('seeded text %i: windows tile the text within every budget', async (seed) => {
    const text = longText(60_000, seed);
    const o = options({ windowTokens: 300 + seed * 100, contextTokens: 20 + seed * 10, maxWindowChars: 1500 + seed * 500 });
    const windows = await checkedPlan(text, o);
    expect(windows.length).toBeGreaterThan(5);
    for (const w of windows) {
      expect(w.tokens).toBeLessThanOrEqual(o.windowTokens);
      // The measured tokens are the sum of what the window holds.
      expect(w.tokens).toBe(estimateOf(text, w));
    }
    // Windows are full: every window but the last holds at least a third of a budget (tokens or characters).
    for (const w of windows.slice(0, -1)) {
      expect(w.tokens >= o.windowTokens / 3 || w.end - w.contextStart >= o.maxWindowChars / 3).toBe(true);
    }
  });

  test('each window repeats at most contextTokens of the text before it, and some when there is room', async () => {
    const text = longText(40_000, 9);
    const o = options({ contextTokens: 50 });
    const windows = await checkedPlan(text, o);
    expect(windows[0]!.contextStart).toBe(0);
    for (const w of windows.slice(1)) {
      const context = estimateTokens(text.slice(w.contextStart, w.start));
      expect(context).toBeLessThanOrEqual(50 + 2);
      expect(w.start - w.contextStart).toBeGreaterThan(0);
    }
  });

  test('prose is cut at sentence ends', async () => {
    const sentences = Array.from({ length: 400 }, (_, i) => `Sentence number ${i} says a few plain words about nothing much.`).join(' ');
    const windows = await checkedPlan(sentences, options({ windowTokens: 200, maxUnitChars: 64 }));
    for (const w of windows.slice(0, -1)) expect(sentences.slice(w.end - 1, w.end + 1)).toBe('. ');
  });

  test('text without a single break or sentence end is still cut within the budgets', async () => {
    const blob = 'x'.repeat(50_000);
    const o = options({ windowTokens: 100, maxUnitChars: 32 });
    for (const w of await checkedPlan(blob, o)) expect(w.tokens).toBeLessThanOrEqual(100);
    const spaces = `a${' '.repeat(30_000)}b`;
    await checkedPlan(spaces, o);
    const emoji = '👍🏽'.repeat(5000);
    await checkedPlan(emoji, options({ windowTokens: 60, maxUnitChars: 9 }));
  });

  test('an empty text has no window; a short one has one window holding all of it', async () => {
    expect(await plan('')).toEqual([]);
    expect(await plan('Hello there.')).toEqual([{ index: 0, contextStart: 0, start: 0, end: 12, tokens: estimateTokens('Hello there.') }]);
  });

  test('replan() plans again from the latest window with the new budget', async () => {
    const text = longText(30_000, 4);
    const planner = new WindowPlanner(text, options());
    const first = (await planner.next())!;
    const second = (await planner.next())!;
    planner.replan(second, 150);
    const again = (await planner.next())!;
    expect(again).toMatchObject({ index: 1, start: second.start });
    // The overlap shrinks with the window: within 1/8 of 150 tokens now.
    expect(again.contextStart).toBeGreaterThanOrEqual(second.contextStart);
    expect(estimateOf(text, { ...again, end: again.start })).toBeLessThanOrEqual(Math.floor(150 * MAX_CONTEXT_SHARE));
    expect(again.tokens).toBeLessThanOrEqual(150);
    expect(again.end).toBeLessThan(second.end);
    expect(first.end).toBe(second.start);
    expect(() => planner.replan(first, 100)).toThrow(RangeError);
  });

  test.each([1, 2, 3, 4, 5, 6])('seeded re-plans %i: the overlap follows the smaller window, so little text is sent twice', async (seed) => {
    const random = seededRandom(7000 + seed);
    const text = longText(60_000 + Math.floor(random() * 30_000), seed);
    // As the windowed judge plans: large windows first, then the model turns out to take far fewer.
    const windowTokens = 2000 + Math.floor(random() * 2000);
    const o = options({ windowTokens, contextTokens: 256, maxWindowChars: 64_000, maxUnitChars: 256 });
    const planner = new WindowPlanner(text, o);
    let budget = windowTokens;
    let sent = 0;
    let fresh = 0;
    let sentTokens = 0;
    let freshTokens = 0;
    for (let w = await planner.next(), replans = 0; w; w = await planner.next()) {
      if (replans < 3 && random() < 0.3) {
        replans++;
        budget = Math.max(300, Math.floor(budget * (0.15 + random() * 0.5)));
        planner.replan(w, budget);
        continue;
      }
      const context = estimateOf(text, { ...w, end: w.start });
      expect(context).toBeLessThanOrEqual(Math.floor(budget * MAX_CONTEXT_SHARE));
      sent += w.end - w.contextStart;
      fresh += w.end - w.start;
      sentTokens += w.tokens;
      freshTokens += w.tokens - context;
    }
    expect(fresh).toBe(text.length);
    // The cut rule leaves a window at least half of what its overlap leaves: at most 2 repeated for 7 new.
    expect(sentTokens / freshTokens, `${sent} characters sent for ${fresh} new`).toBeLessThanOrEqual(1 + 2 / 7);
    expect(sent / fresh).toBeLessThanOrEqual(1 + 2 / 7);
  });

  test('the measure is called once per unit and only as far as the windows asked for', async () => {
    const text = longText(200_000, 2);
    const measured: string[] = [];
    const planner = new WindowPlanner(text, options({ measure: (t, e) => (measured.push(t), e) }));
    const w = (await planner.next())!;
    const reach = measured.join('').length;
    // The window, and at most what lies between its sentence-end cut and the unit that did not fit.
    expect(reach).toBeGreaterThanOrEqual(w.end);
    expect(reach).toBeLessThan(2 * w.end + 128);
    expect(measured.join('')).toBe(text.slice(0, reach));
  });

  test('nonsense sizes throw RangeError', () => {
    expect(() => new WindowPlanner('x', options({ windowTokens: 0 }))).toThrow(RangeError);
    expect(() => new WindowPlanner('x', options({ contextTokens: -1 }))).toThrow(RangeError);
    expect(() => new WindowPlanner('x', options({ maxWindowChars: NaN }))).toThrow(RangeError);
  });
});

describe('time slices', () => {
  test('a due slicer yields to the event loop (a macrotask runs) and then throws the abort reason', async () => {
    const controller = new AbortController();
    const slicer = new TimeSlicer(controller.signal, 0);
    let ran = false;
    setTimeout(() => {
      ran = true;
      controller.abort(new AegisAbortError('stop'));
    }, 0);
    expect(slicer.due).toBe(true);
    // Yields until the timer (a macrotask) has run; each yield lets pending tasks in.
    let error: unknown;
    for (let i = 0; i < 1000 && !error; i++) await slicer.pause().catch((e: unknown) => (error = e));
    expect(ran).toBe(true);
    expect(error).toBeInstanceOf(AegisAbortError);
  });

  test('planning stops at the next slice once aborted', async () => {
    const controller = new AbortController();
    let calls = 0;
    const planner = new WindowPlanner(
      longText(300_000, 3),
      options({
        // A slice of 0 ms: every step may yield, so the abort is seen at the next one.
        slicer: new TimeSlicer(controller.signal, 0),
        measure: (_t, e) => {
          if (++calls === 5) controller.abort(new AegisAbortError('stop'));
          return e;
        },
      }),
    );
    await expect(planner.next()).rejects.toBeInstanceOf(AegisAbortError);
    expect(calls).toBe(5);
  });

  test('yieldToEventLoop lets a pending timer run', async () => {
    let ran = false;
    setTimeout(() => (ran = true), 0);
    for (let i = 0; i < 1000 && !ran; i++) await yieldToEventLoop();
    expect(ran).toBe(true);
  });
});

function estimateOf(text: string, w: PlannedWindow): number {
  // The plan sums unit estimates; re-estimating the whole window gives the same pieces (cuts are piece boundaries).
  return estimateTokens(text.slice(w.contextStart, w.end));
}

describe('purity', () => {
  test('src/windowing is pure: no WebLLM, Comlink, Lit or DOM, and imports only core and itself', async () => {
    const { readdirSync, readFileSync } = await import('node:fs');
    const dir = new URL('../../src/windowing/', import.meta.url);
    const files = readdirSync(dir).filter((f) => f.endsWith('.ts'));
    expect(files.length).toBeGreaterThan(4);
    for (const file of files) {
      const source = readFileSync(new URL(file, dir), 'utf8')
        .replace(/\/\*[\s\S]*?\*\//gu, '')
        .replace(/\/\/.*$/gmu, '');
      for (const [, from] of source.matchAll(/from\s+['"]([^'"]+)['"]/gu)) expect(from, file).toMatch(/^(\.\/|\.\.\/core\/)/u);
      expect(source, file).not.toMatch(/\b(document|window|navigator|self)\./u);
    }
  });
});
