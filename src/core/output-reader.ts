/**
 * Checks the model's output against its answer format (output-format.ts) in one bounded, forward pass.
 * parse.ts's public functions are thin wrappers over these; the `steps` they return count the characters
 * looked at, so tests can show that every read is linear without timing anything.
 *
 * What is accepted, and why (the model's real answers, and nothing looser):
 * - Around the object: JSON whitespace (space, tab, CR, LF), and after it the model's end-of-turn tokens
 *   spelled exactly (`<|eot_id|>`, `<|end_of_text|>`, `<|eom_id|>`), in case a runtime leaves them in the
 *   text. Nothing else: no BOM, no Unicode spaces, no code fence, no prose, no look-alike token.
 * - The object: strict JSON whose members are `"User Safety"`, `"Response Safety"` and `"Safety Categories"`,
 *   each key written exactly so (the model never varies them), in any order, JSON whitespace between tokens.
 *   "User Safety" is always present (the model always writes it first).
 * - Ratings: the JSON string `"safe"` or `"unsafe"`, exactly: no case change, padding, BOM or escape. A
 *   rating field of any other value fails the whole output, also when it is not the target's.
 * - "Safety Categories": a JSON string (escapes decoded), split on commas (see `readCategories`).
 * Keys are compared for duplicates after NFKC, case folding and removing all white space and invisible
 * characters, so `"User Safety"` next to `"UserSafety"` or `"USER SAFETY"` is a duplicate and fails, as does
 * any field stated twice: a forged later verdict cannot override an earlier one.
 */
import { caseFold } from './case-fold.js';
import { isJsonWhitespace, scanObject, type ScannedMember } from './json-scan.js';
import { CATEGORIES_FIELD, END_OF_TURN_SPELLINGS, MAX_OUTPUT_LENGTH, VERDICT_FIELDS } from './output-format.js';
import { buildTaxonomy, categoryKey, resolveCategory } from './taxonomy.js';
import type { Category, CustomCategory, ParsedOutput, ParseFailure, Rating, Target, ViolatedCategory } from './types.js';

export interface ReadOptions {
  /** The custom categories the prompt listed, so their names map to S24+. */
  categories?: readonly CustomCategory[];
  /** Longer text fails closed (`too-long`) without being read. Default {@link MAX_OUTPUT_LENGTH}. */
  maxLength?: number;
}

export interface OutputReading {
  parsed: ParsedOutput;
  /** Characters looked at (a measure of work, for tests and benchmarks). */
  steps: number;
}

const FIELD_NAMES: readonly string[] = [VERDICT_FIELDS.prompt, VERDICT_FIELDS.response, CATEGORIES_FIELD];
const RATINGS: ReadonlySet<string> = new Set<Rating>(['safe', 'unsafe']);

// White space (JavaScript's, plus the C0 separators and NEL) and default-ignorable characters (ZWSP, ZWJ,
// soft hyphen, BOM, bidi controls, variation selectors, ...): none of them tell two keys apart.
const INVISIBLE_IN_KEYS = /[\s\x1c-\x1f\x85\p{Default_Ignorable_Code_Point}]/gu;

/** A key with NFKC, case folding and all white space and invisible characters removed: "User Safety" -> "usersafety". */
export function foldKey(key: string): string {
  return caseFold(key).replace(INVISIBLE_IN_KEYS, '');
}
const FOLDED_FIELDS: ReadonlySet<string> = new Set(FIELD_NAMES.map(foldKey));

const failed = (failure: ParseFailure): ParsedOutput => ({ rating: 'unsafe', categories: [], failure });

class Meter {
  steps = 0;
}

function skipWhitespace(text: string, from: number, meter: Meter): number {
  let pos = from;
  while (pos < text.length && isJsonWhitespace(text.charCodeAt(pos))) pos++;
  meter.steps += pos - from;
  return pos;
}

/** Moves past JSON whitespace and exact end-of-turn spellings; returns where that run stops. */
function skipTrailer(text: string, from: number, meter: Meter): number {
  let pos = from;
  outer: while (pos < text.length) {
    meter.steps++;
    if (isJsonWhitespace(text.charCodeAt(pos))) {
      pos++;
      continue;
    }
    for (const spelling of END_OF_TURN_SPELLINGS) {
      if (text.startsWith(spelling, pos)) {
        meter.steps += spelling.length;
        pos += spelling.length;
        continue outer;
      }
    }
    break;
  }
  return pos;
}

/** The first problem with the members' keys: a field stated twice (in any spelling), or a field outside the format. */
function keyProblem(members: readonly ScannedMember[], meter: Meter): ParseFailure | undefined {
  const seen = new Set<string>();
  let unexpected = false;
  for (const m of members) {
    meter.steps += m.key.length + 1;
    const folded = foldKey(m.key);
    if (FOLDED_FIELDS.has(folded)) {
      if (seen.has(folded)) return 'duplicate-field';
      seen.add(folded);
    }
    if (!FIELD_NAMES.includes(m.rawKey)) unexpected = true;
    if (m.rawKey === CATEGORIES_FIELD && m.kind !== 'string') unexpected = true;
  }
  return unexpected ? 'unexpected-field' : undefined;
}

