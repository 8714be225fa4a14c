/**
 * Long checks: a Judge combinator that judges a text too long for one check in overlapping windows, with
 * the judge it wraps (fast or JSON) judging each window as an ordinary check.
 *
 * - A check whose texts fit the context window goes to the inner judge unchanged (chat messages are not
 *   even measured, see `surelyFits`).
 * - Otherwise the judged text (the prompt of a prompt check, the reply of a reply check) is planned into
 *   windows (src/windowing/window-plan.ts) that fit what the template leaves; a reply window carries the
 *   user prompt, cut to its beginning and end within a small budget as the stream guard does. Windows are
 *   planned lazily and in time slices, so a check that stops early never tokenizes the rest, and the worker
 *   answers cancels and timeouts between slices and between windows.
 * - Every window is judged until one blocks under the request's policy (all of them when categories were
 *   asked for); the windows' answers are combined by `combineWindows` (core/verdict.ts), and the verdict
 *   applies the policy per window and reports the unsafe spans.
 * - The length limit (`maxInputChars`) is not this judge's: GuardService.check refuses a text over it before
 *   any work, whatever the judge.
 * - The inner judge keeps its own behaviour per window: the fast judge's template prefix stays in the KV
 *   cache across windows, and a reply's windows all carry the same prompt text.
 * - When a check turns out not to fit although it was measured to (an estimate, or a context window smaller
 *   than assumed: `ContextWindowExceededError` before any forward), the text is planned again with smaller
 *   windows from that point. A check that surely fits and still overflows is an engine failure: reported.
 */
import { ContextWindowExceededError } from '../core/errors.js';
import type { Decision } from '../core/types.js';
import { blocks, combineWindows } from '../core/verdict.js';
import type { Engine } from '../engine/engine.js';
import { DEFAULT_PROMPT_TOKENS, promptForChunkChecks } from '../windowing/prompt-budget.js';
import { TimeSlicer } from '../windowing/time-slicer.js';
import { estimateTokens } from '../windowing/token-estimate.js';
import { WindowPlanner, windowSpan, type PlannedWindow } from '../windowing/window-plan.js';
import type { Judge, Judgement, JudgeContext } from './judge.js';
import type { CheckRequest } from './protocol.js';
import { learnContextWindow, surelyFits, windowSizing, type WindowSizing } from './window-sizing.js';

/** How windows are sized. The defaults suit a 4,096-token context window. */
export interface WindowingOptions {
  /** Most estimated tokens of the user prompt a reply window carries (as the stream guard's `promptTokens`). */
  promptTokens?: number;
  /** Most tokens of overlap repeated from the previous window. Also capped at 1/8 of a window (MAX_CONTEXT_SHARE). */
  contextTokens?: number;
  /**
   * Most characters a window holds: the inner judge tokenizes a window in one synchronous call, ~2 µs per
   * character, so this bounds how long that blocks the worker.
   */
  maxWindowChars?: number;
}

export const WINDOWING_DEFAULTS = Object.freeze({ promptTokens: DEFAULT_PROMPT_TOKENS, contextTokens: 256, maxWindowChars: 16_000 });

/** Below this many tokens for text per window, the template leaves no useful room. */
const MIN_WINDOW_TOKENS = 32;
/** Re-plans after an overflow, per check, before the overflow is reported. */
const MAX_REPLANS = 8;
/** A whole check is tried without measuring when its estimate is within this share of the room. */
const ESTIMATE_TRUST = 0.8;

/** `inner` for every check, judging a text too long for one check in windows (see the header). */
export function windowed(inner: Judge, options: WindowingOptions = {}): Judge {
  const settings = { ...WINDOWING_DEFAULTS, ...options };
  return async (engine, request, context) => {
    context.signal.throwIfAborted();
    const sizing = await windowSizing(engine, request.target, request.categories);
    const texts = request.target === 'response' ? [request.user, request.response!] : [request.user];
    const chars = texts.reduce((n, t) => n + t.length, 0);
    const sure = surelyFits(texts, sizing.textTokens);
    if (sure || (chars <= settings.maxWindowChars && estimateTokens(texts.join('')) <= sizing.textTokens * ESTIMATE_TRUST)) {
      try {
        return await inner(engine, request, context);
      } catch (error) {
        if (sure || !(error instanceof ContextWindowExceededError)) throw error;
        learnContextWindow(engine, error);
      }
    }
    return judgeInWindows(inner, engine, request, context, await windowSizing(engine, request.target, request.categories), settings);
  };
}

