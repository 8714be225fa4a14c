/**
 * The fast path (first-token verdict, categories decoded from the KV cache) and the JSON path (the model
 * writes its whole answer) must give the same verdicts for the same scripted model outputs, through the
 * real guards.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { Verdict } from '../../src/core/types.js';
import { AGREEMENT_CASES, COMPETITOR } from '../helpers/agreement-cases.js';
import { createTestGuard, type TestGuard } from '../helpers/test-guard.js';

let fast: TestGuard;
let json: TestGuard;
beforeAll(async () => {
  fast = createTestGuard({ model: '/__fixtures/scripted-fast/', categories: COMPETITOR });
  json = createTestGuard({ model: '/__fixtures/scripted-model/', categories: COMPETITOR });
  const [fastInfo, jsonInfo] = await Promise.all([fast.guard.ready, json.guard.ready]);
  expect(fastInfo.fastPath).toBe(true);
  expect(jsonInfo.fastPath).toBe(false);
});
afterAll(() => {
  fast.guard.dispose();
  json.guard.dispose();
});

function check(t: TestGuard, c: (typeof AGREEMENT_CASES)[number], wantCategories: boolean): Promise<Verdict> {
  return c.target === 'prompt'
    ? t.guard.checkPrompt(c.user, { wantCategories })
    : t.guard.checkResponse(c.user, c.response!, { wantCategories });
}

describe.each([true, false])('wantCategories %s', (wantCategories) => {
  test.each(AGREEMENT_CASES)('$name', async (c) => {
    const [f, j] = await Promise.all([check(fast, c, wantCategories), check(json, c, wantCategories)]);
    if (c.leavesListFormat) {
      // See AgreementCase.leavesListFormat: both block, the JSON path on the duplicate field.
      expect({ fast: f.safe, json: j.safe, jsonFailure: j.failure?.code }).toEqual({
        fast: false,
        json: false,
        jsonFailure: 'unreadable-output:duplicate-field',
      });
      return;
    }
    expect({ source: f.source, safe: f.safe, rating: f.rating, failure: f.failure?.code }).toEqual({
      source: j.source,
      safe: j.safe,
      rating: j.rating,
      failure: j.failure?.code,
    });
    if (wantCategories || f.rating === 'unsafe') expect(f.categories).toEqual(j.categories);
    // Only the fast path reads a probability; it agrees with the rating at the default threshold.
    if (!f.failure) expect(f.unsafeProbability! >= 0.5).toBe(f.rating === 'unsafe');
    expect(j.unsafeProbability).toBeUndefined();
  });
});

test('the JSON guard never touched a token session and the fast guard never called complete()', async () => {
  expect((await json.stats()).tokens.forwards).toEqual([]);
  const fastStats = await fast.stats();
  expect(fastStats.completions).toBe(0);
  // The scripted model fails a forward it cannot continue (AgreementCase.leavesListFormat, once per
  // wantCategories value); after a failed forward the cache starts over.
  const failedForwards = AGREEMENT_CASES.filter((c) => c.leavesListFormat).length * 2;
  expect(fastStats.tokens.prefillsFromEmpty).toBe(1 + failedForwards);
});
