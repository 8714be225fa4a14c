import { describe, expect, test } from 'vitest';
import {
  AegisInputError,
  DEFAULT_POLICY,
  decide,
  policyKey,
  requestKey,
  resolvePolicy,
  type Judgement,
  type Policy,
} from '../../src/core/index.js';

describe('DEFAULT_POLICY and resolvePolicy', () => {
  test('defaults: fail closed, threshold 0.5, nothing ignored; frozen', () => {
    expect(DEFAULT_POLICY).toEqual({ failMode: 'closed', threshold: 0.5, ignore: [] });
    expect(Object.isFrozen(DEFAULT_POLICY)).toBe(true);
    expect(Object.isFrozen(DEFAULT_POLICY.ignore)).toBe(true);
    expect(resolvePolicy()).toEqual(DEFAULT_POLICY);
    expect(resolvePolicy({})).toEqual(DEFAULT_POLICY);
    expect(resolvePolicy({ failMode: undefined, threshold: undefined, ignore: undefined })).toEqual(DEFAULT_POLICY);
  });

  test('keeps valid values, drops duplicate ignore codes, returns a fresh ignore array', () => {
    const ignore = ['S12', 'S24', 'S12', 'S130'];
    const p = resolvePolicy({ failMode: 'open', threshold: 0, ignore });
    expect(p).toEqual({ failMode: 'open', threshold: 0, ignore: ['S12', 'S24', 'S130'] });
    expect(p.ignore).not.toBe(ignore);
    expect(resolvePolicy({ threshold: 1 }).threshold).toBe(1);
    resolvePolicy().ignore.push('S1');
    expect(DEFAULT_POLICY.ignore).toEqual([]);
  });

  const bad: Array<[string, unknown, RegExp]> = [
    ['not an object', 'closed', /must be an object/],
    ['an array', [], /must be an object/],
    ['null', null, /must be an object/],
    ['an unknown option', { failmode: 'open' }, /Unknown policy option\(s\): failmode/],
    ['a bad failMode', { failMode: 'lenient' }, /failMode must be 'closed' or 'open'/],
    ['threshold below 0', { threshold: -0.1 }, /threshold must be a number from 0 to 1/],
    ['threshold above 1', { threshold: 1.01 }, /threshold/],
    ['threshold NaN', { threshold: Number.NaN }, /threshold/],
    ['threshold as a string', { threshold: '0.5' }, /threshold/],
    ['ignore not an array', { ignore: 'S12' }, /ignore must be an array/],
    ['ignore with a name', { ignore: ['Profanity'] }, /"Profanity", which is not a category code/],
    ['ignore lower case code', { ignore: ['s12'] }, /not a category code/],
    ['ignore S0', { ignore: ['S0'] }, /not a category code/],
    ['ignore with a number', { ignore: [12] }, /not a category code/],
  ];
  test.each(bad)('rejects %s with AegisInputError', (_label, input, message) => {
    expect(() => resolvePolicy(input as Partial<Policy>)).toThrow(AegisInputError);
    expect(() => resolvePolicy(input as Partial<Policy>)).toThrow(message);
  });
});

