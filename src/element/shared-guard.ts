/**
 * The page-wide guard every `<aegis-guard>` uses unless it is given one.
 *
 * Elements with the same `model`, `categories`, `fail-mode` and `threshold` share one guard: one worker, one
 * model in GPU memory. A different combination gets its own guard, and with it another copy of the model, so
 * keep those attributes the same across a page (or pass one `guard` to every element).
 *
 * Lifetime: a shared guard lives as long as the page. It is not disposed when the last element goes away,
 * because chat UIs remove and re-add message elements all the time (virtual lists, re-renders, route changes)
 * and a reload costs seconds of GPU upload. An app that is truly done with it calls `disposeSharedGuards()`.
 */
import { createGuard } from '../client/create-guard.js';
import type { Guard, GuardOptions, ModelOption } from '../client/types.js';
import type { CustomCategory, LoadProgress } from '../core/types.js';

/** The element attributes that choose a guard. */
export interface SharedGuardKey {
  model?: ModelOption;
  categories?: CustomCategory[];
  failMode?: 'closed' | 'open';
  threshold?: number;
}

const guards = new Map<string, Guard>();
let baseOptions: GuardOptions = {};

function keyOf(options: SharedGuardKey): string {
  const model = options.model instanceof URL ? options.model.href : options.model;
  return JSON.stringify([model ?? null, options.categories ?? [], options.failMode ?? 'closed', options.threshold ?? null]);
}

/**
 * Options applied to every shared guard created from now on (e.g. `timeout`, `worker`, `eager`), under the
 * element attributes. Guards that already exist keep theirs.
 */
export function setSharedGuardOptions(options: GuardOptions): void {
  baseOptions = { ...options };
}

/** The shared guard for these options, created on first use. Throws `AegisInputError` for bad options. */
export function sharedGuard(options: SharedGuardKey = {}): Guard {
  const key = keyOf(options);
  const existing = guards.get(key);
  if (existing && existing.state !== 'disposed') return existing;
  const guard = createGuard({
    ...baseOptions,
    ...(options.model !== undefined ? { model: options.model } : {}),
    ...(options.categories !== undefined ? { categories: options.categories } : {}),
    ...(options.failMode !== undefined ? { failMode: options.failMode } : {}),
    ...(options.threshold !== undefined ? { threshold: options.threshold } : {}),
  });
  guards.set(key, guard);
  // From the start, so an element that begins waiting mid-download shows the real figure.
  trackProgress(guard);
  return guard;
}

/** Disposes every shared guard (their workers end, GPU memory is freed). Elements get fresh ones on next use. */
export function disposeSharedGuards(): void {
  for (const guard of guards.values()) guard.dispose();
  guards.clear();
}

const lastProgress = new WeakMap<Guard, LoadProgress>();
const tracked = new WeakSet<Guard>();

/**
 * Remembers the latest load progress of a guard, so an element that starts waiting mid-download shows the
 * current figure instead of 0% until the next report.
 */
export function trackProgress(guard: Guard): void {
  if (tracked.has(guard)) return;
  tracked.add(guard);
  guard.on('progress', (progress) => lastProgress.set(guard, progress));
  guard.on('ready', () => lastProgress.delete(guard));
}

export function latestProgress(guard: Guard): LoadProgress | undefined {
  return lastProgress.get(guard);
}
