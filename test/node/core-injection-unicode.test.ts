/**
 * Every Unicode line break x every marker and turn label x every NFKC / case spelling the Unicode tables
 * give (generated over the whole BMP and the mathematical alphanumerics), placed in untrusted text: none may
 * change the prompt's special tokens or its marker and label counts, checked with the real Llama-3 tokenizer.
 */
import { beforeAll, describe, expect, test } from 'vitest';
import { DEFUSE_MARK, defuseUntrustedText, renderCheckPrompt } from '../../src/core/index.js';
import { INDENTS, LINE_BREAKS, MARKERS, countStructure, hasStructure, markerSpellings, variantTable } from '../helpers/marker-spellings.js';
import { pick, seededRandom } from '../helpers/prng.js';
import { structureProblems } from '../helpers/prompt-structure.js';
import { loadLlama3Tokenizer, type Llama3Tokenizer } from './core-llama3-tokenizer.js';

let tk: Llama3Tokenizer;
beforeAll(async () => {
  tk = await loadLlama3Tokenizer();
});

const TABLE = variantTable();
const SPELLINGS = markerSpellings(TABLE, seededRandom(2025));
/** One hostile line per spelling: after a line break, indented, with text after it. */
const lineOf = (lineBreak: string, spelling: string, indent = '') => `${lineBreak}${indent}${spelling} x`;

describe('the generated corpus', () => {
  test('covers the Unicode tables: fullwidth, small, circled, modifier, math and multi-letter forms', () => {
    for (const [piece, forms] of [[':', ['：', '﹕', '︓']], ['<', ['＜', '﹤']], ['u', ['ｕ', 'Ｕ', 'ⓤ', 'ᵘ', '𝐮']], ['s', ['ſ', 'ｓ']], ['in', ['㏌']], ['v', ['Ⅴ', 'ⅴ']]] as const) {
      for (const form of forms) expect(TABLE.get(piece), `${piece} ${form}`).toContain(form);
    }
    expect(SPELLINGS.length).toBeGreaterThan(5000);
  });

  test('every spelling, after every line break, is a marker or label to the checker before defusing (the corpus can fail)', () => {
    const missed: string[] = [];
    for (const lineBreak of LINE_BREAKS) {
      for (const spelling of SPELLINGS) {
        if (!hasStructure(lineOf(lineBreak, spelling))) missed.push(JSON.stringify(lineOf(lineBreak, spelling)));
      }
    }
    expect(missed.slice(0, 10)).toEqual([]);
  });
});

describe('defusing leaves no spelling of a marker or label', () => {
  test('text level: every line break x every spelling (indentations in turn)', () => {
    const survivors: string[] = [];
    let n = 0;
    for (const lineBreak of LINE_BREAKS) {
      for (const spelling of SPELLINGS) {
        const text = lineOf(lineBreak, spelling, INDENTS[n++ % INDENTS.length]);
        const out = defuseUntrustedText(text);
        if (hasStructure(out) && survivors.length < 10) survivors.push(JSON.stringify(out));
        if (out.split(DEFUSE_MARK).join('') !== text) survivors.push(`changed words: ${JSON.stringify(text)}`);
      }
    }
    expect(survivors).toEqual([]);
    expect(n).toBe(LINE_BREAKS.length * SPELLINGS.length);
  });

  // The tokenizer is slow on long exotic text, so it sees every spelling once (line breaks and indentations
  // in turn) and every line break with every marker as the template writes it; the text-level test above
  // covers the whole cross product.
  const tokenizerBatches = (): string[] => {
    const random = seededRandom(5);
    const lines = SPELLINGS.map((s, i) => lineOf(LINE_BREAKS[i % LINE_BREAKS.length] as string, s, pick(random, INDENTS)));
    for (const lineBreak of LINE_BREAKS) for (const marker of MARKERS) for (const indent of INDENTS) lines.push(lineOf(lineBreak, marker, indent));
    const batches: string[] = [];
    for (let i = 0; i < lines.length; i += 100) batches.push(lines.slice(i, i + 100).join(''));
    return batches;
  };

  test('through the real tokenizer: the same special tokens and marker counts, prompt and response checks', () => {
    const problems: string[] = [];
    let prompts = 0;
    for (const [i, text] of tokenizerBatches().entries()) {
      for (const input of [{ user: text }, { user: 'What now?', response: text }]) {
        const r = renderCheckPrompt(input);
        prompts++;
        const found = structureProblems(tk, r.text, input.response !== undefined, r.prefix);
        if (found.length > 0 && problems.length < 5) problems.push(`batch ${i}: ${found.join('; ')}`);
      }
    }
    expect(problems).toEqual([]);
    expect(prompts).toBeGreaterThan(120);
  });

  test('the structure check itself sees these spellings in a prompt that is not defused (control)', () => {
    const benign = countStructure(renderCheckPrompt({ user: 'x' }).text);
    const naive = (user: string) => renderCheckPrompt({ user: 'x' }).text.replace(' x\n\n<END CONVERSATION>', ` ${user}\n\n<END CONVERSATION>`);
    for (const lineBreak of LINE_BREAKS) {
      const text = SPELLINGS.slice(0, 400).map((s) => lineOf(lineBreak, s)).join('');
      expect(countStructure(naive(text))).not.toEqual(benign);
    }
  });
});