async function judgeInWindows(
  inner: Judge,
  engine: Engine,
  request: CheckRequest,
  context: JudgeContext,
  sizing: WindowSizing,
  settings: Required<WindowingOptions>,
): Promise<Judgement> {
  const { signal } = context;
  const { policy, target } = request;
  const slicer = new TimeSlicer(signal);
  const text = target === 'response' ? request.response! : request.user;
  const carried = target === 'response' ? promptForChunkChecks(request.user, settings.promptTokens) : undefined;
  const room = sizing.textTokens - (carried === undefined ? 0 : await sizing.measure(carried));
  if (room < MIN_WINDOW_TOKENS) {
    throw new ContextWindowExceededError(
      `The check template leaves ${Math.max(0, Math.floor(room))} tokens for text in the model's ${sizing.contextWindow}-token context window.`,
      undefined,
      sizing.contextWindow,
    );
  }
  const windowTokens = Math.floor(room);
  const planner = new WindowPlanner(text, {
    windowTokens,
    contextTokens: settings.contextTokens,
    // The carried prompt is tokenized with each window: it counts against the character cap too.
    maxWindowChars: Math.max(settings.maxWindowChars / 2, settings.maxWindowChars - (carried?.length ?? 0)),
    maxUnitChars: Math.max(4, Math.min(256, Math.floor(windowTokens / 6))),
    measure: (t, estimate) => sizing.measure(t, estimate),
    slicer,
  });

  let budget = windowTokens;
  let assumedWindow = sizing.contextWindow;
  let replans = 0;
  let decided = false;
  const judged: { span: { start: number; end: number }; judgement: Judgement }[] = [];
  const onDecision = (decision: Decision) => {
    // Only an unsafe rating is final before the last window; the rest is reported at the end.
    if (decided || decision.rating !== 'unsafe') return;
    decided = true;
    context.onDecision(decision);
  };

  // An empty reply (with a prompt too long for one check) is still judged once.
  const empty: PlannedWindow = { index: 0, contextStart: 0, start: 0, end: 0, tokens: 0 };
  for (let window = text === '' ? empty : await planner.next(); window; window = await planner.next()) {
    // Between windows the worker takes its messages: a cancel or a timeout stops here at the latest.
    await slicer.yield();
    const windowText = text.slice(window.contextStart, window.end);
    const windowRequest: CheckRequest =
      target === 'response' ? { ...request, user: carried!, response: windowText } : { ...request, user: windowText };
    let judgement: Judgement;
    try {
      judgement = await inner(engine, windowRequest, { signal, onDecision });
    } catch (error) {
      if (!(error instanceof ContextWindowExceededError)) throw error;
      if (surelyFits(carried === undefined ? [windowText] : [carried, windowText], sizing.textTokens)) throw error;
      learnContextWindow(engine, error);
      const reported = error.contextWindow;
      // A smaller context window than assumed: shrink by the difference; else the measure was off: by a quarter.
      const shrunk =
        typeof reported === 'number' && reported < assumedWindow
          ? Math.min(budget - (assumedWindow - reported), window.tokens - 1)
          : Math.min(budget, window.tokens) * 0.75;
      if (typeof reported === 'number' && reported < assumedWindow) assumedWindow = reported;
      if (!(shrunk >= MIN_WINDOW_TOKENS) || ++replans > MAX_REPLANS || window === empty) throw error;
      budget = Math.floor(shrunk);
      planner.replan(window, budget);
      continue;
    }
    judged.push({ span: windowSpan(window), judgement });
    if (blocks(judgement, policy) && !request.wantCategories) break;
  }
  signal.throwIfAborted();
  const combined = combineWindows(judged, policy);
  if (!decided && combined.rating === 'safe') {
    context.onDecision({ target, rating: 'safe', ...(combined.unsafeProbability === undefined ? {} : { unsafeProbability: combined.unsafeProbability }) });
  }
  return combined;
}
