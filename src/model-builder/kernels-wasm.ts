/**
 * The builder's hot loops as WebAssembly SIMD kernels (see wasm-emit.ts for why they are emitted here).
 *
 * All pointers are byte offsets into the module's own memory; the caller (kernels.ts) lays buffers out and
 * reads the results through typed-array views. Each kernel has a scalar JavaScript twin in kernels-js.ts that
 * the tests compare it against.
 */
import { assembleModule, F32, I32, op, V128, type FunctionSpec } from './wasm-emit.js';

const i32x4Bytes = (values: number[]) => new Uint8Array(new Int32Array(values).buffer);

/** bf16ToF32(src, dst, n): n bf16 values (n % 8 == 0) to f32, by shifting each into the high half. */
const bf16ToF32: FunctionSpec = (() => {
  const [src, dst, n, v] = [0, 1, 2, 3];
  return {
    name: 'bf16ToF32',
    params: [I32, I32, I32],
    locals: [V128],
    body: [
      op.block(), op.loop(),
      op.localGet(n), op.i32Eqz(), op.brIf(1),
      op.localGet(dst),
      op.localGet(src), op.v128Load(), op.localTee(v),
      op.i32x4ExtendLowI16x8U(), op.i32Const(16), op.i32x4Shl(),
      op.v128Store(0),
      op.localGet(dst),
      op.localGet(v), op.i32x4ExtendHighI16x8U(), op.i32Const(16), op.i32x4Shl(),
      op.v128Store(16),
      op.localGet(src), op.i32Const(16), op.i32Add(), op.localSet(src),
      op.localGet(dst), op.i32Const(32), op.i32Add(), op.localSet(dst),
      op.localGet(n), op.i32Const(8), op.i32Sub(), op.localSet(n),
      op.br(0),
      op.end(), op.end(),
    ],
  };
})();

/**
 * loraAdd(w, rows, K, a, b, r): w[i, :] += sum_j b[i, j] * a[j, :] for `rows` rows.
 * w: f32 [rows, K] (K % 8 == 0), a: f32 [r, K], b: f32 [rows, r] already multiplied by the LoRA scale.
 * Four adapter rows are combined per pass over w, so w is read and written r/4 times instead of r times.
 */
const loraAdd: FunctionSpec = (() => {
  const [w, rows, K, a, b, r] = [0, 1, 2, 3, 4, 5];
  const [rowBytes, j, p, end, pa0, pa1, pa2, pa3] = [6, 7, 8, 9, 10, 11, 12, 13];
  const [s0, s1, s2, s3] = [14, 15, 16, 17];
  const brow = 18;
  const quadStep = (off: number) => [
    op.localGet(p),
    op.localGet(p), op.v128Load(off),
    op.localGet(s0), op.localGet(pa0), op.v128Load(off), op.f32x4Mul(),
    op.localGet(s1), op.localGet(pa1), op.v128Load(off), op.f32x4Mul(),
    op.f32x4Add(),
    op.localGet(s2), op.localGet(pa2), op.v128Load(off), op.f32x4Mul(),
    op.localGet(s3), op.localGet(pa3), op.v128Load(off), op.f32x4Mul(),
    op.f32x4Add(),
    op.f32x4Add(),
    op.f32x4Add(),
    op.v128Store(off),
  ].flat();
  const singleStep = (off: number) => [
    op.localGet(p),
    op.localGet(p), op.v128Load(off),
    op.localGet(s0), op.localGet(pa0), op.v128Load(off), op.f32x4Mul(),
    op.f32x4Add(),
    op.v128Store(off),
  ].flat();
  const bump = (local: number, by: number) => [op.localGet(local), op.i32Const(by), op.i32Add(), op.localSet(local)].flat();
  const splatFrom = (local: number, offset: number) => [op.localGet(brow), op.f32Load(offset), op.f32x4Splat(), op.localSet(local)].flat();
  return {
    name: 'loraAdd',
    params: [I32, I32, I32, I32, I32, I32],
    locals: [I32, I32, I32, I32, I32, I32, I32, I32, V128, V128, V128, V128, I32],
    body: [
      op.localGet(K), op.i32Const(2), op.i32Shl(), op.localSet(rowBytes),
      op.localGet(b), op.localSet(brow),
      op.block(), op.loop(),
      op.localGet(rows), op.i32Eqz(), op.brIf(1),
      op.i32Const(0), op.localSet(j),
      // Four adapter rows at a time.
      op.block(), op.loop(),
      op.localGet(j), op.i32Const(4), op.i32Add(), op.localGet(r), [0x4b] /* i32.gt_u */, op.brIf(1),
      splatFrom(s0, 0), splatFrom(s1, 4), splatFrom(s2, 8), splatFrom(s3, 12),
      op.localGet(a), op.localGet(j), op.localGet(rowBytes), op.i32Mul(), op.i32Add(), op.localTee(pa0),
      op.localGet(rowBytes), op.i32Add(), op.localTee(pa1),
      op.localGet(rowBytes), op.i32Add(), op.localTee(pa2),
      op.localGet(rowBytes), op.i32Add(), op.localSet(pa3),
      op.localGet(w), op.localSet(p),
      op.localGet(w), op.localGet(rowBytes), op.i32Add(), op.localSet(end),
      op.loop(),
      quadStep(0), quadStep(16),
      bump(p, 32), bump(pa0, 32), bump(pa1, 32), bump(pa2, 32), bump(pa3, 32),
      op.localGet(p), op.localGet(end), op.i32LtU(), op.brIf(0),
      op.end(),
      bump(j, 4), bump(brow, 16),
      op.br(0),
      op.end(), op.end(),
      // The remaining (r % 4) adapter rows.
      op.block(), op.loop(),
      op.localGet(j), op.localGet(r), op.i32GeU(), op.brIf(1),
      splatFrom(s0, 0),
      op.localGet(a), op.localGet(j), op.localGet(rowBytes), op.i32Mul(), op.i32Add(), op.localSet(pa0),
      op.localGet(w), op.localSet(p),
      op.localGet(w), op.localGet(rowBytes), op.i32Add(), op.localSet(end),
      op.loop(),
      singleStep(0), singleStep(16),
      bump(p, 32), bump(pa0, 32),
      op.localGet(p), op.localGet(end), op.i32LtU(), op.brIf(0),
      op.end(),
      bump(j, 1), bump(brow, 4),
      op.br(0),
      op.end(), op.end(),
      // Next weight row (brow already points at the next row of b).
      op.localGet(w), op.localGet(rowBytes), op.i32Add(), op.localSet(w),
      op.localGet(rows), op.i32Const(1), op.i32Sub(), op.localSet(rows),
      op.br(0),
      op.end(), op.end(),
    ],
  };
})();

