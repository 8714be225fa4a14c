/**
 * Every word `<aegis-guard>` shows or announces, replaceable for translation: page-wide with
 * `setDefaultLabels()`, per element with its `labels` property. Labels that depend on data are functions, so
 * a translation can handle plurals and word order.
 */
import type { AegisErrorCode } from '../core/errors.js';
import type { LoadProgress } from '../core/types.js';

export interface AegisGuardLabels {
  /** BCP 47 locale for numbers and lists (byte counts, "violence and threats"). Default: the browser's. */
  locale?: string;
  /** Shown while the model downloads or initialises. */
  loading: string;
  /**
   * The progress line under the bar. `percent` is 0..100 within the phase; bytes are present while downloading.
   * In `preflight`, 0 % is the GPU check and what follows is the check (and download) of the model's small files.
   */
  loadingProgress: (progress: { percent: number; loaded?: string; total?: string; phase: LoadProgress['phase'] }) => string;
  /** Accessible name of the progress bar. */
  progressBar: string;
  checkingPrompt: string;
  checkingReply: string;
  /** A streamed reply whose released text is shown while the rest is still being checked. */
  streaming: string;
  /** Badge on an allowed message (with the `badge` attribute). */
  badgeAllowed: string;
  /** Badge when a failed check let the message through (`fail-mode="open"`). */
  badgeUnchecked: string;
  /** Badge when the app cancelled `aegis-block` and let a flagged message through. */
  badgeOverridden: string;
  /**
   * The blocked placeholder. `categories` are already in plain words; empty when the model named none. `name`:
   * the element's `label` (e.g. "Message 3"), so placeholders side by side say which message each is.
   */
  blocked: (categories: string[], name?: string) => string;
  /** Note above a blocked message the reader chose to see. */
  revealedNotice: (categories: string[]) => string;
  showAnyway: string;
  hideAgain: string;
  /** The error placeholder; `reason` is one of `errorReasons` (or the error's own message); `name` as for `blocked`. */
  error: (reason: string, name?: string) => string;
  retry: string;
  /** Summary of the disclosure that holds the error's technical message. */
  errorDetails: string;
  /** Plain-words reasons per error code; codes missing here fall back to the error's message. */
  errorReasons: Partial<Record<AegisErrorCode | 'unreadable-output' | 'stream-cancelled', string>>;
  /** Polite screen-reader announcements. */
  announceAllowed: string;
  announceBlocked: (categories: string[], name?: string) => string;
  announceError: (reason: string, name?: string) => string;
  /** Plain-words names of categories by code (S1..S23, custom S24+); unknown codes show the model's name. */
  categoryNames: Record<string, string>;
  /** Formats a byte count (for "1.2 GB of 4.6 GB"). */
  bytes: (count: number, locale?: string) => string;
}

// Intl formatters are costly to build (about a millisecond each); keep one per locale and unit.
const formatters = new Map<string, Intl.NumberFormat | Intl.ListFormat>();
function cached<T extends Intl.NumberFormat | Intl.ListFormat>(key: string, make: () => T): T {
  let formatter = formatters.get(key) as T | undefined;
  if (!formatter) formatters.set(key, (formatter = make()));
  return formatter;
}

function formatBytes(count: number, locale?: string): string {
  const units: Array<[number, string]> = [
    [1e9, 'gigabyte'],
    [1e6, 'megabyte'],
    [1e3, 'kilobyte'],
  ];
  const [size, unit] = units.find(([size]) => count >= size) ?? [1, 'byte'];
  const value = count / size;
  const digits = value < 10 ? 1 : 0;
  return cached(`bytes ${locale} ${unit} ${digits}`, () => new Intl.NumberFormat(locale, { style: 'unit', unit, unitDisplay: 'short', maximumFractionDigits: digits })).format(value);
}

/** Joins category names as a sentence list: "violence, threats and fraud". */
export function listOf(items: string[], locale?: string): string {
  return cached(`list ${locale}`, () => new Intl.ListFormat(locale, { style: 'long', type: 'conjunction' })).format(items);
}

/**
 * The loading step in words (English), from the phase and the whole percent shown beside it (0..100).
 * Preflight at 0 % is the GPU check; past it, the check (and download) of the model's small files.
 * The element's default progress line and the demo's model panel both say it this way.
 */
export function loadingStep(phase: LoadProgress['phase'], percent: number): string {
  switch (phase) {
    case 'preflight':
      return percent === 0 ? 'Checking the GPU' : 'Checking the model files';
    case 'fetching':
      return 'Downloading';
    case 'loading':
      return 'Loading into GPU memory';
    case 'compiling':
      return 'Preparing the GPU';
    case 'ready':
      return 'Ready';
  }
}

