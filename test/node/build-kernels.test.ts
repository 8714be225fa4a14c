/**
 * The wasm SIMD kernels against their scalar references: bf16 decoding, the LoRA merge (against an f64
 * matrix product), group max, scales and 4-bit packing (bit-identical to the JavaScript path), including
 * the edge cases that fall back to it (zero groups, float16-subnormal scales, odd tails, NaN).
 */
import { describe, expect, test } from 'vitest';
import { CheckpointError } from '../../src/model-builder/errors.js';
import { f16BitsToF32 } from '../../src/model-builder/float16.js';
import { quantizeBlockJs, RowKernels } from '../../src/model-builder/kernels.js';
import { dequantizeRows } from '../../src/model-builder/quantize.js';
import { randomValues } from '../helpers/build-tiny-llama.js';
import { seededRandom } from '../helpers/prng.js';
import { f32ToBf16Bits } from '../helpers/safetensors-writer.js';

function kernels(rows: number, cols: number, rank = 0): RowKernels {
  const k = new RowKernels();
  k.configure({ rows, cols, rank });
  return k;
}

describe('bf16ToF32', () => {
  test('decodes exactly, including the non-multiple-of-8 tail', () => {
    const n = 1000 + 5;
    const rand = seededRandom(3);
    const values = randomValues(rand, n, 100);
    values[0] = 0;
    values[1] = -0;
    values[2] = Infinity;
    values[3] = -1e-40;
    const bits = Uint16Array.from(values, f32ToBf16Bits);
    const k = kernels(1, n);
    k.decodeBf16(bits);
    const out = k.weights(1);
    const expected = new Float32Array(new Uint32Array(Array.from(bits, (b) => b << 16)).buffer);
    expect(Array.from(out)).toEqual(Array.from(expected));
    expect(Object.is(out[1], -0)).toBe(true);
  });
});

describe('loraAdd', () => {
  test.each([
    [16, 64, 8],
    [7, 96, 5], // rank not a multiple of 4: the single-row tail loop
    [3, 40, 4], // cols not a multiple of 8: the scalar fallback
  ])('rows %i, cols %i, rank %i matches W + B @ A in f64', (rows, cols, rank) => {
    const rand = seededRandom(rows * 1000 + cols);
    const w = randomValues(rand, rows * cols, 1);
    const a = randomValues(rand, rank * cols, 0.5);
    const b = randomValues(rand, rows * rank, 0.5);
    const k = kernels(rows, cols, rank);
    k.setRows(w);
    k.setLoraA(a);
    k.addLora(rows, rank, b);
    const got = k.weights(rows);
    let maxErr = 0;
    for (let i = 0; i < rows; i++) {
      for (let c = 0; c < cols; c++) {
        let ref = w[i * cols + c]!;
        for (let j = 0; j < rank; j++) ref += b[i * rank + j]! * a[j * cols + c]!;
        maxErr = Math.max(maxErr, Math.abs(ref - got[i * cols + c]!));
      }
    }
    expect(maxErr).toBeLessThan(1e-5);
    // The delta is really applied (not a no-op).
    expect(Math.abs(got[0]! - w[0]!)).toBeGreaterThan(0);
  });
});

describe('quantize (SIMD) is bit-identical to the scalar reference', () => {
  const cases: Array<[string, (rand: () => number, n: number) => Float32Array]> = [
    ['typical weights', (r, n) => randomValues(r, n, 0.05)],
    ['wide range', (r, n) => randomValues(r, n, 1).map((v, i) => v * 10 ** ((i % 7) - 4))],
    ['all-zero groups', (r, n) => randomValues(r, n, 0.05).map((v, i) => (i % 96 < 32 ? 0 : v))],
    ['float16-subnormal scales', (r, n) => randomValues(r, n, 1e-5)],
    ['values on rounding ties', (_r, n) => Float32Array.from({ length: n }, (_, i) => ((i % 15) - 7 + (i % 2 ? 0.5 : 0)) * 0.25)],
  ];
  for (const dtype of ['float16', 'float32'] as const) {
    test.each(cases)(`${dtype}: %s`, (_name, make) => {
      const rows = 5;
      const cols = 96; // 3 groups per row, 15 groups: a tail of 3 after the SIMD blocks of 4
      const w = make(seededRandom(11), rows * cols);
      const k = kernels(rows, cols);
      k.setRows(w);
      const groups = (rows * cols) / 32;
      const scales = dtype === 'float16' ? new Uint16Array(groups + 2) : new Float32Array(groups + 2);
      const packed = k.quantize(rows, dtype, scales, 2, 'test');
      const refScales = dtype === 'float16' ? new Uint16Array(groups) : new Float32Array(groups);
      const ref = quantizeBlockJs(w, dtype, refScales);
      expect(Array.from(new Uint32Array(packed.slice().buffer))).toEqual(Array.from(ref));
      expect(Array.from(scales.subarray(2))).toEqual(Array.from(refScales));
    });
  }

  test('every value dequantizes within half a step of the input', () => {
    const rows = 8;
    const cols = 256;
    const w = randomValues(seededRandom(5), rows * cols, 0.2);
    const k = kernels(rows, cols);
    k.setRows(w);
    const scales = new Uint16Array((rows * cols) / 32);
    const packed = new Uint32Array(k.quantize(rows, 'float16', scales, 0, 't').slice().buffer);
    const deq = dequantizeRows(packed, scales, 'float16', rows, cols);
    for (let i = 0; i < w.length; i++) {
      const scale = f16BitsToF32(scales[Math.floor(i / 32)]!);
      expect(Math.abs(deq[i]! - w[i]!)).toBeLessThanOrEqual(scale / 2 + 1e-9);
    }
  });

  test('NaN and float16 overflow are refused with CheckpointError', () => {
    const k = kernels(1, 64);
    const w = randomValues(seededRandom(1), 64, 0.1);
    w[40] = NaN;
    k.setRows(w);
    expect(() => k.quantize(1, 'float32', new Float32Array(2), 0, 'bad.weight')).toThrow(CheckpointError);
    w[40] = 1e6; // scale 142857 > float16 max
    k.setRows(w);
    expect(() => k.quantize(1, 'float16', new Uint16Array(2), 0, 'big.weight')).toThrow(/too large for a float16 scale/);
  });
});