/**
 * groupAbsMax(w, groups, out): out[g] = max |w[32g .. 32g+31]|. Works on the bit patterns: with the sign bit
 * cleared, integer order is float order, and NaN/Inf patterns are larger than every finite value, so they
 * surface in the result for the caller to reject. (f32x4.max would cost several instructions per lane for
 * its NaN rules; i32x4.max_s is one.)
 */
const groupAbsMax: FunctionSpec = (() => {
  const [w, n, out, m, mask] = [0, 1, 2, 3, 4];
  const abs = (off: number) => [op.localGet(w), op.v128Load(off), op.localGet(mask), op.v128And()].flat();
  const pair = (off: number) => [abs(off), abs(off + 16), op.i32x4MaxS()].flat();
  const swapHalves = [8, 9, 10, 11, 12, 13, 14, 15, 0, 1, 2, 3, 4, 5, 6, 7];
  const swapLanes = [4, 5, 6, 7, 0, 1, 2, 3, 12, 13, 14, 15, 8, 9, 10, 11];
  return {
    name: 'groupAbsMax',
    params: [I32, I32, I32],
    locals: [V128, V128],
    body: [
      op.i32Const(0x7fffffff), op.i32x4Splat(), op.localSet(mask),
      op.block(), op.loop(), op.localGet(n), op.i32Eqz(), op.brIf(1),
      op.localGet(out),
      pair(0), pair(32), op.i32x4MaxS(), pair(64), pair(96), op.i32x4MaxS(), op.i32x4MaxS(), op.localSet(m),
      op.localGet(m), op.localGet(m), op.localGet(m), op.i8x16Shuffle(swapHalves), op.i32x4MaxS(), op.localSet(m),
      op.localGet(m), op.localGet(m), op.localGet(m), op.i8x16Shuffle(swapLanes), op.i32x4MaxS(),
      op.i32x4ExtractLane(0), op.i32Store(0),
      op.localGet(w), op.i32Const(128), op.i32Add(), op.localSet(w),
      op.localGet(out), op.i32Const(4), op.i32Add(), op.localSet(out),
      op.localGet(n), op.i32Const(1), op.i32Sub(), op.localSet(n),
      op.br(0), op.end(), op.end(),
    ],
  };
})();