const defaults: AegisGuardLabels = {
  loading: 'Loading the safety model…',
  loadingProgress: ({ percent, loaded, total, phase }) => {
    const step = loadingStep(phase, percent);
    return loaded && total ? `${step}: ${percent}% (${loaded} of ${total})` : `${step}: ${percent}%`;
  },
  progressBar: 'Safety model loading progress',
  checkingPrompt: 'Checking this message…',
  checkingReply: 'Checking this reply…',
  streaming: 'Checking the rest of the reply…',
  badgeAllowed: 'Checked',
  badgeUnchecked: 'Not checked',
  badgeOverridden: 'Shown by the app',
  blocked: (categories, name) =>
    categories.length > 0
      ? `${name ?? 'This message'} is hidden because it may contain ${listOf(categories)}.`
      : `${name ?? 'This message'} is hidden because it may be unsafe.`,
  revealedNotice: (categories) =>
    categories.length > 0 ? `Shown anyway. Flagged for ${listOf(categories)}.` : 'Shown anyway. Flagged as possibly unsafe.',
  showAnyway: 'Show anyway',
  hideAgain: 'Hide',
  error: (reason, name) => `${name ?? 'This message'} is hidden because the safety check could not run: ${reason}`,
  retry: 'Retry',
  errorDetails: 'Details',
  errorReasons: {
    'webgpu-unavailable': 'this browser or GPU cannot run the safety model.',
    'model-load-failed': 'the safety model could not be loaded.',
    'model-not-loaded': 'the safety model is not loaded.',
    'context-window-exceeded': 'the message is too long for the safety model.',
    'input-too-long': 'the message is too long to check.',
    'device-lost': 'the GPU stopped responding.',
    timeout: 'the check took too long.',
    'worker-crashed': 'the safety worker stopped.',
    disposed: 'the safety guard was shut down.',
    'engine-failed': 'the safety model failed.',
    'invalid-input': 'the message could not be checked as given.',
    'unreadable-output': 'the safety model gave an unreadable answer.',
    'stream-cancelled': 'the reply stream was cancelled before it was checked.',
  },
  announceAllowed: 'Message checked and shown.',
  announceBlocked: (categories, name) =>
    categories.length > 0 ? `${name ?? 'Message'} hidden: it may contain ${listOf(categories)}.` : `${name ?? 'Message'} hidden: it may be unsafe.`,
  announceError: (reason, name) => `${name ?? 'Message'} hidden: the safety check could not run: ${reason}`,
  categoryNames: {
    S1: 'violence',
    S2: 'sexual content',
    S3: 'criminal planning or confessions',
    S4: 'guns or illegal weapons',
    S5: 'controlled or regulated substances',
    S6: 'suicide or self-harm',
    S7: 'sexual content involving minors',
    S8: 'hate speech',
    S9: 'personal or private information',
    S10: 'harassment',
    S11: 'threats',
    S12: 'profanity',
    S13: 'content that needs caution',
    S14: 'other unsafe content',
    S15: 'manipulation',
    S16: 'fraud or deception',
    S17: 'malware',
    S18: 'high-risk government decision-making',
    S19: 'political misinformation or conspiracy theories',
    S20: 'copyright or trademark infringement',
    S21: 'unauthorised professional advice',
    S22: 'illegal activity',
    S23: 'immoral or unethical content',
  },
  bytes: formatBytes,
};

export const DEFAULT_LABELS: Readonly<AegisGuardLabels> = Object.freeze(defaults);

let pageDefaults: AegisGuardLabels = DEFAULT_LABELS;

/** Replaces labels for every `<aegis-guard>` on the page (elements re-render on their next update). */
export function setDefaultLabels(labels: Partial<AegisGuardLabels>): void {
  pageDefaults = mergeLabels(DEFAULT_LABELS, labels);
}

/** The page-wide labels now in force. */
export function defaultLabels(): AegisGuardLabels {
  return pageDefaults;
}

/** `base` with `override` on top; `categoryNames` and `errorReasons` merge key by key. */
export function mergeLabels(base: AegisGuardLabels, override: Partial<AegisGuardLabels> | undefined): AegisGuardLabels {
  if (!override) return base;
  return {
    ...base,
    ...override,
    categoryNames: { ...base.categoryNames, ...override.categoryNames },
    errorReasons: { ...base.errorReasons, ...override.errorReasons },
  };
}
