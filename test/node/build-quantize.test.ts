/**
 * The q4f16_1 / q4f32_1 layout itself, checked on hand-made values: nibble order in the uint32 words,
 * scale per group of 32 along the input dimension, float16 rounding of the scale, dequantization error.
 */
import { describe, expect, test } from 'vitest';
import { f16BitsToF32, f32ToF16Bits } from '../../src/model-builder/float16.js';
import { dequantizeRows, quantizeMatrix } from '../../src/model-builder/quantize.js';
import { randomValues } from '../helpers/build-tiny-llama.js';
import { seededRandom } from '../helpers/prng.js';

describe('4-bit group quantization layout', () => {
  test('element j of each word sits in bits 4j..4j+3 (LSB first)', () => {
    // One group whose max is 7 so scale = 1: w = nibble - 7 exactly.
    const nibbles = Array.from({ length: 32 }, (_, i) => [0, 14, 3, 9, 7, 1, 12, 5][i % 8]!);
    const w = Float32Array.from(nibbles, (n) => n - 7);
    const { qWeight, qScale } = quantizeMatrix(w, 1, 32, 'float32');
    expect(Array.from(qScale)).toEqual([1]);
    expect(qWeight).toHaveLength(4);
    // Word 0 holds nibbles 0,14,3,9,7,1,12,5 from the low bits up: 0x5c17_93e0.
    expect(qWeight[0]!.toString(16)).toBe('5c1793e0');
    expect(new Set(qWeight)).toEqual(new Set([0x5c1793e0]));
  });

  test('q_weight is [N, K/8] and q_scale [N, K/32], one scale per 32 inputs of a row', () => {
    const rows = 3;
    const cols = 64;
    const w = new Float32Array(rows * cols);
    // Row r, group g has max |w| = (r * 2 + g + 1) * 7, so its scale is r * 2 + g + 1.
    for (let r = 0; r < rows; r++) for (let g = 0; g < 2; g++) w[r * cols + g * 32 + 5] = -(r * 2 + g + 1) * 7;
    const { qWeight, qScale } = quantizeMatrix(w, rows, cols, 'float32');
    expect(qWeight).toHaveLength((rows * cols) / 8);
    expect(Array.from(qScale)).toEqual([1, 2, 3, 4, 5, 6]);
    // The -7*scale element maps to nibble 0; every other (zero) element to nibble 7.
    const nibble = (i: number) => (qWeight[i >>> 3]! >>> (4 * (i & 7))) & 0xf;
    expect(nibble(5)).toBe(0);
    expect(nibble(6)).toBe(7);
    expect(nibble(cols + 32 + 5)).toBe(0);
  });

  test('float16 scales are max|w|/7 rounded to float16, and quantization uses the rounded scale', () => {
    const w = new Float32Array(32).fill(0);
    w[0] = 0.1234567; // scale 0.0176366... is not a float16
    w[1] = 0.0617;
    const { qWeight, qScale } = quantizeMatrix(w, 1, 32, 'float16');
    const bits = qScale[0]!;
    expect(bits).toBe(f32ToF16Bits(Math.fround(0.1234567 / 7)));
    const scale = f16BitsToF32(bits);
    expect(scale).not.toBe(Math.fround(0.1234567 / 7));
    const nibble = (i: number) => (qWeight[i >>> 3]! >>> (4 * (i & 7))) & 0xf;
    expect(nibble(1)).toBe(Math.round(0.0617 / scale) + 7);
  });

  test('all-zero groups store scale 0 and nibble 7 (dequantize to 0)', () => {
    const { qWeight, qScale } = quantizeMatrix(new Float32Array(32), 1, 32, 'float16');
    expect(Array.from(qScale)).toEqual([0]);
    expect(Array.from(qWeight)).toEqual([0x77777777, 0x77777777, 0x77777777, 0x77777777]);
  });

  test.each(['float16', 'float32'] as const)('%s: dequantization error <= half a step, about max/14', (dtype) => {
    const rows = 16;
    const cols = 128;
    const w = randomValues(seededRandom(2), rows * cols, 0.05);
    const { qWeight, qScale } = quantizeMatrix(w, rows, cols, dtype);
    const deq = dequantizeRows(qWeight, qScale, dtype, rows, cols);
    let maxErr = 0;
    for (let i = 0; i < w.length; i++) {
      const s = dtype === 'float16' ? f16BitsToF32(qScale[Math.floor(i / 32)]!) : qScale[Math.floor(i / 32)]!;
      const err = Math.abs(deq[i]! - w[i]!);
      expect(err).toBeLessThanOrEqual(s / 2 + 1e-9);
      maxErr = Math.max(maxErr, err);
    }
    expect(maxErr).toBeGreaterThan(0);
    expect(maxErr).toBeLessThan(0.05 / 14 + 1e-4);
  });
});