const i32Splat = (v: number) => [op.i32Const(v), op.i32x4Splat()].flat();
const f32Splat = (v: number) => [op.f32Const(v), op.f32x4Splat()].flat();

/**
 * scalesF16(absMax, n, scaleOut, inv) -> lanes needing the scalar path (in blocks of 4).
 * scale = absMax / 7 rounded to float16 (round to nearest even on the bit pattern, valid for normal halves),
 * stored as float16 bits; inv = 1 / (that float16 value), 0 for an all-zero group. Values outside the normal
 * float16 range (subnormal scales, overflow, NaN) are counted so the caller redoes the block in JavaScript.
 * Results are bit-identical to scalesFromAbsMax in quantize.ts.
 */
const scalesF16: FunctionSpec = (() => {
  const [absMax, n, scaleOut, inv] = [0, 1, 2, 3];
  const [s, r, h, nz, cnt] = [4, 5, 6, 7, 8];
  const body: number[][] = [
    op.block(), op.loop(),
    op.localGet(n), op.i32Const(4), op.i32LtU(), op.brIf(1),
    op.localGet(absMax), op.v128Load(0), f32Splat(7), op.f32x4Div(), op.localSet(s),
    op.localGet(s), i32Splat(0), op.i32x4GtS(), op.localSet(nz),
    // ok = s == 0 || (2^-14 <= s && s < 65520)
    op.localGet(s), i32Splat(0), op.i32x4Eq(),
    op.localGet(s), i32Splat(0x38800000), op.i32x4GeS(),
    op.localGet(s), i32Splat(0x477fefff), op.i32x4LeS(),
    op.v128And(), op.v128Or(), op.i32x4AllTrue(), op.i32Eqz(),
    op.localGet(cnt), op.i32Add(), op.localSet(cnt),
    // r = (s + 0xfff + ((s >> 13) & 1)) >> 13: the float16 mantissa/exponent, rounded to nearest even
    op.localGet(s), i32Splat(0xfff), op.i32x4Add(),
    op.localGet(s), op.i32Const(13), op.i32x4ShrU(), i32Splat(1), op.v128And(), op.i32x4Add(),
    op.i32Const(13), op.i32x4ShrU(), op.localSet(r),
    op.localGet(r), i32Splat(112 << 10), op.i32x4Sub(), op.localGet(nz), op.v128And(), op.localSet(h),
  ];
  for (let lane = 0; lane < 4; lane++) body.push(op.localGet(scaleOut), op.localGet(h), op.i32x4ExtractLane(lane), op.i32Store16(lane * 2));
  body.push(
    // inv = 1 / float16 value (r << 13 is its float32 bit pattern), 0 where the scale is 0
    op.localGet(inv), f32Splat(1), op.localGet(r), op.i32Const(13), op.i32x4Shl(), op.f32x4Div(), op.localGet(nz), op.v128And(), op.v128Store(0),
    op.localGet(absMax), op.i32Const(16), op.i32Add(), op.localSet(absMax),
    op.localGet(inv), op.i32Const(16), op.i32Add(), op.localSet(inv),
    op.localGet(scaleOut), op.i32Const(8), op.i32Add(), op.localSet(scaleOut),
    op.localGet(n), op.i32Const(4), op.i32Sub(), op.localSet(n),
    op.br(0), op.end(), op.end(),
    op.localGet(cnt),
  );
  return { name: 'scalesF16', params: [I32, I32, I32, I32], locals: [V128, V128, V128, V128, I32], results: [I32], body };
})();

/** scalesF32(absMax, n, scaleOut, inv) -> blocks with a non-finite scale. scale = absMax / 7, inv = 1 / scale or 0. */
const scalesF32: FunctionSpec = (() => {
  const [absMax, n, scaleOut, inv] = [0, 1, 2, 3];
  const [s, cnt] = [4, 5];
  return {
    name: 'scalesF32',
    params: [I32, I32, I32, I32],
    locals: [V128, I32],
    results: [I32],
    body: [
      op.block(), op.loop(),
      op.localGet(n), op.i32Const(4), op.i32LtU(), op.brIf(1),
      op.localGet(absMax), op.v128Load(0), f32Splat(7), op.f32x4Div(), op.localSet(s),
      i32Splat(0x7f800000), op.localGet(s), op.i32x4GtS(), op.i32x4AllTrue(), op.i32Eqz(),
      op.localGet(cnt), op.i32Add(), op.localSet(cnt),
      op.localGet(scaleOut), op.localGet(s), op.v128Store(0),
      op.localGet(inv), f32Splat(1), op.localGet(s), op.f32x4Div(), op.localGet(s), i32Splat(0), op.i32x4GtS(), op.v128And(), op.v128Store(0),
      op.localGet(absMax), op.i32Const(16), op.i32Add(), op.localSet(absMax),
      op.localGet(inv), op.i32Const(16), op.i32Add(), op.localSet(inv),
      op.localGet(scaleOut), op.i32Const(16), op.i32Add(), op.localSet(scaleOut),
      op.localGet(n), op.i32Const(4), op.i32Sub(), op.localSet(n),
      op.br(0), op.end(), op.end(),
      op.localGet(cnt),
    ],
  };
})();

