/**
 * Long checks at the default limit: 1 MB texts, on the fast path (real tokenizer, scripted KV-cache model)
 * and the JSON path (estimate). Coverage is rebuilt from what the model received; cost from what was
 * forwarded.
 */
import { beforeAll, describe, expect, test } from 'vitest';
import { renderCheckPrefix } from '../../src/core/prompt.js';
import { defuseUntrustedText } from '../../src/core/sanitize.js';
import { fastPromptParts } from '../../src/worker/fast-prompt.js';
import { fastLongCheck, jsonLongCheck, runCheck } from '../helpers/long-check.js';
import { firstGap, insertAt, longText } from '../helpers/long-text.js';
import { checkRequest } from '../helpers/node-fast-engine.js';
import { loadLlama3Tokenizer, type Llama3Tokenizer } from './core-llama3-tokenizer.js';

const MB = 1_000_000;
const MARKER = ' [[unsafe:Malware]] ';
let tk: Llama3Tokenizer;
let text: string;
beforeAll(async () => {
  tk = await loadLlama3Tokenizer();
  text = longText(MB - MARKER.length, 41);
});

/** The text with the marker at `share` of its length (0: start, 1: end). */
const marked = (share: number) => insertAt(text, Math.round(share * text.length), MARKER);

describe('1 MB on the fast path', () => {
  test('unsafe text at the end: every window judged, every character covered, cost bounded', { timeout: 300_000 }, async () => {
    const t = await fastLongCheck(tk);
    const input = marked(1);
    expect(input.length).toBe(MB);
    const { verdict } = await runCheck(t, checkRequest('prompt', input));
    expect(verdict).toMatchObject({ safe: false, categories: [{ code: 'S17', name: 'Malware' }] });
    expect(verdict.unsafeSpans).toEqual([{ start: expect.any(Number), end: MB }]);
    expect(firstGap(input, t.received.map((r) => r.user))).toBeUndefined();
    expect(t.received).toHaveLength(verdict.windows!);

    // Tokens forwarded: at most 1.2 x the text's own tokens plus one whole template per window.
    const textTokens = tk.encode(defuseUntrustedText(input)).length;
    const template = tk.encode(renderCheckPrefix()).length + tk.encode(fastPromptParts({ user: '' }).suffix).length;
    const forwarded = t.engine.tokenStats.forwards.reduce((a, b) => a + b, 0);
    expect(forwarded).toBe(verdict.tokens.prompt + verdict.tokens.completion);
    expect(forwarded).toBeLessThanOrEqual(1.2 * textTokens + verdict.windows! * template);
    // The windows are full: not many more than the text's tokens over a window's room.
    expect(verdict.windows!).toBeLessThan((1.25 * textTokens) / (4096 - template - 200));
    // The prefix was prefilled once, then reused by every window.
    expect(t.engine.tokenStats.prefillsFromEmpty).toBe(1);
  });

  test.each([
    ['start', 0],
    ['middle', 0.5],
  ])('unsafe text at the %s is caught, and the check stops there', { timeout: 300_000 }, async (_where, share) => {
    const t = await fastLongCheck(tk);
    const input = marked(share);
    const at = input.indexOf(MARKER.trim());
    const { verdict } = await runCheck(t, checkRequest('prompt', input));
    expect(verdict.safe).toBe(false);
    const [span] = verdict.unsafeSpans!;
    expect(span!.start).toBeLessThanOrEqual(at);
    expect(span!.end).toBeGreaterThan(at);
    expect(t.received.at(-1)!.user).toContain(MARKER.trim());
    if (share === 0) expect(verdict.windows).toBe(1);
  });
});

describe('1 MB on the JSON path', () => {
  test('a 1 MB reply: every character covered; unsafe text in the middle caught', { timeout: 300_000 }, async () => {
    const safe = await jsonLongCheck();
    const reply = `${text}${'.'.repeat(MARKER.length)}`;
    const { verdict } = await runCheck(safe, checkRequest('response', 'Summarise this for me.', { response: reply }));
    expect(verdict).toMatchObject({ safe: true, unsafeSpans: [] });
    expect(firstGap(reply, safe.received.map((r) => r.response!))).toBeUndefined();
    for (const r of safe.received) expect(r.user).toBe('Summarise this for me.');

    const unsafe = await jsonLongCheck();
    const middle = await runCheck(unsafe, checkRequest('response', 'Summarise this for me.', { response: marked(0.5) }));
    expect(middle.verdict.safe).toBe(false);
    expect(middle.verdict.windows!).toBeLessThan(verdict.windows!);
  });
});
