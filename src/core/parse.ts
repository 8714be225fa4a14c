/**
 * Reading the model's output: one JSON object such as
 * `{"User Safety": "unsafe", "Response Safety": "safe", "Safety Categories": "Violence, Threat"}`.
 *
 * Fail-closed, as NeMo Guardrails does: anything that is not a clear verdict for the target becomes
 * `rating: 'unsafe'` with a `failure` reason. A response check reads only "Response Safety" (an unsafe user
 * turn must not block a safe refusal), and a verdict field stated twice is rejected, so a forged later verdict
 * cannot override an earlier one.
 */
import { JsonOutOfInput, JsonSyntaxError, scanObjectMembers } from './json-scan.js';
import { buildTaxonomy, categoryKey, resolveCategory } from './taxonomy.js';
import type { Category, CustomCategory, ParsedOutput, ParseFailure, Rating, Target, ViolatedCategory } from './types.js';

/** The output field holding each target's rating, and the category list field. */
export const VERDICT_FIELDS = Object.freeze({ prompt: 'User Safety', response: 'Response Safety' } as const);
export const CATEGORIES_FIELD = 'Safety Categories';

/** The model's output always starts like this; the next token is the user verdict (`safe` or `unsafe`). */
export const OUTPUT_LEAD = `{"${VERDICT_FIELDS.prompt}": "`;

export interface ParseOptions {
  /** The custom categories the prompt listed, so their names map to S24+. */
  categories?: readonly CustomCategory[];
}

/** Keys compare ignoring case and spacing ("user  safety" is "User Safety"), for fields and duplicates alike. */
const fieldKey = (key: string) => key.trim().replace(/\s+/gu, ' ').toLowerCase();
const KNOWN_FIELDS = new Set([VERDICT_FIELDS.prompt, VERDICT_FIELDS.response, CATEGORIES_FIELD].map(fieldKey));

const OPENING_FENCE = /^```[A-Za-z]*[^\S\n]*\n?/u;

/** Removes what surrounds the JSON in real outputs: whitespace, trailing special tokens, code fences. */
function unwrap(text: string): string {
  let s = text.trim();
  for (let prev = ''; prev !== s; ) {
    prev = s;
    s = s.replace(/<\|[A-Za-z0-9_]+\|>$/u, '').trim();
  }
  s = s.replace(OPENING_FENCE, '');
  if (s.endsWith('```')) s = s.slice(0, -3);
  return s.trim();
}

function ratingOf(value: unknown): Rating | undefined {
  if (typeof value !== 'string') return undefined;
  const word = value.trim().toLowerCase();
  return word === 'safe' || word === 'unsafe' ? word : undefined;
}

/** "Violence, Criminal Planning/Confessions" -> categories. Splits on commas only: names contain '/'. */
function readCategories(value: unknown, taxonomy: readonly Category[]): ViolatedCategory[] {
  const pieces =
    typeof value === 'string'
      ? value.split(',')
      : Array.isArray(value)
        ? value.filter((v): v is string => typeof v === 'string')
        : [];
  const out: ViolatedCategory[] = [];
  const seen = new Set<string>();
  for (const piece of pieces) {
    const written = piece.trim();
    if (written === '') continue;
    const known = resolveCategory(written, taxonomy);
    const category: ViolatedCategory = known ? { code: known.code, name: known.name } : { code: null, name: written };
    const id = category.code ?? `?${categoryKey(written)}`;
    if (seen.has(id)) continue;
    seen.add(id);
    out.push(category);
  }
  return out;
}

const failed = (failure: ParseFailure): ParsedOutput => ({ rating: 'unsafe', categories: [], failure });

/**
 * Reads the verdict for `target` from the model's complete output. Never throws on any output text: failures
 * come back as `{ rating: 'unsafe', categories: [], failure }` with failure one of 'empty', 'truncated',
 * 'not-json', 'missing-field', 'duplicate-field', 'unknown-rating'. Tolerated: surrounding whitespace,
 * trailing special tokens such as `<|eot_id|>`, a code fence, the rating word's case, and for category names
 * case, spacing, a trailing period and S-codes. Unknown category names are kept with `code: null`.
 */
export function parseAegisOutput(text: string, target: Target, options: ParseOptions = {}): ParsedOutput {
  if (typeof text !== 'string') return failed('empty');
  const body = unwrap(text);
  if (body === '') return failed('empty');
  if (!body.startsWith('{')) return failed('not-json');

  const fields = new Map<string, unknown>();
  try {
    for (const { key, value } of scanObjectMembers(body)) {
      const k = fieldKey(key);
      if (KNOWN_FIELDS.has(k) && fields.has(k)) return failed('duplicate-field');
      fields.set(k, value);
    }
  } catch (error) {
    if (error instanceof JsonOutOfInput) return failed('truncated');
    if (error instanceof JsonSyntaxError) return failed('not-json');
    throw error;
  }

  const verdictKey = fieldKey(VERDICT_FIELDS[target]);
  if (!fields.has(verdictKey)) return failed('missing-field');
  const rating = ratingOf(fields.get(verdictKey));
  if (rating === undefined) return failed('unknown-rating');
  return { rating, categories: readCategories(fields.get(fieldKey(CATEGORIES_FIELD)), buildTaxonomy(options.categories)) };
}

/**
 * Reads the target's rating from output that is still streaming in: the rating once its word and closing
 * quote have arrived (`{"User Safety": "safe"`), otherwise undefined (not there yet, not JSON, or not a
 * rating word, all of which the final {@link parseAegisOutput} settles, failing closed). A response check
 * waits for "Response Safety". The final parse stays authoritative: it also rejects e.g. a later duplicate.
 */
export function readRating(partialText: string, target: Target): Rating | undefined {
  if (typeof partialText !== 'string') return undefined;
  const s = partialText.trimStart().replace(OPENING_FENCE, '').trimStart();
  if (!s.startsWith('{')) return undefined;
  const verdictKey = fieldKey(VERDICT_FIELDS[target]);
  try {
    for (const { key, value } of scanObjectMembers(s)) {
      if (fieldKey(key) === verdictKey) return ratingOf(value);
    }
  } catch (error) {
    if (error instanceof JsonOutOfInput || error instanceof JsonSyntaxError) return undefined;
    throw error;
  }
  return undefined;
}

const FAILURE_MESSAGES: Record<ParseFailure, string> = {
  empty: 'The model returned no output.',
  truncated: 'The model output ended before the JSON object was complete.',
  'not-json': 'The model output is not a single JSON object.',
  'missing-field': 'The model output lacks the verdict field for this check.',
  'duplicate-field': 'The model output states a verdict field more than once.',
  'unknown-rating': "The model output's rating is neither 'safe' nor 'unsafe'.",
};

/** A human-readable sentence for a parse failure (for `Verdict.failure.message`). */
export function describeParseFailure(failure: ParseFailure): string {
  return FAILURE_MESSAGES[failure];
}