/** A member's rating if it is written exactly `"safe"` or `"unsafe"`. */
function ratingOf(member: ScannedMember | undefined): Rating | undefined {
  if (member?.kind !== 'string' || !RATINGS.has(member.rawValue as string)) return undefined;
  return member.rawValue as Rating;
}

/** Lower case, no white space, no trailing periods: `categoryKey`, computed in one pass over `name`. */
function nameKey(name: string): string {
  const squeezed = name.toLowerCase().replace(/\s+/gu, '');
  let end = squeezed.length;
  while (end > 0 && squeezed.charCodeAt(end - 1) === 0x2e) end--;
  return squeezed.slice(0, end);
}

/** No category name is near this long; longer pieces are kept as unknown names without being resolved. */
const MAX_CATEGORY_PIECE = 256;
const CODE_LIKE = /^\s*s[1-9]/iu;

/**
 * "Violence, Criminal Planning/Confessions" -> categories. Splits on commas only (names contain '/'); each
 * piece is resolved by name (case, spacing and a trailing period ignored) or by S-code, and an unknown one is
 * kept with `code: null`. Repeats are dropped.
 */
function readCategories(list: string, taxonomy: readonly Category[], meter: Meter): ViolatedCategory[] {
  const byName = new Map<string, Category>();
  for (const c of taxonomy) {
    const key = categoryKey(c.name);
    if (!byName.has(key)) byName.set(key, c);
  }
  const out: ViolatedCategory[] = [];
  const seen = new Set<string>();
  for (const piece of list.split(',')) {
    meter.steps += piece.length + 1;
    const written = piece.trim();
    if (written === '') continue;
    const key = nameKey(written);
    const known =
      written.length > MAX_CATEGORY_PIECE
        ? undefined
        : (byName.get(key) ?? (CODE_LIKE.test(written) ? resolveCategory(written, taxonomy) : undefined));
    const id = known?.code ?? `?${key}`;
    if (seen.has(id)) continue;
    seen.add(id);
    out.push(known ? { code: known.code, name: known.name } : { code: null, name: written });
  }
  return out;
}

function read(text: unknown, target: Target, options: ReadOptions, meter: Meter): ParsedOutput {
  if (typeof text !== 'string') return failed('empty');
  if (text.length > (options.maxLength ?? MAX_OUTPUT_LENGTH)) return failed('too-long');
  const start = skipWhitespace(text, 0, meter);
  if (text.charCodeAt(start) !== 0x7b) {
    // Nothing but white space and end-of-turn tokens: the model said nothing.
    return failed(skipTrailer(text, start, meter) === text.length ? 'empty' : 'not-json');
  }

  const scan = scanObject(text, start);
  meter.steps += scan.steps;
  if (scan.status === 'out-of-input') return failed('truncated');
  if (scan.status === 'syntax-error') return failed('not-json');
  if (skipTrailer(text, scan.end, meter) !== text.length) return failed('not-json');

  const problem = keyProblem(scan.members, meter);
  if (problem) return failed(problem);
  const field = (name: string) => scan.members.find((m) => m.rawKey === name);
  const user = field(VERDICT_FIELDS.prompt);
  const response = field(VERDICT_FIELDS.response);
  const targetField = target === 'prompt' ? user : response;
  if (!user || !targetField) return failed('missing-field');
  if (!ratingOf(user) || (response && !ratingOf(response))) return failed('unknown-rating');

  const list = field(CATEGORIES_FIELD)?.value;
  const categories = list ? readCategories(list, buildTaxonomy(options.categories), meter) : [];
  return { rating: ratingOf(targetField) as Rating, categories };
}

/** Reads the verdict for `target` from the model's complete output (see the module comment for what passes). */
export function readOutput(text: string, target: Target, options: ReadOptions = {}): OutputReading {
  const meter = new Meter();
  const parsed = read(text, target, options, meter);
  return { parsed, steps: meter.steps };
}

/**
 * The target's rating from output still streaming in, when no continuation can change the final verdict.
 * That is only ever `unsafe`: once the target's field reads exactly `"unsafe"` in a well-formed start, the
 * final parse either returns that rating or fails closed, which is `unsafe` too. `safe` is never certain
 * before the output ends, since a duplicate field, a bad token or a cut can still follow and fail it closed.
 */
export function readEarlyRating(text: string, target: Target, options: Pick<ReadOptions, 'maxLength'> = {}): {
  rating: Rating | undefined;
  steps: number;
} {
  const meter = new Meter();
  const none = () => ({ rating: undefined, steps: meter.steps });
  if (typeof text !== 'string' || text.length > (options.maxLength ?? MAX_OUTPUT_LENGTH)) return none();
  const start = skipWhitespace(text, 0, meter);
  if (text.charCodeAt(start) !== 0x7b) return none();
  const scan = scanObject(text, start);
  meter.steps += scan.steps;
  if (scan.status === 'syntax-error' || keyProblem(scan.members, meter)) return none();
  const targetField = scan.members.find((m) => m.rawKey === VERDICT_FIELDS[target]);
  return ratingOf(targetField) === 'unsafe' ? { rating: 'unsafe', steps: meter.steps } : none();
}
