/**
 * Defusing untrusted text (the user's prompt and the assistant's reply) before it goes into the Aegis prompt.
 *
 * Goal: whatever the text says, the rendered prompt keeps its structure (the same special tokens in the same
 * places, one conversation block, one output cue, its own turn labels only), while the model still reads the
 * content nearly as written, because it must judge it. Every change is one invisible character, ZERO WIDTH
 * SPACE (U+200B, a single Llama-3 token, 16067), inserted where it breaks a dangerous spelling; nothing is
 * deleted except malformed UTF-16. Lone UTF-16 surrogates first become U+FFFD (the tokenizer's UTF-8
 * conversion would otherwise pair a lone high surrogate with the next character, swallowing e.g. the
 * template's newline after the text). Then the spellings below get a U+200B:
 *
 * 1. Special-token openers `<|`: U+200B between `<` and `|`. All 256 Llama-3 special tokens are spelled
 *    `<|...|>` and the runtime's tokenizer matches them literally even inside user text, so breaking every
 *    `<|` makes any full, nested (`<|<|eot_id|>|>`) or partial spelling plain text.
 * 2. Template markers `<BEGIN CONVERSATION`, `<END CONVERSATION`, `<BEGIN UNSAFE CONTENT CATEGORIES`,
 *    `<END UNSAFE CONTENT CATEGORIES` (the closing `>` is not needed; any white space, or none, between the
 *    words): U+200B right after the `<`.
 * 3. The output cue `Output JSON:`: U+200B right before the `:`.
 * 4. Turn labels: a line whose first word is `user`, `agent` or `response`, followed by `:` (the text's first
 *    line too, since it follows the template's `user: `): U+200B right before the `:`.
 *
 * Matching is done on a folded copy of the text, so that no spelling of these survives: every code point is
 * folded on its own by NFKC and case folding (`ｕｓｅｒ：`, `＜BEGIN CONVERSATION＞`, `𝐎𝐮𝐭𝐩𝐮𝐭 JSON︓`, `ſ`, `K`
 * all match); every Unicode line break (LF, VT, FF, CR, U+001C-U+001E, NEL, U+2028, U+2029) starts a line;
 * all white space counts as white space; and default-ignorable characters (soft hyphen, ZWJ, BOM, bidi
 * controls, variation selectors, ...) are skipped, except U+200B itself, which is what breaks a match. The
 * mark goes in at the original text's code point boundary next to the character that folded to `<` or `:`.
 * Folding code points one by one finds every match that folding the whole text would, and more (a `>` that a
 * following combining mark would compose away still counts), which only ever defuses more.
 *
 * Properties: removing every U+200B gives the text back (apart from lone surrogates); defusing defused text
 * changes nothing; the work is linear in the text's length. JSON-looking text is left as written: the model's
 * output is parsed, never the prompt.
 */
import { caseFold } from './case-fold.js';

/** The character inserted to break dangerous spellings. */
export const DEFUSE_MARK = '\u200B';

const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/gu;

// The patterns run on the folded text: lower case, white space as ' ', line breaks as '\n', no ignorables.
const SPECIAL_TOKEN_OPENER = /<\|/g;
const TEMPLATE_MARKER = /<[ \n]*(?:begin|end)[ \n]*(?:conversation|unsafe[ \n]*content[ \n]*categories)/g;
const OUTPUT_CUE = /output[ \n]*json[ \n]*:/g;
const TURN_LABEL = /(?<![^\n]) *(?:user|agent|response) *:/g;

const LINE_BREAKS: ReadonlySet<number> = new Set([0x0a, 0x0b, 0x0c, 0x0d, 0x1c, 0x1d, 0x1e, 0x85, 0x2028, 0x2029]);
const IGNORABLE = /^\p{Default_Ignorable_Code_Point}$/u;
// JavaScript's white space plus the C0 unit separator, which Python (and so many tokenizer-side tools) count too.
const WHITE_SPACE = /^[\s\x1f]$/u;

/** One folded character: a line break, white space, skipped, or itself. */
function foldChar(ch: string): string {
  const code = ch.codePointAt(0) as number;
  if (LINE_BREAKS.has(code)) return '\n';
  if (code === 0x200b) return ch;
  if (IGNORABLE.test(ch)) return '';
  if (WHITE_SPACE.test(ch)) return ' ';
  return ch;
}

