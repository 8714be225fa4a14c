/**
 * The Aegis 2.0 content-safety taxonomy (S1..S23) plus application-defined categories (S24+).
 *
 * Names are spelled exactly as in the model's prompt template: the model answers with these names, and
 * {@link resolveCategory} maps what it writes back to codes.
 */
import { AegisInputError } from './errors.js';
import type { Category, CategoryGroup, CustomCategory } from './types.js';

const aegis = (n: number, name: string, group: CategoryGroup): Category =>
  Object.freeze({ code: `S${n}`, name, group });

/** The 23 Aegis 2.0 categories, in prompt order. S1-S12 core hazards, S13 caution, S14 other, S15-S23 fine-grained. */
export const AEGIS_TAXONOMY: readonly Category[] = Object.freeze([
  aegis(1, 'Violence', 'core'),
  aegis(2, 'Sexual', 'core'),
  aegis(3, 'Criminal Planning/Confessions', 'core'),
  aegis(4, 'Guns and Illegal Weapons', 'core'),
  aegis(5, 'Controlled/Regulated Substances', 'core'),
  aegis(6, 'Suicide and Self Harm', 'core'),
  aegis(7, 'Sexual (minor)', 'core'),
  aegis(8, 'Hate/Identity Hate', 'core'),
  aegis(9, 'PII/Privacy', 'core'),
  aegis(10, 'Harassment', 'core'),
  aegis(11, 'Threat', 'core'),
  aegis(12, 'Profanity', 'core'),
  aegis(13, 'Needs Caution', 'caution'),
  aegis(14, 'Other', 'other'),
  aegis(15, 'Manipulation', 'fine-grained'),
  aegis(16, 'Fraud/Deception', 'fine-grained'),
  aegis(17, 'Malware', 'fine-grained'),
  aegis(18, 'High Risk Gov Decision Making', 'fine-grained'),
  aegis(19, 'Political/Misinformation/Conspiracy', 'fine-grained'),
  aegis(20, 'Copyright/Trademark/Plagiarism', 'fine-grained'),
  aegis(21, 'Unauthorized Advice', 'fine-grained'),
  aegis(22, 'Illegal Activity', 'fine-grained'),
  aegis(23, 'Immoral/Unethical', 'fine-grained'),
]);

/** Code of the first custom category. */
export const FIRST_CUSTOM_CATEGORY_NUMBER = AEGIS_TAXONOMY.length + 1;
/** Limits that keep the prompt (and the model's attention) reasonable. */
export const MAX_CUSTOM_CATEGORIES = 64;
export const MAX_CATEGORY_NAME_LENGTH = 80;
export const MAX_CATEGORY_DESCRIPTION_LENGTH = 300;

/**
 * The comparison key of a category name: lower case, whitespace removed, trailing periods dropped.
 * "criminal planning / confessions." and "Criminal Planning/Confessions" share a key.
 */
export function categoryKey(name: string): string {
  return name
    .toLowerCase()
    .replace(/\s+/gu, '')
    .replace(/\.+$/u, '');
}

const S_CODE = /^s([1-9]\d*)$/iu;
/** "S5", "S5:", "S5: Controlled/Regulated Substances" -> the code number and the rest. */
const S_CODE_PREFIX = /^\s*s([1-9]\d*)\s*(?::\s*(.*))?$/isu;

/** True for a well-formed category code: `S` followed by a positive number without leading zeros. */
export function isCategoryCode(code: unknown): code is string {
  return typeof code === 'string' && /^S[1-9]\d*$/u.test(code);
}

