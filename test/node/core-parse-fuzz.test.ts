/**
 * The parser against 100,000 seeded mutations of real model outputs, judged by an oracle that shares no code
 * with it; readRating against every prefix and a set of continuations; and the work of every parse counted.
 */
import { describe, expect, test } from 'vitest';
import { MAX_OUTPUT_LENGTH, parseAegisOutput, readRating } from '../../src/core/index.js';
import { readEarlyRating, readOutput } from '../../src/core/output-reader.js';
import type { ParseFailure, Target } from '../../src/core/types.js';
import { REAL_OUTPUTS, mutatedOutput, oracleRating } from '../helpers/output-fuzz.js';
import { int, pick, seededRandom } from '../helpers/prng.js';

const TARGETS: readonly Target[] = ['prompt', 'response'];
const CUSTOM = [{ name: 'Competitor Mentions' }];

describe('mutation fuzzing (seeded)', () => {
  test('100,000 mutated outputs: no exception, none read as safe unless the oracle says so, every real shape read right', () => {
    const random = seededRandom(11);
    let exceptions = 0;
    let misreadSafe = 0;
    let misreadReal = 0;
    const outcomes = new Map<ParseFailure | 'safe' | 'unsafe', number>();
    const examples: string[] = [];
    for (let i = 0; i < 100_000; i++) {
      const text = mutatedOutput(random);
      const target = pick(random, TARGETS);
      let parsed;
      try {
        parsed = parseAegisOutput(text, target, { categories: CUSTOM });
      } catch {
        exceptions++;
        continue;
      }
      const expected = oracleRating(text, target);
      const outcome = parsed.failure ?? parsed.rating;
      outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
      if (parsed.rating === 'safe' && expected !== 'safe') {
        misreadSafe++;
        if (examples.length < 5) examples.push(`${target}: ${JSON.stringify(text).slice(0, 200)}`);
      }
      if (parsed.failure ? parsed.rating !== 'unsafe' : false) misreadSafe++;
      if (expected !== undefined && (parsed.failure !== undefined || parsed.rating !== expected)) {
        misreadReal++;
        if (examples.length < 5) examples.push(`real shape misread, ${target}: ${JSON.stringify(text).slice(0, 200)}`);
      }
    }
    console.log(`parse fuzz: 100,000 mutated outputs, outcomes ${JSON.stringify(Object.fromEntries([...outcomes].sort()))}`);
    expect(examples).toEqual([]);
    expect({ exceptions, misreadSafe, misreadReal }).toEqual({ exceptions: 0, misreadSafe: 0, misreadReal: 0 });
    // The corpus is not trivial: it holds real shapes read as safe and as unsafe, and every kind of failure.
    for (const outcome of ['safe', 'unsafe', 'empty', 'truncated', 'not-json', 'missing-field', 'duplicate-field', 'unexpected-field', 'unknown-rating'] as const) {
      expect(outcomes.get(outcome) ?? 0, outcome).toBeGreaterThan(200);
    }
  });

  test('the oracle accepts every real output and refuses what the issue names', () => {
    for (const text of REAL_OUTPUTS) expect(oracleRating(text, 'prompt'), text).toMatch(/^(un)?safe$/u);
    for (const text of [
      '{"User Safety": " safe"}', '{"User Safety": "\ufeffsafe"}', '{"User Safety": "safe"}<|EOT_ID|>',
      '{"User Safety": "safe"}<|unsafe|>', '{"User Safety": "unsafe", "UserSafety": "safe"}',
      '{"User Safety": "safe", "ResponseSafety": "unsafe", "Response Safety": "safe"}',
    ]) {
      expect(oracleRating(text, 'prompt') === 'safe' && oracleRating(text, 'response') === 'safe', text).toBe(false);
      expect(parseAegisOutput(text, 'prompt').rating, text).toBe('unsafe');
      expect(parseAegisOutput(text, 'response').rating, text).toBe('unsafe');
    }
  });
});

/** Continuations a stream could still bring, from harmless to hostile. */
const CONTINUATIONS = [
  '', '}', '"}', ', "Response Safety": "safe"}', ', "Response Safety": "unsafe"}', ', "User Safety": "safe"}',
  ', "UserSafety": "safe"}', ', "Response Safety": "safe", "Response Safety": "unsafe"}', ', "Safety Categories": "Threat"}',
  ', "Safety Categories": "Threat"}<|eot_id|>', '}<|EOT_ID|>', '} trailing', '}\n<|eot_id|>', ', ', 'afe"}', 'safe"}',
  '", "Response Safety": "safe"}', ', "x": [[[[', ' }', '}}', '\ufeff}',
];

