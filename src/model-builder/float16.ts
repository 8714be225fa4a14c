/**
 * IEEE half-precision and bfloat16 conversions. float32 -> float16 rounds to nearest, ties to even, and keeps
 * subnormals, infinities and NaN; that is what numpy's astype(float16) does, which mlc_llm relies on.
 */

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** Bits of the float16 nearest to `value` (round to nearest even). */
export function f32ToF16Bits(value: number): number {
  f32[0] = value;
  const x = u32[0]!;
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  const mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant !== 0 ? 0x200 | (mant >>> 13) : 0); // inf / NaN (quiet)
  const e = exp - 127 + 15; // rebiased exponent
  if (e >= 0x1f) return sign | 0x7c00; // overflow to infinity
  if (e <= 0) {
    // Subnormal half (or zero): shift the implicit-1 mantissa right, rounding to nearest even.
    if (e < -10) return sign; // below half the smallest subnormal: rounds to zero
    const m = mant | 0x800000;
    const shift = 14 - e; // 14..24
    const half = m >>> shift;
    const rem = m & ((1 << shift) - 1);
    const halfway = 1 << (shift - 1);
    const rounded = rem > halfway || (rem === halfway && (half & 1) === 1) ? half + 1 : half;
    return sign | rounded; // a carry into the exponent field is the correct smallest normal
  }
  const half = (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  // A carry out of the mantissa correctly bumps the exponent (and may reach infinity).
  const rounded = rem > 0x1000 || (rem === 0x1000 && (half & 1) === 1) ? half + 1 : half;
  return sign | rounded;
}

/** Value of float16 bits. */
export function f16BitsToF32(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exp = (bits >>> 10) & 0x1f;
  const mant = bits & 0x3ff;
  if (exp === 0) return sign * mant * 2 ** -24;
  if (exp === 0x1f) return mant === 0 ? sign * Infinity : NaN;
  return sign * (1 + mant / 1024) * 2 ** (exp - 15);
}

/** `value` rounded to the nearest float16, as a number. */
export function roundToF16(value: number): number {
  return f16BitsToF32(f32ToF16Bits(value));
}

let f16Table: Float32Array | undefined;

/** All 65536 float16 values as float32 (fast decoding by table lookup). */
export function f16DecodeTable(): Float32Array {
  if (!f16Table) {
    f16Table = new Float32Array(65536);
    for (let i = 0; i < 65536; i++) f16Table[i] = f16BitsToF32(i);
  }
  return f16Table;
}

/** Decodes float16 values into float32. */
export function decodeF16(src: Uint16Array, dst: Float32Array): void {
  const table = f16DecodeTable();
  for (let i = 0; i < src.length; i++) dst[i] = table[src[i]!]!;
}

/** Decodes bfloat16 values into float32 (exact: bf16 is the high half of an f32). */
export function decodeBf16(src: Uint16Array, dst: Float32Array): void {
  const out = new Uint32Array(dst.buffer, dst.byteOffset, dst.length);
  for (let i = 0; i < src.length; i++) out[i] = src[i]! << 16;
}

/** Encodes float32 values as float16 bits. */
export function encodeF16(src: Float32Array, dst: Uint16Array): void {
  for (let i = 0; i < src.length; i++) dst[i] = f32ToF16Bits(src[i]!);
}
