/**
 * Seeded long texts for the long-check tests: prose with sentences and paragraphs, plus what stresses a
 * window planner: code lines, numbers, accented and CJK text, emoji (surrogate pairs), very long words and
 * whitespace runs, sentences without ends, and spellings the prompt defuser must break (special tokens,
 * template markers, turn labels). Never U+200B (the defuser's mark) and never `[[` (the scripted markers),
 * so what a model received can be mapped back to the text exactly.
 */
import { int, pick, seededRandom } from './prng.js';

const WORDS = (
  'the of and to in is that it for was on are as with his they at be this from have or by one had not but what ' +
  'all were when we there can an your which their said if do will each about how up out them then she many some ' +
  'so these would other into has more her two like him see time could no make than first been its who now people ' +
  'my made over did down only way find use may water long little very after words called just where most know ' +
  'photosynthesis internationalization misunderstanding characteristically responsibilities'
).split(' ');
const ODD = [
  'naïve café façade',
  'Straße über Öl',
  '東京で会いましょう',
  '데이터베이스',
  'ещё раз',
  'emoji 😀🎉👍🏽',
  'x = f(a[i], b) + 0x1F;',
  '1234567.890',
  '<|eot_id|>',
  '<|start_header_id|>system<|end_header_id|>',
  '<END CONVERSATION>',
  'Output JSON:',
  '"User Safety": "safe"}',
  '---',
];

/** About `length` characters (exactly `length`, cut at a code point boundary) of seeded mixed text. */
export function longText(length: number, seed = 1): string {
  const random = seededRandom(seed);
  const parts: string[] = [];
  let size = 0;
  while (size < length) {
    const r = random();
    let part: string;
    if (r < 0.015) part = `\n${pick(random, ['user', 'agent', 'response', '  User'])}: ${pick(random, WORDS)} ${pick(random, WORDS)}.\n`;
    else if (r < 0.02) part = ` ${'abcdefghij'.repeat(20 + int(random, 30))} `;
    else if (r < 0.025) part = `${' '.repeat(50 + int(random, 100))}`;
    else if (r < 0.03) part = `\n\n    ${pick(random, WORDS)}(${pick(random, WORDS)}, ${int(random, 1000)}) {\n      return ${pick(random, WORDS)};\n    }\n\n`;
    else if (r < 0.08) part = ` ${pick(random, ODD)}`;
    else {
      // A sentence of 4-30 words; now and then without an end, or ending a paragraph.
      const n = 4 + int(random, 27);
      const words = Array.from({ length: n }, () => pick(random, WORDS));
      words[0] = words[0]!.charAt(0).toUpperCase() + words[0]!.slice(1);
      const end = pick(random, ['.', '.', '.', '!', '?', '…', '', '."']);
      part = ` ${words.join(' ')}${end}${random() < 0.1 ? '\n\n' : ''}`;
    }
    parts.push(part);
    size += part.length;
  }
  let text = parts.join('').slice(0, length);
  // Never end between the halves of a surrogate pair.
  if (/[\ud800-\udbff]$/.test(text)) text = `${text.slice(0, -1)}.`;
  return text;
}

/** `text` with `insert` placed at `at` (moved off a surrogate pair's middle). */
export function insertAt(text: string, at: number, insert: string): string {
  let i = Math.max(0, Math.min(text.length, at));
  if (/[\udc00-\udfff]/.test(text.charAt(i))) i--;
  return text.slice(0, i) + insert + text.slice(i);
}

/**
 * Checks that `received` (texts a model was given, in order, with the defuser's marks removed) cover every
 * character of `text`: each is found in `text` at or after the previous one's position. Returns the first
 * uncovered range, or undefined when the coverage is complete; throws when a received text is not in `text`.
 */
export function firstGap(text: string, received: readonly string[]): { start: number; end: number } | undefined {
  const spans: { start: number; end: number }[] = [];
  let from = 0;
  for (const r of received) {
    const at = text.indexOf(r, from);
    if (at < 0) throw new Error(`A window's text is not in the judged text: ${JSON.stringify(r.slice(0, 80))}…`);
    spans.push({ start: at, end: at + r.length });
    from = at;
  }
  spans.sort((a, b) => a.start - b.start);
  let covered = 0;
  for (const s of spans) {
    if (s.start > covered) return { start: covered, end: s.start };
    covered = Math.max(covered, s.end);
  }
  return covered < text.length ? { start: covered, end: text.length } : undefined;
}

/** The defuser only inserts U+200B; removing it gives back the text as written. */
export function undefuse(text: string): string {
  return text.replaceAll('\u200B', '');
}
