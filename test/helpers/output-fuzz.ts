/**
 * A seeded mutation fuzzer of the model's real outputs, and an oracle for them that shares no code with the
 * parser: one regular expression for the real answer shapes, plus JSON.parse for string literals.
 */
import type { Rating, Target } from '../../src/core/types.js';
import { int, pick, type Random } from './prng.js';

/** Outputs the model really writes (greedy decoding), for prompt and response checks. */
export const REAL_OUTPUTS: readonly string[] = [
  '{"User Safety": "safe"}',
  '{"User Safety": "unsafe", "Safety Categories": "Violence"}',
  '{"User Safety": "unsafe", "Safety Categories": "Violence, Criminal Planning/Confessions"}',
  '{"User Safety": "unsafe", "Safety Categories": "Guns and Illegal Weapons, Threat, Hate/Identity Hate"}',
  '{"User Safety": "safe", "Response Safety": "safe"}',
  '{"User Safety": "unsafe", "Response Safety": "safe", "Safety Categories": "Suicide and Self Harm"}',
  '{"User Safety": "safe", "Response Safety": "unsafe", "Safety Categories": "Malware, Fraud/Deception"}',
  '{"User Safety": "unsafe", "Response Safety": "unsafe", "Safety Categories": "Sexual (minor), PII/Privacy"}',
  '{"User Safety": "unsafe", "Safety Categories": "Needs Caution"}',
  '{"User Safety": "unsafe", "Safety Categories": "Competitor Mentions"}',
  '{"User Safety": "safe"}<|eot_id|>',
  '{"User Safety": "unsafe", "Response Safety": "safe"}\n<|eot_id|>',
];

const KEYS = ['User Safety', 'Response Safety', 'Safety Categories'];

const KEY_VARIANTS = (key: string): string[] => [
  key,
  key.replace(' ', ''),
  key.toLowerCase(),
  key.toUpperCase(),
  key.replace(' ', '  '),
  key.replace(' ', '\u00a0'),
  key.replace(' ', '\t'),
  ` ${key}`,
  `${key} `,
  `\ufeff${key}`,
  `${key}\u200b`,
  key.replace(' ', '_'),
  key.replace(/./u, (c) => String.fromCharCode(c.charCodeAt(0) + 0xfee0)),
  key.replace(' ', '\\u0020'),
];

const RATING_VARIANTS = [
  'safe', 'unsafe', ' safe', 'safe ', ' safe ', '\ufeffsafe', 'safe\ufeff', '\u200bsafe', 'safe\u200b', 'Safe', 'SAFE',
  'sAfe', 'Unsafe', 'UNSAFE', 'safe.', 'safe\\n', '\\u0073afe', 'ｓａｆｅ', 'safe\u00a0', 's afe', 'safe,unsafe', '',
  'not unsafe', 'safe"', 'unsafe\\"',
];

const JUNK = [
  '<|eot_id|>', '<|end_of_text|>', '<|eom_id|>', '<|EOT_ID|>', '<|Eot_Id|>', '<|unsafe|>', '<|safe|>', '<|eot_id|',
  '<|eot_id', '|>', '<||>', '<|reserved_special_token_0|>', '<|start_header_id|>', '<|eot_id|>x', '<\u200b|eot_id|>',
  '＜｜eot_id｜＞', '\ufeff', '\u00a0', '\u2028', '\u0085', '\u3000', ' ', '\n', '\r\n', '\t', 'x', '}', '{}', ']', '"',
  ',', '```', '.', '<|eot_id|><|eot_id|>',
];

const UNICODE_SPACES = ['\u00a0', '\u2000', '\u2003', '\u2009', '\u200a', '\u200b', '\u202f', '\u205f', '\u3000', '\ufeff', '\u180e', '\u2028', '\u2029', '\u0085', '\u000b', '\u000c'];

const CHAR_POOL = [
  ...'{}[]":,\\ \t\n\r/.-+0123456789eEtfnulsafeSAFEUuxyz',
  '\u0000', '\u001f', '\u007f', '\ud800', '\udc00', '😀', 'é', "'", '“', '”', '<', '|', '>',
  ...UNICODE_SPACES,
];

function nest(random: Random, inner: string): string {
  const depth = pick(random, [1, 2, 3, 10, 100, 1000, 4000]);
  const open = random() < 0.5 ? '[' : '{"a": ';
  const close = open === '[' ? ']' : '}';
  const balanced = random() < 0.8;
  return open.repeat(depth) + inner + (balanced ? close.repeat(depth) : close.repeat(int(random, depth)));
}

const MEMBER = /"(User Safety|Response Safety|Safety Categories)": "([^"]*)"/gu;

type Mutation = (random: Random, text: string) => string;
const insertAt = (text: string, at: number, piece: string) => text.slice(0, at) + piece + text.slice(at);

