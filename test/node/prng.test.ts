import { describe, expect, test } from 'vitest';
import { between, int, pick, seededRandom } from '../helpers/prng.js';

// Every seeded test and benchmark draws from this generator: if its sequence moved, their cases would silently
// change meaning. These words are mulberry32's first outputs, scaled back to 32 bits.
describe('seededRandom (mulberry32) keeps its sequence', () => {
  const first: Array<[number, number[]]> = [
    [0, [1144304738, 1416247, 958946056, 627933444]],
    [1, [2693262067, 11749833, 2265367787, 4213581821]],
    [42, [2581720956, 1925393290, 3661312704, 2876485805]],
    [0xffffffff, [3850105811, 813802916, 3073704848, 4054706436]],
  ];
  for (const [seed, words] of first) {
    test(`seed ${seed}`, () => {
      const random = seededRandom(seed);
      expect(Array.from({ length: words.length }, () => random() * 2 ** 32)).toEqual(words);
    });
  }

  test('the seed is taken as an unsigned 32-bit integer', () => {
    const a = seededRandom(-1);
    const b = seededRandom(0xffffffff);
    for (let i = 0; i < 20; i++) expect(a()).toBe(b());
  });
});

describe('int, between, pick', () => {
  test('stay in range and reach both ends', () => {
    const random = seededRandom(7);
    const ints = new Set<number>();
    const betweens = new Set<number>();
    for (let i = 0; i < 2000; i++) {
      ints.add(int(random, 5));
      betweens.add(between(random, -2, 2));
    }
    expect([...ints].sort((x, y) => x - y)).toEqual([0, 1, 2, 3, 4]);
    expect([...betweens].sort((x, y) => x - y)).toEqual([-2, -1, 0, 1, 2]);
  });

  test('each draws exactly one value, so sequences built on them replay', () => {
    const a = seededRandom(9);
    const b = seededRandom(9);
    const list = ['x', 'y', 'z'];
    for (let i = 0; i < 50; i++) {
      const expected = Math.floor(b() * list.length);
      expect(pick(a, list)).toBe(list[expected]);
    }
    expect(pick(seededRandom(3), 'abc')).toMatch(/^[abc]$/);
  });
});