describe('readRating never announces what the final parse refuses', () => {
  test('for every prefix of real and mutated outputs and every continuation, readRating is undefined or the final rating', () => {
    const random = seededRandom(7);
    const outputs = [...REAL_OUTPUTS, ...Array.from({ length: 600 }, () => mutatedOutput(random))];
    let announced = 0;
    const violations: string[] = [];
    for (const full of outputs) {
      if (full.length > 2000) continue;
      for (const target of TARGETS) {
        for (let n = 0; n <= full.length; n++) {
          const prefix = full.slice(0, n);
          const early = readRating(prefix, target);
          if (early === undefined) continue;
          announced++;
          for (const rest of [full.slice(n), ...CONTINUATIONS, pick(random, outputs).slice(int(random, 40))]) {
            const final = parseAegisOutput(prefix + rest, target).rating;
            if (final !== early && violations.length < 5) violations.push(`${target} ${JSON.stringify(prefix)} + ${JSON.stringify(rest)}`);
          }
        }
      }
    }
    expect(violations).toEqual([]);
    expect(announced).toBeGreaterThan(2000);
  });

  test('an unsafe rating is announced as soon as its closing quote arrives; safe never before the end', () => {
    for (const full of REAL_OUTPUTS) {
      for (const target of TARGETS) {
        const field = target === 'prompt' ? '"User Safety": "unsafe"' : '"Response Safety": "unsafe"';
        const at = full.indexOf(field);
        for (let n = 0; n <= full.length; n++) {
          const expected = at >= 0 && n >= at + field.length ? 'unsafe' : undefined;
          expect(readRating(full.slice(0, n), target), `${target} ${full.slice(0, n)}`).toBe(expected);
        }
      }
    }
  });
});

describe('every parse is linear and bounded (work counted, not timed)', () => {
  const SHAPES: Record<string, (n: number) => string> = {
    'trailing end-of-turn tokens': (n) => '{"User Safety": "safe"}' + '<|eot_id|>'.repeat(n / 10),
    'trailing look-alike tokens': (n) => '{"User Safety": "safe"}' + '<|eot_id|>'.repeat(n / 20) + '<|EOT_ID|>'.repeat(n / 20),
    'trailing white space': (n) => '{"User Safety": "safe"}' + ' \n'.repeat(n / 2),
    'deep arrays': (n) => '{"User Safety": "safe", "x": ' + '['.repeat(n / 2) + ']'.repeat(n / 2) + '}',
    'deep objects, unclosed': (n) => '{"User Safety": "safe", "x": ' + '{"a":'.repeat(n / 5),
    'one long string': (n) => '{"User Safety": "unsafe", "Safety Categories": "' + 'a'.repeat(n) + '"}',
    'escapes': (n) => '{"User Safety": "unsafe", "Safety Categories": "' + '\\u0041\\n'.repeat(n / 8) + '"}',
    'many members': (n) => '{"User Safety": "safe"' + ', "k": 1'.repeat(n / 8) + '}',
    'many categories': (n) => '{"User Safety": "unsafe", "Safety Categories": "' + 'Violence, x, '.repeat(n / 13) + '"}',
    'dots in a category': (n) => '{"User Safety": "unsafe", "Safety Categories": "' + '.'.repeat(n) + 'x"}',
    'long keys': (n) => '{"' + ' '.repeat(n) + 'User Safety": "safe"}',
    'numbers': (n) => '{"User Safety": "safe", "n": [' + '1.5e3,'.repeat(n / 6) + '0]}',
  };

  test.each(Object.entries(SHAPES))('%s: steps grow in proportion to length', (_name, make) => {
    const steps = (n: number) => {
      const text = make(n);
      const { steps: parseSteps } = readOutput(text, 'prompt', { maxLength: Infinity });
      const { steps: earlySteps } = readEarlyRating(text, 'prompt', { maxLength: Infinity });
      return { length: text.length, parseSteps, earlySteps };
    };
    const small = steps(4_000);
    const large = steps(1_000_000);
    // At most a few steps per character, and the same ratio at 250x the length.
    for (const s of [small, large]) {
      expect(s.parseSteps).toBeLessThanOrEqual(4 * s.length + 64);
      expect(s.earlySteps).toBeLessThanOrEqual(4 * s.length + 64);
    }
    expect(large.parseSteps / large.length).toBeLessThanOrEqual((small.parseSteps / small.length) * 1.1 + 0.01);
  });

  test('past the length cap nothing is read', () => {
    const text = '{"User Safety": "safe"}' + ' '.repeat(20_000);
    expect(readOutput(text, 'prompt')).toEqual({ parsed: { rating: 'unsafe', categories: [], failure: 'too-long' }, steps: 0 });
    expect(readEarlyRating(`{"User Safety": "unsafe"${' '.repeat(20_000)}`, 'prompt')).toEqual({ rating: undefined, steps: 0 });
  });

  test('deep nesting of any depth gives a verdict, never a stack overflow', () => {
    for (const depth of [5_000, 100_000, 1_000_000]) {
      for (const text of [
        '{"User Safety": "safe", "x": ' + '['.repeat(depth) + ']'.repeat(depth) + '}',
        '{"User Safety": ' + '{"a": '.repeat(depth) + '"safe"' + '}'.repeat(depth) + '}',
        '['.repeat(depth),
        '{"x": ' + '['.repeat(depth),
      ]) {
        const { parsed } = readOutput(text, 'prompt', { maxLength: Infinity });
        expect(parsed.rating).toBe('unsafe');
        expect(parsed.failure).toMatch(/^(unexpected-field|unknown-rating|not-json|truncated)$/u);
        const capped = text.length > MAX_OUTPUT_LENGTH ? 'too-long' : parsed.failure;
        expect(parseAegisOutput(text, 'prompt')).toMatchObject({ rating: 'unsafe', failure: capped });
      }
    }
  });
});
