/**
 * Every structural property a rendered check prompt must keep whatever its untrusted texts are, checked with
 * the real Llama-3 tokenizer (special tokens, marker token sequences) and on the folded text (markers and
 * turn labels in any NFKC / case / line-break spelling, see marker-spellings.ts).
 */
import { FIRST_SPECIAL_TOKEN_ID, renderCheckPrompt } from '../../src/core/index.js';
import { countStructure } from './marker-spellings.js';

export interface Tokenizer {
  encode(text: string): number[];
}

const BENIGN = { user: 'Hello, how are you?', response: 'Fine, thanks.' };

const specialsOf = (ids: number[]) => ids.flatMap((id, i) => (id >= FIRST_SPECIAL_TOKEN_ID ? [[i, id] as const] : []));

function indexOfSubsequence(haystack: number[], needle: number[], from = 0): number {
  outer: for (let i = from; i + needle.length <= haystack.length; i++) {
    for (let j = 0; j < needle.length; j++) if (haystack[i + j] !== needle[j]) continue outer;
    return i;
  }
  return -1;
}
function countSubsequence(haystack: number[], needle: number[]): number {
  let n = 0;
  for (let i = indexOfSubsequence(haystack, needle); i >= 0; i = indexOfSubsequence(haystack, needle, i + 1)) n++;
  return n;
}

const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

/** The benign prompt's facts, per tokenizer and shape, computed once. */
const benignCache = new WeakMap<Tokenizer, Map<boolean, { ids: number[]; closing: number[]; counts: ReturnType<typeof countStructure> }>>();
function benignOf(tk: Tokenizer, withResponse: boolean) {
  const perTk = benignCache.get(tk) ?? new Map();
  benignCache.set(tk, perTk);
  let facts = perTk.get(withResponse);
  if (!facts) {
    const text = renderCheckPrompt(withResponse ? BENIGN : { user: BENIGN.user }).text;
    facts = {
      ids: tk.encode(text),
      // The closing template from `<END CONVERSATION>` on (a stable pre-token boundary).
      closing: tk.encode(text.slice(text.lastIndexOf('<END CONVERSATION>'))),
      counts: countStructure(text),
    };
    perTk.set(withResponse, facts);
  }
  return facts;
}

const encoded = new WeakMap<Tokenizer, Map<string, number[]>>();
/** For texts that recur (the prefix, the markers): encoded once per tokenizer. */
function encodeOnce(tk: Tokenizer, text: string): number[] {
  const perTk = encoded.get(tk) ?? new Map<string, number[]>();
  encoded.set(tk, perTk);
  let ids = perTk.get(text);
  if (!ids) {
    ids = tk.encode(text);
    perTk.set(text, ids);
  }
  return ids;
}

/** What is wrong with the rendered prompt `text` (empty when its structure is intact). */
export function structureProblems(tk: Tokenizer, text: string, withResponse: boolean, prefix: string): string[] {
  const problems: string[] = [];
  const benign = benignOf(tk, withResponse);
  const ids = tk.encode(text);
  const prefixIds = encodeOnce(tk, prefix);
  const { closing } = benign;

  if (!same(specialsOf(ids).map(([, id]) => id), specialsOf(benign.ids).map(([, id]) => id))) {
    problems.push('special tokens differ from the benign prompt');
  }
  const prefixSpecials = specialsOf(prefixIds);
  if (!same(specialsOf(ids).slice(0, prefixSpecials.length), prefixSpecials)) problems.push('prefix specials moved');
  const fromEnd = (list: ReturnType<typeof specialsOf>, len: number) => list.map(([i, id]) => [len - i, id]);
  if (!same(fromEnd(specialsOf(ids), ids.length).slice(prefixSpecials.length), fromEnd(specialsOf(benign.ids), benign.ids.length).slice(prefixSpecials.length))) {
    problems.push('closing specials moved');
  }
  if (ids.slice(prefixIds.length, ids.length - closing.length).some((id) => id >= FIRST_SPECIAL_TOKEN_ID)) {
    problems.push('a special token inside the untrusted region');
  }
  if (!same(ids.slice(0, prefixIds.length), prefixIds)) problems.push('the prefix tokens changed');
  if (!same(ids.slice(ids.length - closing.length), closing)) problems.push('the closing tokens changed');
  // Each marker's token sequence exactly once (without the '>', which merges with the newlines after it).
  for (const marker of ['<BEGIN CONVERSATION', '<END CONVERSATION', '<BEGIN UNSAFE CONTENT CATEGORIES', '<END UNSAFE CONTENT CATEGORIES', 'Output JSON:']) {
    const n = countSubsequence(ids, encodeOnce(tk, marker));
    if (n !== 1) problems.push(`${marker}: ${n} token occurrences`);
  }
  // Folded text: the same count of every marker, cue, turn label and special-token opener.
  const counts = countStructure(text);
  for (const [key, n] of Object.entries(counts)) {
    const expected = benign.counts[key as keyof typeof counts];
    if (n !== expected) problems.push(`${key}: ${n}, expected ${expected}`);
  }
  return problems;
}
