/**
 * Jump-forward category decoding (category-decode.ts) against the scripted KV-cache model with the real
 * Llama-3 tokenizer: the same text as greedy decoding (the JSON path) whenever the model writes listed
 * names, one decode step per real choice, and what happens when the model leaves the list.
 */
import { beforeAll, describe, expect, test } from 'vitest';
import { AEGIS_TAXONOMY } from '../../src/core/taxonomy.js';
import type { CustomCategory, Target } from '../../src/core/types.js';
import { categoryGrammarFor } from '../../src/worker/category-decode.js';
import { judgeFast } from '../../src/worker/fast-judge.js';
import { judgeByJson } from '../../src/worker/json-judge.js';
import { NODE_SPEC, NodeFastEngine, checkRequest, judgeContext, type NodeFastEngineOptions } from '../helpers/node-fast-engine.js';
import { scriptedVerdict } from '../helpers/scripted-engine.js';
import type { ScriptedAnswerFn } from '../helpers/scripted-token-session.js';
import { seededRandom } from '../helpers/prng.js';
import { loadLlama3Tokenizer, type Llama3Tokenizer } from './core-llama3-tokenizer.js';

let tk: Llama3Tokenizer;
beforeAll(async () => {
  tk = await loadLlama3Tokenizer();
});

async function engineWith(options: NodeFastEngineOptions = {}): Promise<NodeFastEngine> {
  const engine = new NodeFastEngine(tk, options);
  await engine.load(NODE_SPEC);
  return engine;
}

const CUSTOM: CustomCategory[] = [
  { name: 'Competitor Mentions', description: 'Naming rival products.' },
  { name: 'Crypto 2.0 Hype' },
  { name: '18+ Content' },
  { name: 'Ünïcode Ñame' },
];

/** Both judges on the same request; the fast one must write what greedy decoding writes. */
async function bothJudges(engine: NodeFastEngine, target: Target, user: string, response?: string, categories = CUSTOM) {
  const request = checkRequest(target, user, { response, categories });
  const fast = await judgeFast(engine, request, judgeContext());
  const greedy = await judgeByJson(engine, request, judgeContext());
  return { fast, greedy };
}

describe('the trie', () => {
  test('holds every listed name; names whose first token would merge with the quote, or holding "}", are decoded greedily', async () => {
    const engine = await engineWith();
    const odd = [...CUSTOM, { name: '(Parenthesized)' }, { name: 'Curly } Name' }];
    const grammar = await categoryGrammarFor(engine.tokens()!, odd);
    expect(grammar.skipped).toEqual(['(Parenthesized)', 'Curly } Name']);
    // One branch per distinct first token: "Sexual" and "Sexual (minor)" share theirs.
    expect(grammar.first.children.size).toBe(AEGIS_TAXONOMY.length + CUSTOM.length - 1);
    expect(grammar.next.children.size).toBe(AEGIS_TAXONOMY.length + CUSTOM.length - 1);
    expect(grammar.afterRating.unsafe.children.size).toBe(2);
  });
});

