/**
 * Limits on long checks, shared by the client (which sets them per guard) and the worker (which enforces
 * them): the longest text a check accepts, and how the default timeout grows with the text.
 */
import { AegisInputError, InputTooLongError } from '../core/errors.js';

/** Default `maxInputChars`: about 250,000 tokens of English, roughly 70 context windows. */
export const DEFAULT_MAX_INPUT_CHARS = 1_000_000;

/**
 * Characters of judged text one default timeout period covers: about one context window of English (4,096
 * tokens at ~4 characters each, less the template). The default timeout is per this many characters.
 */
export const TIMEOUT_CHARS_PER_PERIOD = 16_000;

/** Throws `AegisInputError` unless `value` is a whole number >= 1 or Infinity (no limit). */
export function validateMaxInputChars(value: unknown): void {
  if (!(value === Infinity || (typeof value === 'number' && Number.isInteger(value) && value >= 1))) {
    throw new AegisInputError(`maxInputChars must be a whole number of characters >= 1 (or Infinity), got ${String(value)}.`);
  }
}

/**
 * The default timeout for a check of `chars` characters: `periodMs` for each started
 * {@link TIMEOUT_CHARS_PER_PERIOD} characters, so a text judged in n windows gets about n times what one
 * check gets (a 1 MB text: 63 periods). An explicit timeout is used as given.
 */
export function scaledTimeoutMs(periodMs: number, chars: number): number {
  if (periodMs <= 0) return periodMs;
  return periodMs * Math.max(1, Math.ceil(chars / TIMEOUT_CHARS_PER_PERIOD));
}

/** The `InputTooLongError` for a text of the check longer than `maxInputChars`, or undefined when all fit. */
export function inputLimitError(texts: { user: string; response?: string }, maxInputChars: number): InputTooLongError | undefined {
  const longest = Math.max(texts.user.length, texts.response?.length ?? 0);
  if (longest <= maxInputChars) return undefined;
  const which = (texts.response?.length ?? 0) > texts.user.length ? 'The reply' : 'The prompt';
  return new InputTooLongError(
    `${which} is ${longest.toLocaleString('en-US')} characters long, more than maxInputChars (${maxInputChars.toLocaleString('en-US')}): it was not judged.`,
    longest,
    maxInputChars,
  );
}

/** Throws `InputTooLongError` when a text of the check is longer than `maxInputChars`. */
export function assertWithinInputLimit(texts: { user: string; response?: string }, maxInputChars: number): void {
  const error = inputLimitError(texts, maxInputChars);
  if (error) throw error;
}