// Spellings that would let category text change the prompt's structure.
const FORBIDDEN_IN_PROMPT_TEXT: ReadonlyArray<[RegExp, string]> = [
  [/<\|/u, "a special-token spelling ('<|')"],
  [/<\s*(begin|end)\s+(conversation|unsafe\s+content\s+categories)\s*>/iu, 'a template marker'],
  [/output\s*json\s*:/iu, "the template marker 'Output JSON:'"],
  // eslint-disable-next-line no-control-regex
  [/[\u0000-\u001f\u007f\u0085\u2028\u2029]/u, 'a line break or control character'],
  [/[\ud800-\udfff]/u, 'a surrogate (malformed Unicode)'],
];
// Names come back inside the model's JSON string, as a comma-separated list: these would break the round trip.
const FORBIDDEN_IN_NAME: ReadonlyArray<[RegExp, string]> = [
  [/,/u, 'a comma (the model separates category names with commas)'],
  [/"/u, 'a double quote (the model writes category names inside a JSON string)'],
];

function checkText(label: string, text: string, maxLength: number, rules: ReadonlyArray<[RegExp, string]>): void {
  if (text.length > maxLength) {
    throw new AegisInputError(`${label} is ${text.length} characters long; the limit is ${maxLength}.`);
  }
  for (const [pattern, what] of rules) {
    if (pattern.test(text)) throw new AegisInputError(`${label} must not contain ${what}.`);
  }
}

/**
 * Checks and normalizes the application's custom categories (names and descriptions trimmed, trailing
 * periods of names dropped since the prompt adds its own). Throws `AegisInputError` on: a non-array, a
 * non-object entry, a missing/empty/over-long name, a name that is an S-code or contains a comma, quote,
 * line break, control character, special-token spelling or template marker, a name equal (ignoring case,
 * spacing and trailing periods) to an Aegis category or another custom one, an over-long or multi-line
 * description, or more than {@link MAX_CUSTOM_CATEGORIES} entries.
 */
export function validateCustomCategories(custom: unknown): CustomCategory[] {
  if (custom === undefined || custom === null) return [];
  if (!Array.isArray(custom)) {
    throw new AegisInputError('categories must be an array of { name, description? } objects.');
  }
  if (custom.length > MAX_CUSTOM_CATEGORIES) {
    throw new AegisInputError(`At most ${MAX_CUSTOM_CATEGORIES} custom categories are allowed; got ${custom.length}.`);
  }
  const seen = new Map<string, string>(AEGIS_TAXONOMY.map((c) => [categoryKey(c.name), `${c.code} (${c.name})`]));
  return custom.map((entry: unknown, i): CustomCategory => {
    const where = `categories[${i}]`;
    if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) {
      throw new AegisInputError(`${where} must be an object { name, description? }.`);
    }
    const { name: rawName, description: rawDescription, ...extra } = entry as Record<string, unknown>;
    const unknownKeys = Object.keys(extra);
    if (unknownKeys.length > 0) {
      throw new AegisInputError(`${where} has unknown field(s): ${unknownKeys.join(', ')}.`);
    }
    if (typeof rawName !== 'string') throw new AegisInputError(`${where}.name must be a string.`);
    const name = rawName.trim().replace(/\s*\.+$/u, '');
    if (name === '') throw new AegisInputError(`${where}.name must not be empty.`);
    checkText(`${where}.name`, name, MAX_CATEGORY_NAME_LENGTH, [...FORBIDDEN_IN_PROMPT_TEXT, ...FORBIDDEN_IN_NAME]);
    if (S_CODE.test(name)) {
      throw new AegisInputError(`${where}.name must be a name, not a category code ('${name}').`);
    }
    const key = categoryKey(name);
    const clash = seen.get(key);
    if (clash) throw new AegisInputError(`${where}.name '${name}' duplicates category ${clash}.`);
    seen.set(key, `${where} (${name})`);

    if (rawDescription === undefined) return { name };
    if (typeof rawDescription !== 'string') throw new AegisInputError(`${where}.description must be a string.`);
    const description = rawDescription.trim();
    if (description === '') return { name };
    checkText(`${where}.description`, description, MAX_CATEGORY_DESCRIPTION_LENGTH, FORBIDDEN_IN_PROMPT_TEXT);
    return { name, description };
  });
}

/** The full taxonomy for one guard: the 23 Aegis categories followed by the custom ones as S24, S25, ... */
export function buildTaxonomy(custom?: readonly CustomCategory[]): readonly Category[] {
  const extra = validateCustomCategories(custom).map(
    (c, i): Category => ({
      code: `S${FIRST_CUSTOM_CATEGORY_NUMBER + i}`,
      name: c.name,
      group: 'custom',
      ...(c.description === undefined ? {} : { description: c.description }),
    }),
  );
  return extra.length === 0 ? AEGIS_TAXONOMY : [...AEGIS_TAXONOMY, ...extra];
}

/**
 * Finds the category the model meant. Accepts a name as the model writes it (any case, any spacing,
 * trailing period), a bare code ("S5") or a code with its name ("S5: Controlled/Regulated Substances").
 * `taxonomy` defaults to the 23 Aegis categories; pass {@link buildTaxonomy}'s result to include custom ones.
 */
export function resolveCategory(name: string, taxonomy: readonly Category[] = AEGIS_TAXONOMY): Category | undefined {
  const byName = taxonomy.find((c) => categoryKey(c.name) === categoryKey(name));
  if (byName) return byName;
  const coded = S_CODE_PREFIX.exec(name);
  if (!coded) return undefined;
  const byCode = taxonomy.find((c) => c.code === `S${coded[1]}`);
  // "S5: Something else" names a different category than S5 is: trust neither.
  const rest = coded[2]?.trim();
  if (byCode && rest && categoryKey(rest) !== categoryKey(byCode.name)) return undefined;
  return byCode;
}

/** The code of the category `name` refers to (see {@link resolveCategory}), among Aegis and `custom` ones; null if none. */
export function resolveCategoryCode(name: string, custom?: readonly CustomCategory[]): string | null {
  return resolveCategory(name, buildTaxonomy(custom))?.code ?? null;
}
