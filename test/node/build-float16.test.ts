/** float32 <-> float16 conversions: every half value, round-to-nearest-even ties, subnormals, inf, NaN. */
import { describe, expect, test } from 'vitest';
import { decodeBf16, decodeF16, encodeF16, f16BitsToF32, f32ToF16Bits, roundToF16 } from '../../src/model-builder/float16.js';

/** Reference: the float16 nearest to x by exhaustive search over finite halves (ties to even mantissa). */
function nearestHalf(x: number): number {
  let best = 0;
  let bestErr = Infinity;
  for (let b = 0; b < 0x7c00; b++) {
    for (const bits of [b, b | 0x8000]) {
      const v = f16BitsToF32(bits);
      const err = Math.abs(v - x);
      if (err < bestErr || (err === bestErr && (bits & 1) === 0 && (best & 1) === 1)) {
        best = bits;
        bestErr = err;
      }
    }
  }
  return best;
}

describe('float16', () => {
  test('every finite half round-trips exactly through float32', () => {
    const wrong: number[] = [];
    let checked = 0;
    for (let bits = 0; bits < 0x10000; bits++) {
      if (((bits >> 10) & 0x1f) === 0x1f) continue;
      checked++;
      if (f32ToF16Bits(f16BitsToF32(bits)) !== bits) wrong.push(bits);
    }
    expect(checked).toBe(63488);
    expect(wrong).toEqual([]);
  });

  test('known values', () => {
    expect(f16BitsToF32(0x3c00)).toBe(1);
    expect(f16BitsToF32(0xc000)).toBe(-2);
    expect(f16BitsToF32(0x7bff)).toBe(65504);
    expect(f16BitsToF32(0x0001)).toBe(2 ** -24);
    expect(f16BitsToF32(0x0400)).toBe(2 ** -14);
    expect(f32ToF16Bits(0.1)).toBe(0x2e66);
    expect(f32ToF16Bits(-0)).toBe(0x8000);
  });

  test('ties round to even, in the normal and subnormal ranges', () => {
    // 1 + 2^-11 lies halfway between 1 (even) and 1 + 2^-10 (odd): rounds to 1.
    expect(f32ToF16Bits(1 + 2 ** -11)).toBe(0x3c00);
    // 1 + 3 * 2^-11 lies halfway between 1 + 2^-10 (odd) and 1 + 2^-9 (even): rounds up.
    expect(f32ToF16Bits(1 + 3 * 2 ** -11)).toBe(0x3c02);
    // Half the smallest subnormal rounds to 0; 1.5 subnormals to 2 (even).
    expect(f32ToF16Bits(2 ** -25)).toBe(0);
    expect(f32ToF16Bits(3 * 2 ** -25)).toBe(2);
    expect(f32ToF16Bits(2 ** -25 * 1.0001)).toBe(1);
  });

  test('overflow, infinity and NaN', () => {
    expect(f32ToF16Bits(65519)).toBe(0x7bff);
    expect(f32ToF16Bits(65520)).toBe(0x7c00); // the tie rounds to even: infinity
    expect(f32ToF16Bits(1e10)).toBe(0x7c00);
    expect(f32ToF16Bits(-Infinity)).toBe(0xfc00);
    expect(Number.isNaN(f16BitsToF32(f32ToF16Bits(NaN)))).toBe(true);
    expect(f32ToF16Bits(1e-30)).toBe(0);
  });

  test('random float32 values round to the nearest half (exhaustive reference)', () => {
    let seed = 7;
    const rand = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
    for (let i = 0; i < 40; i++) {
      const x = Math.fround((rand() - 0.5) * 2 ** (Math.floor(rand() * 40) - 26));
      expect(f32ToF16Bits(x), String(x)).toBe(nearestHalf(x));
    }
  });

  test('array helpers', () => {
    const values = Float32Array.from([1, -2.5, 0.1, 65504, 2 ** -20]);
    const bits = new Uint16Array(values.length);
    encodeF16(values, bits);
    const back = new Float32Array(values.length);
    decodeF16(bits, back);
    expect(Array.from(back)).toEqual(Array.from(values, roundToF16));
    const bf = new Float32Array(2);
    decodeBf16(Uint16Array.from([0x3f80, 0xc040]), bf);
    expect(Array.from(bf)).toEqual([1, -3]);
  });
});
