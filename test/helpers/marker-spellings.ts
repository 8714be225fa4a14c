/**
 * Spellings of the prompt's markers and turn labels, generated from the Unicode tables (every BMP code point,
 * and the mathematical alphanumerics, whose NFKC + lower case is a character or a run of characters of a
 * marker), and a structure count over the whole prompt, written independently of src/core/sanitize.ts:
 * whole-text NFKC, lower case, every Unicode line break as '\n', default-ignorable characters other than
 * U+200B removed.
 */
import { pick, type Random } from './prng.js';

/** Every character that ends a line for some reader: LF, VT, FF, CR, FS, GS, RS, NEL, LS, PS (and CRLF). */
export const LINE_BREAKS: readonly string[] = ['\n', '\v', '\f', '\r', '\r\n', '\x1c', '\x1d', '\x1e', '\x85', '\u2028', '\u2029'];

/** The markers and labels as the template writes them. */
export const MARKERS: readonly string[] = [
  'user:', 'agent:', 'response:', 'response: agent:', '<BEGIN CONVERSATION>', '<END CONVERSATION>',
  '<BEGIN UNSAFE CONTENT CATEGORIES>', '<END UNSAFE CONTENT CATEGORIES>', 'Output JSON:', '<|eot_id|>',
  '<|start_header_id|>',
];

/** Default-ignorable characters a reader does not see. */
export const IGNORABLES: readonly string[] = ['\u00ad', '\u034f', '\u061c', '\u180e', '\u200c', '\u200d', '\u200e', '\u2060', '\u2064', '\u2066', '\ufe0f', '\ufeff'];
/** Indentation before a label. */
export const INDENTS: readonly string[] = ['', ' ', '\t', '\u00a0', '\u2003', '\u3000', '\u200d', '\u00ad '];

const IGNORABLE_BUT_ZWSP = /(?!\u200b)\p{Default_Ignorable_Code_Point}/gu;
const LINE_BREAK = /\r\n|[\n\v\f\r\x1c-\x1e\x85\u2028\u2029]/gu;

export function foldForCheck(text: string): string {
  return text.normalize('NFKC').toLowerCase().replace(LINE_BREAK, '\n').replace(IGNORABLE_BUT_ZWSP, '');
}

export interface StructureCounts {
  specialOpeners: number;
  beginConversation: number;
  endConversation: number;
  beginCategories: number;
  endCategories: number;
  outputCue: number;
  userLabels: number;
  replyLabels: number;
}

const count = (text: string, pattern: RegExp) => text.match(pattern)?.length ?? 0;

/** How often each structural spelling occurs in `text`, after folding. */
export function countStructure(text: string): StructureCounts {
  const f = foldForCheck(text);
  return {
    specialOpeners: count(f, /<\|/gu),
    beginConversation: count(f, /<\s*begin\s*conversation/gu),
    endConversation: count(f, /<\s*end\s*conversation/gu),
    beginCategories: count(f, /<\s*begin\s*unsafe\s*content\s*categories/gu),
    endCategories: count(f, /<\s*end\s*unsafe\s*content\s*categories/gu),
    outputCue: count(f, /output\s*json\s*:/gu),
    userLabels: count(f, /^[^\S\n]*user[^\S\n]*:/gmu),
    replyLabels: count(f, /^[^\S\n]*(?:response|agent)[^\S\n]*:/gmu),
  };
}

/** True when `text` holds any structural spelling at all. */
export const hasStructure = (text: string) => Object.values(countStructure(text)).some((n) => n > 0);

/**
 * For each lower-case piece of a marker (one character, or a run such as "in" for U+33CC), the code points
 * that fold to it: NFKC then lower case of the code point alone.
 */
export function variantTable(): Map<string, string[]> {
  const lowered = MARKERS.map((m) => m.toLowerCase());
  const table = new Map<string, string[]>();
  const consider = (ch: string) => {
    const f = ch.normalize('NFKC').toLowerCase();
    if (f === '' || !lowered.some((m) => m.includes(f))) return;
    const list = table.get(f) ?? [];
    list.push(ch);
    table.set(f, list);
  };
  for (let cp = 0; cp <= 0xffff; cp++) if (cp < 0xd800 || cp > 0xdfff) consider(String.fromCharCode(cp));
  for (let cp = 0x1d400; cp <= 0x1d7ff; cp++) consider(String.fromCodePoint(cp));
  return table;
}

/**
 * Every single substitution of a marker's character (or run) by a variant, then `randomPerMarker` spellings
 * with most characters substituted and ignorable characters sprinkled in.
 */
export function markerSpellings(table: Map<string, string[]>, random: Random, randomPerMarker = 30): string[] {
  const out: string[] = [];
  for (const marker of MARKERS) {
    const lower = marker.toLowerCase();
    for (const [piece, variants] of table) {
      for (let at = lower.indexOf(piece); at >= 0; at = lower.indexOf(piece, at + 1)) {
        for (const v of variants) {
          if (v !== marker.slice(at, at + piece.length)) out.push(marker.slice(0, at) + v + marker.slice(at + piece.length));
        }
      }
    }
    for (let i = 0; i < randomPerMarker; i++) {
      let spelled = '';
      for (const ch of marker) {
        const variants = table.get(ch.toLowerCase());
        spelled += variants && random() < 0.8 ? pick(random, variants) : ch;
        if (random() < 0.15) spelled += pick(random, IGNORABLES);
      }
      out.push(spelled);
    }
  }
  return out;
}
