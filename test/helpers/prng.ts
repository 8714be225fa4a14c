/**
 * The one seeded generator of the tests and benchmarks, so any random case can be replayed from its seed.
 * The sequence is pinned in test/node/prng.test.ts: a seeded test keeps its meaning only while it stays the same.
 */

/** A source of floats in [0, 1). */
export type Random = () => number;

/** mulberry32: small, fast, well mixed, and the same sequence for the same seed on every engine. */
export function seededRandom(seed: number): Random {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** An integer in [0, n). */
export const int = (random: Random, n: number): number => Math.floor(random() * n);

/** An integer in [lo, hi], both ends included. */
export const between = (random: Random, lo: number, hi: number): number => lo + int(random, hi - lo + 1);

/** One item of a non-empty list (or one character of a string), uniformly. */
export const pick = <T>(random: Random, list: ArrayLike<T>): T => list[int(random, list.length)]!;