describe('decide', () => {
  const closed = resolvePolicy();
  const open = resolvePolicy({ failMode: 'open' });
  const ignoreProfanity = resolvePolicy({ ignore: ['S12', 'S24'] });
  const j = (over: Partial<Judgement>): Judgement => ({ rating: 'safe', categories: [], failed: false, ...over });
  const profanity = { code: 'S12', name: 'Profanity' };
  const violence = { code: 'S1', name: 'Violence' };
  const custom = { code: 'S24', name: 'Spoilers' };
  const unknown = { code: null, name: 'Profanity-ish' };

  const cases: Array<[string, Judgement, Policy, boolean]> = [
    ['safe rating', j({}), closed, true],
    ['unsafe rating', j({ rating: 'unsafe', categories: [violence] }), closed, false],
    ['failed, closed', j({ failed: true }), closed, false],
    ['failed, open', j({ failed: true, rating: 'unsafe' }), open, true],
    ['failed with a safe rating, closed', j({ failed: true, rating: 'safe' }), closed, false],
    ['p below threshold beats an unsafe rating', j({ rating: 'unsafe', unsafeProbability: 0.49, categories: [violence] }), closed, true],
    ['p at threshold is unsafe', j({ rating: 'safe', unsafeProbability: 0.5 }), closed, false],
    ['p above a high threshold', j({ unsafeProbability: 0.8 }), resolvePolicy({ threshold: 0.9 }), true],
    ['threshold 0 blocks everything with p', j({ unsafeProbability: 0 }), resolvePolicy({ threshold: 0 }), false],
    ['p NaN counts as failed (closed)', j({ unsafeProbability: Number.NaN }), closed, false],
    ['p NaN counts as failed (open)', j({ unsafeProbability: Number.NaN }), open, true],
    ['p above 1 counts as failed', j({ unsafeProbability: 1.5 }), closed, false],
    ['all categories ignored', j({ rating: 'unsafe', categories: [profanity] }), ignoreProfanity, true],
    ['all ignored incl. custom', j({ rating: 'unsafe', categories: [profanity, custom] }), ignoreProfanity, true],
    ['one category not ignored', j({ rating: 'unsafe', categories: [profanity, violence] }), ignoreProfanity, false],
    ['no categories cannot be ignored', j({ rating: 'unsafe', categories: [] }), ignoreProfanity, false],
    ['unknown category cannot be ignored', j({ rating: 'unsafe', categories: [profanity, unknown] }), ignoreProfanity, false],
    ['ignored categories with p over threshold', j({ rating: 'unsafe', unsafeProbability: 0.9, categories: [profanity] }), ignoreProfanity, true],
    ['ignore does not rescue a failed check', j({ failed: true, rating: 'unsafe', categories: [profanity] }), ignoreProfanity, false],
  ];
  test.each(cases)('%s -> %s', (_label, judgement, policy, expected) => {
    expect(decide(judgement, policy)).toBe(expected);
  });
});

describe('policyKey and requestKey', () => {
  const base = { target: 'prompt' as const, user: 'hello', policy: resolvePolicy() };

  test('stable regardless of object key order and ignore order', () => {
    const a: Policy = { failMode: 'closed', threshold: 0.5, ignore: ['S12', 'S1'] };
    const b = JSON.parse('{"ignore":["S1","S12","S1"],"threshold":0.5,"failMode":"closed"}') as Policy;
    expect(policyKey(a)).toBe(policyKey(b));
    const r1 = requestKey({ ...base, policy: a, categories: [{ name: 'Spoilers', description: 'Plot' }] });
    const r2 = requestKey(JSON.parse(JSON.stringify({ policy: b, categories: [{ description: 'Plot', name: 'Spoilers' }], user: 'hello', target: 'prompt' })));
    expect(r1).toBe(r2);
  });

  test('differs when anything that changes the prompt or the decision differs', () => {
    const keys = [
      requestKey(base),
      requestKey({ ...base, user: 'hello ' }),
      requestKey({ ...base, target: 'response', response: 'hi' }),
      requestKey({ ...base, target: 'response', response: 'hi!' }),
      requestKey({ ...base, target: 'response' }),
      requestKey({ ...base, categories: [{ name: 'Spoilers' }] }),
      requestKey({ ...base, categories: [{ name: 'Spoilers', description: 'Plot' }] }),
      requestKey({ ...base, categories: [{ name: 'A' }, { name: 'B' }] }),
      requestKey({ ...base, categories: [{ name: 'B' }, { name: 'A' }] }),
      requestKey({ ...base, policy: resolvePolicy({ failMode: 'open' }) }),
      requestKey({ ...base, policy: resolvePolicy({ threshold: 0.7 }) }),
      requestKey({ ...base, policy: resolvePolicy({ ignore: ['S12'] }) }),
    ];
    expect(new Set(keys).size).toBe(keys.length);
  });

  test('a prompt check ignores the response; categories are compared as the prompt uses them', () => {
    expect(requestKey({ ...base, response: 'anything' })).toBe(requestKey(base));
    expect(requestKey({ ...base, categories: [] })).toBe(requestKey(base));
    expect(requestKey({ ...base, categories: [{ name: ' Spoilers. ', description: ' ' }] })).toBe(
      requestKey({ ...base, categories: [{ name: 'Spoilers' }] }),
    );
  });

  test('texts cannot collide through separators', () => {
    expect(requestKey({ ...base, target: 'response', user: 'a","b', response: 'c' })).not.toBe(
      requestKey({ ...base, target: 'response', user: 'a', response: 'b","c' }),
    );
  });

  test('invalid categories throw AegisInputError', () => {
    expect(() => requestKey({ ...base, categories: [{ name: 'Violence' }] })).toThrow(AegisInputError);
  });
});