/**
 * quantPack(w, groups, inv, qw): per group of 32, nibble = clamp(trunc(w * inv[g] + 7.5), 0, 14), i.e.
 * round-half-up of w/scale + 7; eight nibbles per uint32 with element j in bits 4j..4j+3.
 * The multiplier vectors place lane j of the low half at 4j and of the high half at 16 + 4j; the bits never
 * overlap, so the lane sum equals the bitwise or.
 */
const quantPack: FunctionSpec = (() => {
  const [w, n, inv, qw] = [0, 1, 2, 3];
  const [s, c75, zero, c14, mlo, mhi, q] = [4, 5, 6, 7, 8, 9, 10];
  const nibbles = (off: number, mult: number) => [
    op.localGet(w), op.v128Load(off), op.localGet(s), op.f32x4Mul(), op.localGet(c75), op.f32x4Add(),
    op.i32x4TruncSatF32x4S(), op.localGet(zero), op.i32x4MaxS(), op.localGet(c14), op.i32x4MinS(),
    op.localGet(mult), op.i32x4Mul(),
  ].flat();
  const body: number[][] = [
    op.f32Const(7.5), op.f32x4Splat(), op.localSet(c75),
    op.i32Const(0), op.i32x4Splat(), op.localSet(zero),
    op.i32Const(14), op.i32x4Splat(), op.localSet(c14),
    op.v128Const(i32x4Bytes([1, 1 << 4, 1 << 8, 1 << 12])), op.localSet(mlo),
    op.v128Const(i32x4Bytes([1 << 16, 1 << 20, 1 << 24, 1 << 28])), op.localSet(mhi),
    op.block(), op.loop(), op.localGet(n), op.i32Eqz(), op.brIf(1),
    op.localGet(inv), op.f32Load(0), op.f32x4Splat(), op.localSet(s),
  ];
  for (let word = 0; word < 4; word++) {
    body.push(
      op.localGet(qw),
      nibbles(word * 32, mlo), nibbles(word * 32 + 16, mhi), op.i32x4Add(), op.localTee(q),
      op.i32x4ExtractLane(0), op.localGet(q), op.i32x4ExtractLane(1), op.i32Add(),
      op.localGet(q), op.i32x4ExtractLane(2), op.i32Add(), op.localGet(q), op.i32x4ExtractLane(3), op.i32Add(),
      op.i32Store(word * 4),
    );
  }
  body.push(
    op.localGet(w), op.i32Const(128), op.i32Add(), op.localSet(w),
    op.localGet(inv), op.i32Const(4), op.i32Add(), op.localSet(inv),
    op.localGet(qw), op.i32Const(16), op.i32Add(), op.localSet(qw),
    op.localGet(n), op.i32Const(1), op.i32Sub(), op.localSet(n),
    op.br(0), op.end(), op.end(),
  );
  return {
    name: 'quantPack',
    params: [I32, I32, I32, I32],
    locals: [V128, V128, V128, V128, V128, V128, V128],
    body,
  };
})();

export interface WasmKernelExports {
  memory: WebAssembly.Memory;
  bf16ToF32(src: number, dst: number, n: number): void;
  loraAdd(w: number, rows: number, k: number, a: number, b: number, r: number): void;
  groupAbsMax(w: number, groups: number, out: number): void;
  scalesF16(absMax: number, n: number, scaleOut: number, inv: number): number;
  scalesF32(absMax: number, n: number, scaleOut: number, inv: number): number;
  quantPack(w: number, groups: number, inv: number, qw: number): void;
}

let compiled: WebAssembly.Module | undefined;

/** Instantiates the kernels (the module is compiled once per process). */
export function instantiateKernels(): WasmKernelExports {
  compiled ??= new WebAssembly.Module(assembleModule([bf16ToF32, loraAdd, groupAbsMax, quantPack, scalesF16, scalesF32]));
  return new WebAssembly.Instance(compiled).exports as unknown as WasmKernelExports;
}
