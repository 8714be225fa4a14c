import { describe, expect, test } from 'vitest';
import { VERDICT_TOKEN_IDS } from '../../src/core/tokens.js';
import { needsCategoryDecode } from '../../src/worker/fast-prompt.js';
import { argmax, readVerdict, twoWayUnsafeProbability } from '../../src/worker/logits.js';

const VOCAB = 128256;
function logitsWith(values: Record<number, number>, base = 0): Float32Array {
  const l = new Float32Array(VOCAB).fill(base);
  for (const [id, v] of Object.entries(values)) l[Number(id)] = v;
  return l;
}
const { safe: S, unsafe: U } = VERDICT_TOKEN_IDS;

describe('two-way softmax over the rating tokens', () => {
  test.each([0.001, 0.02, 0.3, 0.5, 0.7, 0.98])('logits ln(p), ln(1-p) give back p = %s', (p) => {
    expect(twoWayUnsafeProbability(logitsWith({ [U]: Math.log(p), [S]: Math.log(1 - p) }))).toBeCloseTo(p, 6);
  });

  test('only the two rating logits matter: mass elsewhere does not shrink P(unsafe)', () => {
    const crowded = logitsWith({ [U]: 2, [S]: 1 }, 1.5);
    const alone = logitsWith({ [U]: 2, [S]: 1 }, -50);
    expect(twoWayUnsafeProbability(crowded)).toBeCloseTo(1 / (1 + Math.exp(-1)), 9);
    expect(twoWayUnsafeProbability(crowded)).toBe(twoWayUnsafeProbability(alone));
  });

  test('huge logits neither overflow nor lose the answer', () => {
    expect(twoWayUnsafeProbability(logitsWith({ [U]: 3e38, [S]: 0 }))).toBe(1);
    expect(twoWayUnsafeProbability(logitsWith({ [U]: 0, [S]: 3e38 }))).toBe(0);
    expect(twoWayUnsafeProbability(logitsWith({ [U]: 1e4, [S]: 1e4 - 1 }))).toBeCloseTo(1 / (1 + Math.exp(-1)), 9);
  });

  test('non-finite rating logits give NaN (the judge turns that into an engine failure)', () => {
    expect(twoWayUnsafeProbability(logitsWith({ [U]: Number.NaN }))).toBeNaN();
    expect(twoWayUnsafeProbability(logitsWith({ [S]: Infinity }))).toBeNaN();
    expect(twoWayUnsafeProbability(new Float32Array(10))).toBeNaN();
  });
});

describe('greedy reading', () => {
  test('argmax picks the largest logit, the first on ties', () => {
    expect(argmax(logitsWith({ 7: 3, 9: 5, 11: 5 }))).toBe(9);
    expect(argmax(logitsWith({}, -1))).toBe(0);
  });

  test('readVerdict: the preferred rating and whether a rating is the likeliest token at all', () => {
    expect(readVerdict(logitsWith({ [U]: 1, [S]: 3 }, -30))).toMatchObject({ greedy: 'safe', ratingIsLikeliest: true, argmax: S });
    expect(readVerdict(logitsWith({ [U]: 3, [S]: 1 }, -30))).toMatchObject({ greedy: 'unsafe', ratingIsLikeliest: true, argmax: U });
    // A tie is P = 0.5, which the default threshold blocks.
    expect(readVerdict(logitsWith({ [U]: 1, [S]: 1 }, -30)).greedy).toBe('unsafe');
    const other = readVerdict(logitsWith({ [U]: 1, [S]: 3, 1234: 9 }, -30));
    expect(other).toMatchObject({ greedy: 'safe', ratingIsLikeliest: false, argmax: 1234 });
  });
});

test('categories are decoded only for unsafe ratings or when asked for', () => {
  expect(needsCategoryDecode('safe', undefined)).toBe(false);
  expect(needsCategoryDecode('safe', false)).toBe(false);
  expect(needsCategoryDecode('safe', true)).toBe(true);
  expect(needsCategoryDecode('unsafe', false)).toBe(true);
});
