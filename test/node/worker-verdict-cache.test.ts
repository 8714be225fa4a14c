/** The worker's repeat cache: least recently used out first, bounded by entries and by key characters. */
import { describe, expect, test } from 'vitest';
import { LruCache } from '../../src/worker/verdict-cache.js';
import { seededRandom } from '../helpers/prng.js';

describe('LruCache', () => {
  test('evicts the least recently used entry past its capacity', () => {
    const cache = new LruCache<number>(2);
    cache.set('a', 1);
    cache.set('b', 2);
    expect(cache.get('a')).toBe(1);
    cache.set('c', 3);
    expect(cache.get('b')).toBeUndefined();
    expect([cache.get('a'), cache.get('c'), cache.size]).toEqual([1, 3, 2]);
  });

  test('keeps the total key length within its character budget; a key longer than the budget is not kept', () => {
    const cache = new LruCache<number>(100, 10);
    cache.set('aaaa', 1);
    cache.set('bbbb', 2);
    cache.set('cccc', 3); // 12 characters: the oldest goes
    expect(cache.get('aaaa')).toBeUndefined();
    expect(cache.keyChars).toBe(8);
    cache.set('x'.repeat(11), 4);
    expect(cache.get('x'.repeat(11))).toBeUndefined();
    expect([cache.get('bbbb'), cache.get('cccc')]).toEqual([2, 3]);
  });

  test('under random use it holds exactly what a plain model of LRU holds, within both bounds (seeded)', () => {
    const random = seededRandom(7);
    const cache = new LruCache<number>(20, 2_000);
    // The model: keys oldest first, values beside them.
    let order: string[] = [];
    const values = new Map<string, number>();
    const chars = () => order.reduce((n, k) => n + k.length, 0);
    for (let i = 0; i < 5_000; i++) {
      const key = `${Math.floor(random() * 60)}:`.padEnd(1 + Math.floor(random() * 400), 'k');
      if (random() < 0.7) {
        cache.set(key, i);
        order = [...order.filter((k) => k !== key), key];
        values.set(key, i);
        while (order.length > 20 || chars() > 2_000) values.delete(order.shift()!);
      } else {
        const hit = values.has(key);
        expect(cache.get(key)).toBe(hit ? values.get(key) : undefined);
        if (hit) order = [...order.filter((k) => k !== key), key];
      }
      expect([cache.size, cache.keyChars]).toEqual([order.length, chars()]);
    }
  });
});
