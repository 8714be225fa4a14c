/**
 * 4-bit group quantization in the MLC q4f16_1 / q4f32_1 layout (mlc_llm GroupQuantize: group 32, int4 in
 * uint32, layout NK), in plain JavaScript. This is the reference the wasm kernels are tested against, the
 * dequantizer verify-model uses, and the fallback for shapes the kernels do not take.
 *
 * Per group of 32 inputs of one output row: scale = max|w| / 7, rounded to the model dtype (mlc computes the
 * scale in the model dtype, so the stored float16 scale is what dequantization uses; quantizing with that
 * rounded scale keeps the error within half a step). nibble = clamp(round(w / scale) + 7, 0, 14), stored with
 * element j of each word in bits 4j..4j+3; dequantized w = (nibble - 7) * scale.
 */
import { CheckpointError } from './errors.js';
import { f16BitsToF32, f16DecodeTable, f32ToF16Bits } from './float16.js';
import { GROUP_SIZE, PER_WORD, type ModelDtype } from './param-plan.js';

export const MAX_INT = 7;

/**
 * Turns group maxima into stored scales and multipliers. Writes the stored scales (float16 bits or float32)
 * into `scaleOut` at `scaleIndex` and 1/scale (0 for an all-zero group) into `inv`.
 */
export function scalesFromAbsMax(
  absMax: Float32Array,
  count: number,
  dtype: ModelDtype,
  scaleOut: Uint16Array | Float32Array,
  scaleIndex: number,
  inv: Float32Array,
  tensorName: string,
): void {
  const f16 = f16DecodeTable();
  for (let g = 0; g < count; g++) {
    const m = absMax[g]!;
    if (!Number.isFinite(m)) throw new CheckpointError(`tensor ${tensorName} contains NaN or infinite weights`);
    let scale = Math.fround(m / MAX_INT);
    if (dtype === 'float16') {
      const bits = f32ToF16Bits(scale);
      if ((bits & 0x7c00) === 0x7c00) throw new CheckpointError(`tensor ${tensorName} has weights too large for a float16 scale (${m})`);
      (scaleOut as Uint16Array)[scaleIndex + g] = bits;
      scale = f16[bits]!;
    } else {
      (scaleOut as Float32Array)[scaleIndex + g] = scale;
    }
    inv[g] = scale > 0 ? 1 / scale : 0;
  }
}

/** max |w| over each group of 32 (scalar twin of the wasm groupAbsMax). */
export function groupAbsMaxJs(w: Float32Array, groups: number, out: Float32Array): void {
  for (let g = 0; g < groups; g++) {
    let m = 0;
    const base = g * GROUP_SIZE;
    for (let t = 0; t < GROUP_SIZE; t++) {
      const v = Math.abs(w[base + t]!);
      if (v > m || Number.isNaN(v)) m = v;
    }
    out[g] = m;
  }
}

/** Quantizes and packs groups with the given multipliers (scalar twin of the wasm quantPack, bit-identical). */
export function quantPackJs(w: Float32Array, groups: number, inv: Float32Array, qw: Uint32Array): void {
  for (let g = 0; g < groups; g++) {
    const s = inv[g]!;
    for (let word = 0; word < GROUP_SIZE / PER_WORD; word++) {
      let packed = 0;
      const base = g * GROUP_SIZE + word * PER_WORD;
      for (let j = 0; j < PER_WORD; j++) {
        // f32 multiply, f32 add, truncate: exactly what the SIMD kernel does.
        const t = Math.fround(Math.fround(w[base + j]! * s) + 7.5);
        let q = Math.trunc(t);
        if (q < 0) q = 0;
        else if (q > 2 * MAX_INT) q = 2 * MAX_INT;
        packed |= q << (4 * j);
      }
      qw[g * (GROUP_SIZE / PER_WORD) + word] = packed >>> 0;
    }
  }
}

/** Quantizes a [rows, cols] f32 matrix; returns q_weight words and stored scales (reference path). */
export function quantizeMatrix(
  w: Float32Array,
  rows: number,
  cols: number,
  dtype: ModelDtype,
  name = 'tensor',
): { qWeight: Uint32Array; qScale: Uint16Array | Float32Array } {
  const groups = (rows * cols) / GROUP_SIZE;
  const absMax = new Float32Array(groups);
  const inv = new Float32Array(groups);
  const qScale = dtype === 'float16' ? new Uint16Array(groups) : new Float32Array(groups);
  const qWeight = new Uint32Array((rows * cols) / PER_WORD);
  groupAbsMaxJs(w, groups, absMax);
  scalesFromAbsMax(absMax, groups, dtype, qScale, 0, inv, name);
  quantPackJs(w, groups, inv, qWeight);
  return { qWeight, qScale };
}

/** Dequantizes `rows` rows of `cols` values: q_weight words and stored scales (float16 bits or float32). */
export function dequantizeRows(
  qWeight: Uint32Array,
  qScale: Uint16Array | Float32Array,
  dtype: ModelDtype,
  rows: number,
  cols: number,
): Float32Array {
  const out = new Float32Array(rows * cols);
  const groupsPerRow = cols / GROUP_SIZE;
  for (let r = 0; r < rows; r++) {
    for (let g = 0; g < groupsPerRow; g++) {
      const raw = qScale[r * groupsPerRow + g]!;
      const scale = dtype === 'float16' ? f16BitsToF32(raw) : raw;
      for (let e = 0; e < GROUP_SIZE; e++) {
        const i = r * cols + g * GROUP_SIZE + e;
        const nibble = (qWeight[i >>> 3]! >>> (4 * (i & 7))) & 0xf;
        out[i] = (nibble - MAX_INT) * scale;
      }
    }
  }
  return out;
}