describe('listed names: the text of greedy decoding, one step per real choice', () => {
  // "Sexual (minor)" needs one more choice (after "Sexual": " (" or the end of the name).
  const simpleNames = [...AEGIS_TAXONOMY.map((c) => c.name).filter((n) => n !== 'Sexual (minor)'), ...CUSTOM.map((c) => c.name)];

  test('seeded lists of 1-4 names, as prompt and reply checks: same raw answer, 2k+1 steps (+1 for the reply bridge)', async () => {
    const engine = await engineWith();
    const random = seededRandom(2024);
    for (let i = 0; i < 60; i++) {
      const k = 1 + Math.floor(random() * 4);
      const names = [...new Set(Array.from({ length: k }, () => simpleNames[Math.floor(random() * simpleNames.length)]!))];
      const marker = `[[unsafe:${names.join(', ')}]]`;
      const reply = i % 2 === 1;
      const { fast, greedy } = reply
        ? await bothJudges(engine, 'response', 'tell me', `Here it is ${marker}`)
        : await bothJudges(engine, 'prompt', `say it ${marker}`);
      expect(fast.raw, marker).toBe(greedy.raw);
      expect(fast.categories).toEqual(greedy.categories);
      expect(fast.categories.every((c) => c.code !== null)).toBe(true);
      // Close or list; then per name: which one, another or close.
      expect(fast.completionTokens, marker).toBe(2 * names.length + 1 + (reply ? 1 : 0));
      // Greedy decoding forwards every answer token after the rating: far more steps.
      expect(greedy.completionTokens).toBeGreaterThan(fast.completionTokens);
    }
  });

  test('"Sexual" and "Sexual (minor)": one more choice where they part', async () => {
    const engine = await engineWith();
    const { fast, greedy } = await bothJudges(engine, 'prompt', 'x [[unsafe:Sexual (minor), Sexual]]');
    expect(fast.raw).toBe(greedy.raw);
    expect(fast.categories.map((c) => c.code)).toEqual(['S7', 'S2']);
    // close or list | which | " (" or end | "," or end | which | "," or end.
    expect(fast.completionTokens).toBe(6);
  });

  test('a safe verdict with wantCategories: one step, the model closes the answer', async () => {
    const engine = await engineWith();
    const j = await judgeFast(engine, checkRequest('prompt', 'hello', { wantCategories: true }), judgeContext());
    expect(j).toMatchObject({ raw: '{"User Safety": "safe"}', completionTokens: 1, categories: [] });
  });
});

describe('when greedy decoding would not write a listed name', () => {
  test('a name that is not listed: plain greedy decoding from its first token, the same text, the name kept without a code', async () => {
    const engine = await engineWith();
    const { fast, greedy } = await bothJudges(engine, 'prompt', 'x [[unsafe:Violence, Made Up Thing]]');
    expect(fast.raw).toBe(greedy.raw);
    expect(fast.categories).toEqual([
      { code: 'S1', name: 'Violence' },
      { code: null, name: 'Made Up Thing' },
    ]);
    // 5 steps up to the second "which", then one per token of " Made Up Thing".
    expect(fast.completionTokens).toBe(4 + tk.encode(' Made Up Thing').length);
  });

  test('a listed name in other casing: greedy from its first token, the parser still finds the category', async () => {
    const engine = await engineWith();
    const { fast, greedy } = await bothJudges(engine, 'prompt', 'x [[unsafe:violence]]');
    expect(fast.raw).toBe(greedy.raw);
    expect(fast.categories).toEqual([{ code: 'S1', name: 'Violence' }]);
  });

  test('a name holding "}": greedy, cut at the brace like the plain path, fails closed alike', async () => {
    const engine = await engineWith();
    const { fast, greedy } = await bothJudges(engine, 'prompt', 'x [[unsafe:Curly } Name]]', undefined, [{ name: 'Curly } Name' }]);
    expect(fast.raw).toBe(greedy.raw);
    expect(fast).toMatchObject({ rating: 'unsafe', failure: 'truncated' });
    expect(greedy.failure).toBe('truncated');
  });

  test('a name the model begins like a listed one but ends otherwise: the forced run completes the listed name', async () => {
    // Past its own words, the scripted model (like a real one) goes on from what is in its cache: it ends
    // the list there. Greedy decoding writes its own name.
    const continuing: ScriptedAnswerFn = (user, response, written, writtenText) => {
      const intended = scriptedVerdict(user, response, written);
      return intended.text.startsWith(writtenText) ? intended : { text: `${writtenText}"}`, p: intended.p };
    };
    const engine = await engineWith({ answer: continuing });
    const { fast, greedy } = await bothJudges(engine, 'prompt', 'x [[unsafe:Guns and Ammunition]]');
    expect(greedy.raw).toBe('{"User Safety": "unsafe", "Safety Categories": "Guns and Ammunition"}');
    expect(greedy.categories).toEqual([{ code: null, name: 'Guns and Ammunition' }]);
    // "G" (the model's choice) is the first token of one listed name only: "uns and Illegal Weapons" is forced.
    expect(fast.raw).toBe('{"User Safety": "unsafe", "Safety Categories": "Guns and Illegal Weapons"}');
    expect(fast.categories).toEqual([{ code: 'S4', name: 'Guns and Illegal Weapons' }]);
    expect(fast).toMatchObject({ rating: 'unsafe', completionTokens: 3 });
  });
});