/** A code point's folded form: its case fold (case-fold.ts), each resulting character folded as above. */
function foldCodePoint(ch: string): string {
  const simple = foldChar(ch);
  if (simple !== ch) return simple;
  const cased = caseFold(ch);
  let out = '';
  for (const c of cased) out += foldChar(c);
  return out;
}

/** The fold of each ASCII character, as a code unit (ASCII folds one to one). */
const ASCII_FOLDS = Uint16Array.from({ length: 0x80 }, (_, code) => foldCodePoint(String.fromCharCode(code)).charCodeAt(0));
/** Folds of the non-ASCII BMP code points seen so far (at most 63,488), and of some astral ones. */
const bmpFolds: Array<string | undefined> = [];
const astralFolds = new Map<number, string>();

function foldNonAscii(text: string, i: number, code: number): string {
  if (code <= 0xffff) return (bmpFolds[code] ??= foldCodePoint(text[i] as string));
  let folded = astralFolds.get(code);
  if (folded === undefined) {
    folded = foldCodePoint(text.slice(i, i + 2));
    if (astralFolds.size >= 4096) astralFolds.clear();
    astralFolds.set(code, folded);
  }
  return folded;
}

interface Folded {
  text: string;
  /** For each folded code unit, the index in the original of the code point it came from. */
  origin: Int32Array;
}

// ignoreBOM keeps a leading U+FEFF instead of dropping it (none can occur: it is skipped, but be exact).
const UTF16 = new TextDecoder('utf-16le', { ignoreBOM: true });

/** Folds `text` (well-formed UTF-16) code point by code point into code units, remembering where each came from. */
function foldText(text: string): Folded {
  let units = new Uint16Array(text.length);
  let origin = new Int32Array(text.length);
  let length = 0;
  for (let i = 0; i < text.length; ) {
    const unit = text.charCodeAt(i);
    if (unit < 0x80) {
      units[length] = ASCII_FOLDS[unit] as number;
      origin[length++] = i++;
      continue;
    }
    const code = text.codePointAt(i) as number;
    const folded = foldNonAscii(text, i, code);
    // Room for this fold and for every later code unit folding to one (ASCII writes without checking).
    if (length + folded.length + (text.length - i) > units.length) {
      const size = Math.max(units.length * 2, length + folded.length + (text.length - i));
      const grownUnits = new Uint16Array(size);
      const grownOrigin = new Int32Array(size);
      grownUnits.set(units);
      grownOrigin.set(origin);
      units = grownUnits;
      origin = grownOrigin;
    }
    for (let k = 0; k < folded.length; k++) {
      units[length] = folded.charCodeAt(k);
      origin[length++] = i;
    }
    i += code > 0xffff ? 2 : 1;
  }
  return { text: UTF16.decode(units.subarray(0, length)), origin };
}

/** Where the marks go: indices in `text` before which U+200B is inserted. */
function markPositions(text: string): number[] {
  const folded = foldText(text);
  const at = new Set<number>();
  const afterCodePointAt = (k: number) => {
    const i = folded.origin[k] as number;
    return i + (text.codePointAt(i) as number > 0xffff ? 2 : 1);
  };
  for (const pattern of [SPECIAL_TOKEN_OPENER, TEMPLATE_MARKER]) {
    for (const m of folded.text.matchAll(pattern)) at.add(afterCodePointAt(m.index));
  }
  for (const pattern of [OUTPUT_CUE, TURN_LABEL]) {
    for (const m of folded.text.matchAll(pattern)) at.add(folded.origin[m.index + m[0].length - 1] as number);
  }
  return [...at].sort((a, b) => a - b);
}

/** Applies the rules above to one untrusted text. */
export function defuseUntrustedText(text: string): string {
  const wellFormed = text.replace(LONE_SURROGATE, '\uFFFD');
  const positions = markPositions(wellFormed);
  if (positions.length === 0) return wellFormed;
  let out = '';
  let from = 0;
  for (const p of positions) {
    out += wellFormed.slice(from, p) + DEFUSE_MARK;
    from = p;
  }
  return out + wellFormed.slice(from);
}