const MUTATIONS: Mutation[] = [
  // Byte and character edits.
  (r, t) => insertAt(t, int(r, t.length + 1), pick(r, CHAR_POOL)),
  (r, t) => {
    const at = int(r, t.length);
    return t.slice(0, at) + t.slice(at + 1 + int(r, 3));
  },
  (r, t) => {
    const a = int(r, t.length);
    const b = a + 1 + int(r, 12);
    return insertAt(t, int(r, t.length + 1), t.slice(a, b));
  },
  (r, t) => t.slice(0, int(r, t.length + 1)),
  (r, t) => {
    const at = int(r, t.length);
    const c = t[at] ?? '';
    const flipped = c === c.toLowerCase() ? c.toUpperCase() : c.toLowerCase();
    return t.slice(0, at) + flipped + t.slice(at + 1);
  },
  (r, t) => insertAt(t, int(r, t.length + 1), pick(r, UNICODE_SPACES)),
  // A field stated again, in another spelling, with another rating.
  (r, t) => {
    const key = pick(r, KEY_VARIANTS(pick(r, KEYS)));
    const member = `"${key}": "${pick(r, RATING_VARIANTS)}"`;
    const close = t.lastIndexOf('}');
    if (r() < 0.5 && close > 0) return insertAt(t, close, `, ${member}`);
    const open = t.indexOf('{');
    return open < 0 ? t : insertAt(t, open + 1, `${member}, `);
  },
  // A key or rating respelled in place.
  (r, t) => {
    const members = [...t.matchAll(MEMBER)];
    if (members.length === 0) return t;
    const m = pick(r, members);
    const respelled = r() < 0.5 ? `"${pick(r, KEY_VARIANTS(m[1] as string))}": "${m[2]}"` : `"${m[1]}": "${pick(r, RATING_VARIANTS)}"`;
    return t.slice(0, m.index) + respelled + t.slice(m.index + m[0].length);
  },
  // Special-token-looking junk after (or before) the object.
  (r, t) => (r() < 0.8 ? t + pick(r, JUNK) : pick(r, JUNK) + t),
  // Nesting, balanced or not, around a value or as an extra member.
  (r, t) => {
    const members = [...t.matchAll(MEMBER)];
    if (members.length === 0 || r() < 0.3) {
      const close = t.lastIndexOf('}');
      return close < 0 ? t : insertAt(t, close, `, "x": ${nest(r, '"safe"')}`);
    }
    const m = pick(r, members);
    return t.slice(0, m.index) + `"${m[1]}": ${nest(r, `"${m[2]}"`)}` + t.slice(m.index + m[0].length);
  },
  // Wrappers real outputs never have.
  (r, t) => pick(r, ['```json\n', '```\n', '\ufeff', 'Output JSON: ', ' ', '\n', '<|eot_id|>', '[']) + t + pick(r, ['', '\n```', ']', ' ']),
  // Members dropped or reordered (both may still be real shapes).
  (r, t) => {
    const members = [...t.matchAll(MEMBER)].map((m) => m[0]);
    if (members.length < 2) return t;
    const kept = r() < 0.5 ? members.slice().reverse() : members.filter(() => r() < 0.7);
    return `{${kept.join(', ')}}`;
  },
  // Quote and separator swaps.
  (r, t) => t.replace(pick(r, [/"/u, /: /u, /, /u]), pick(r, ["'", '“', ':', ' : ', ',', '', ' ,  '])),
];

/** One mutated output: a real output with 1 to 4 mutations applied. */
export function mutatedOutput(random: Random): string {
  let text = pick(random, REAL_OUTPUTS);
  const count = 1 + int(random, 4);
  for (let i = 0; i < count; i++) text = pick(random, MUTATIONS)(random, text);
  return text;
}

// The oracle: the real answer shapes as one regular expression over the raw text.
const WS = '[ \\t\\n\\r]*';
const STRING = '"(?:[^"\\\\\\u0000-\\u001f]|\\\\["\\\\/bfnrt]|\\\\u[0-9a-fA-F]{4})*"';
const MEMBER_SOURCE = `"(User Safety|Response Safety)"${WS}:${WS}"(safe|unsafe)"|"(Safety Categories)"${WS}:${WS}(${STRING})`;
const END_OF_TURN = '<\\|eot_id\\|>|<\\|end_of_text\\|>|<\\|eom_id\\|>';
const SHAPE = new RegExp(
  `^${WS}\\{${WS}(?:${MEMBER_SOURCE})(?:${WS},${WS}(?:${MEMBER_SOURCE}))*${WS}\\}(?:[ \\t\\n\\r]|${END_OF_TURN})*$`,
  'u',
);
const MEMBER_AT = new RegExp(`${WS}[{,]${WS}(?:${MEMBER_SOURCE})`, 'uy');

/**
 * What the output must be read as: the target's rating when the text is one of the real answer shapes
 * (each field at most once, "User Safety" and the target's field present), otherwise undefined (the parser
 * must then fail closed).
 */
export function oracleRating(text: string, target: Target): Rating | undefined {
  if (text.length > 16 * 1024 || !SHAPE.test(text)) return undefined;
  const ratings = new Map<string, Rating>();
  const seen = new Set<string>();
  MEMBER_AT.lastIndex = 0;
  for (let m = MEMBER_AT.exec(text); m; m = MEMBER_AT.exec(text)) {
    const key = (m[1] ?? m[3]) as string;
    if (seen.has(key)) return undefined;
    seen.add(key);
    if (m[2]) ratings.set(key, m[2] as Rating);
    else JSON.parse(m[4] as string);
  }
  const field = target === 'prompt' ? 'User Safety' : 'Response Safety';
  if (!ratings.has('User Safety')) return undefined;
  return ratings.get(field);
}
