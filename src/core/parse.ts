/**
 * Reading the model's output: one JSON object such as
 * `{"User Safety": "unsafe", "Response Safety": "safe", "Safety Categories": "Violence, Threat"}`.
 *
 * Fail-closed, as NeMo Guardrails does: anything that is not exactly one of the model's real answer shapes
 * becomes `rating: 'unsafe'` with a `failure` reason. A response check reads only "Response Safety" (an unsafe
 * user turn must not block a safe refusal), and a verdict field stated twice, in any spelling, is rejected, so
 * a forged later verdict cannot override an earlier one. What passes is listed in output-reader.ts.
 */
import { readEarlyRating, readOutput } from './output-reader.js';
import type { CustomCategory, ParsedOutput, ParseFailure, Rating, Target } from './types.js';

export { CATEGORIES_FIELD, END_OF_TURN_SPELLINGS, MAX_OUTPUT_LENGTH, OUTPUT_LEAD, VERDICT_FIELDS } from './output-format.js';

export interface ParseOptions {
  /** The custom categories the prompt listed, so their names map to S24+. */
  categories?: readonly CustomCategory[];
}

/**
 * Reads the verdict for `target` from the model's complete output. Never throws on any output text; the work
 * is linear in its length and output longer than {@link MAX_OUTPUT_LENGTH} is not read. Failures come back as
 * `{ rating: 'unsafe', categories: [], failure }` with failure one of 'empty', 'truncated', 'not-json',
 * 'missing-field', 'duplicate-field', 'unexpected-field', 'unknown-rating', 'too-long'.
 *
 * Accepted (the model's real answers): JSON whitespace around the object and the model's end-of-turn tokens
 * after it, spelled exactly; the three fields with their exact names; ratings exactly `"safe"` or `"unsafe"`.
 * Category names are matched ignoring case, spacing and a trailing period, and S-codes are understood;
 * unknown names are kept with `code: null`. Throws `AegisInputError` only for invalid `options.categories`.
 */
export function parseAegisOutput(text: string, target: Target, options: ParseOptions = {}): ParsedOutput {
  return readOutput(text, target, { categories: options.categories }).parsed;
}

/**
 * Reads the target's rating from output that is still streaming in, for an early decision. It returns a
 * rating only when no continuation can change the final verdict of {@link parseAegisOutput}, and that is
 * only ever `'unsafe'`: once the target's field reads exactly `"unsafe"` in a well-formed start, the final
 * parse returns that or fails closed, both unsafe. `'safe'` is never announced early, because a duplicate
 * field, a stray token or a cut can still follow and make the final verdict fail closed. Otherwise undefined.
 */
export function readRating(partialText: string, target: Target): Rating | undefined {
  return readEarlyRating(partialText, target).rating;
}

const FAILURE_MESSAGES: Record<ParseFailure, string> = {
  empty: 'The model returned no output.',
  truncated: 'The model output ended before the JSON object was complete.',
  'not-json': 'The model output is not a single JSON object.',
  'missing-field': 'The model output lacks the verdict field for this check.',
  'duplicate-field': 'The model output states a field more than once.',
  'unexpected-field': 'The model output has a field that is not in its answer format (unknown, misspelled or of the wrong type).',
  'unknown-rating': "The model output's rating is not exactly 'safe' or 'unsafe'.",
  'too-long': 'The model output is longer than any answer the model gives.',
};

/**
 * A human-readable sentence for a parse failure (for `Verdict.failure.message`). A name this version does not
 * know (a newer judge's, or an engine's) still gets a sentence naming it.
 */
export function describeParseFailure(failure: ParseFailure): string {
  return Object.hasOwn(FAILURE_MESSAGES, failure) ? FAILURE_MESSAGES[failure] : `The model output could not be read (${String(failure)}).`;
}
