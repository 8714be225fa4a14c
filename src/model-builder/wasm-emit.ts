/**
 * A tiny WebAssembly binary assembler: just enough to build the SIMD kernels in kernels-wasm.ts at run time.
 *
 * Why: the builder's hot loops (bf16 decode, LoRA merge, 4-bit quantization) run several times faster as
 * wasm SIMD than as scalar JavaScript, and emitting the module from TypeScript keeps the project free of a
 * C/Rust toolchain and of opaque binary blobs. Only the opcodes the kernels use are defined.
 */

export const I32 = 0x7f;
export const F32 = 0x7d;
export const V128 = 0x7b;
export type ValType = typeof I32 | typeof F32 | typeof V128;

/** Unsigned LEB128. */
export function uleb(value: number): number[] {
  const out: number[] = [];
  let v = value >>> 0;
  do {
    let byte = v & 0x7f;
    v >>>= 7;
    if (v !== 0) byte |= 0x80;
    out.push(byte);
  } while (v !== 0);
  return out;
}

/** Signed LEB128 for 32-bit values. */
export function sleb(value: number): number[] {
  const out: number[] = [];
  let v = value | 0;
  for (;;) {
    const byte = v & 0x7f;
    v >>= 7;
    const done = (v === 0 && (byte & 0x40) === 0) || (v === -1 && (byte & 0x40) !== 0);
    out.push(done ? byte : byte | 0x80);
    if (done) return out;
  }
}

const utf8 = (s: string) => [...new TextEncoder().encode(s)];
const vec = (items: number[][]) => [...uleb(items.length), ...items.flat()];
const section = (id: number, body: number[]) => [id, ...uleb(body.length), ...body];
const simd = (op: number) => [0xfd, ...uleb(op)];
const memarg = (align: number, offset: number) => [...uleb(align), ...uleb(offset)];

/** Instructions, as byte arrays. Names follow the WebAssembly text format. */
export const op = {
  block: () => [0x02, 0x40],
  loop: () => [0x03, 0x40],
  end: () => [0x0b],
  br: (depth: number) => [0x0c, ...uleb(depth)],
  brIf: (depth: number) => [0x0d, ...uleb(depth)],
  localGet: (i: number) => [0x20, ...uleb(i)],
  localSet: (i: number) => [0x21, ...uleb(i)],
  localTee: (i: number) => [0x22, ...uleb(i)],
  i32Load: (offset = 0) => [0x28, ...memarg(2, offset)],
  f32Load: (offset = 0) => [0x2a, ...memarg(2, offset)],
  i32Store: (offset = 0) => [0x36, ...memarg(2, offset)],
  i32Store16: (offset = 0) => [0x3b, ...memarg(1, offset)],
  f32Store: (offset = 0) => [0x38, ...memarg(2, offset)],
  i32Const: (v: number) => [0x41, ...sleb(v)],
  f32Const: (v: number) => {
    const b = new Uint8Array(new Float32Array([v]).buffer);
    return [0x43, ...b];
  },
  i32Eqz: () => [0x45],
  i32LtU: () => [0x49],
  i32GeU: () => [0x4f],
  i32GtU: () => [0x4b],
  i32Add: () => [0x6a],
  i32Sub: () => [0x6b],
  i32Mul: () => [0x6c],
  i32Shl: () => [0x74],
  f32Max: () => [0x97],
  v128Load: (offset = 0) => [...simd(0x00), ...memarg(4, offset)],
  v128Store: (offset = 0) => [...simd(0x0b), ...memarg(4, offset)],
  v128Const: (bytes: Uint8Array) => [...simd(0x0c), ...bytes],
  i8x16Shuffle: (lanes: number[]) => [...simd(0x0d), ...lanes],
  i32x4Splat: () => simd(0x11),
  f32x4Splat: () => simd(0x13),
  i32x4ExtractLane: (lane: number) => [...simd(0x1b), lane],
  f32x4ExtractLane: (lane: number) => [...simd(0x1f), lane],
  i32x4Eq: () => simd(0x37),
  i32x4GtS: () => simd(0x3b),
  i32x4LeS: () => simd(0x3d),
  i32x4GeS: () => simd(0x3f),
  v128And: () => simd(0x4e),
  v128Or: () => simd(0x50),
  i32x4AllTrue: () => simd(0xa3),
  i32x4ExtendLowI16x8U: () => simd(0xa9),
  i32x4ExtendHighI16x8U: () => simd(0xaa),
  i32x4Shl: () => simd(0xab),
  i32x4ShrU: () => simd(0xad),
  i32x4Add: () => simd(0xae),
  i32x4Sub: () => simd(0xb1),
  i32x4Mul: () => simd(0xb5),
  i32x4MinS: () => simd(0xb6),
  i32x4MaxS: () => simd(0xb8),
  f32x4Abs: () => simd(0xe0),
  f32x4Add: () => simd(0xe4),
  f32x4Mul: () => simd(0xe6),
  f32x4Div: () => simd(0xe7),
  f32x4Max: () => simd(0xe9),
  i32x4TruncSatF32x4S: () => simd(0xf8),
};

export interface FunctionSpec {
  name: string;
  params: ValType[];
  /** Extra locals after the params, in order. */
  locals: ValType[];
  results?: ValType[];
  body: number[][];
}

/** Assembles a module that exports one memory ("memory") and the given functions. */
export function assembleModule(functions: FunctionSpec[], initialPages = 1): Uint8Array<ArrayBuffer> {
  const types = functions.map((f) => [0x60, ...vec(f.params.map((p) => [p])), ...vec((f.results ?? []).map((r) => [r]))]);
  const funcs = functions.map((_, i) => uleb(i));
  const memory = [[0x00, ...uleb(initialPages)]];
  const exports = [
    [...uleb(utf8('memory').length), ...utf8('memory'), 0x02, 0x00],
    ...functions.map((f, i) => [...uleb(utf8(f.name).length), ...utf8(f.name), 0x00, ...uleb(i)]),
  ];
  const codes = functions.map((f) => {
    const locals = vec(f.locals.map((t) => [...uleb(1), t]));
    const body = [...locals, ...f.body.flat(), 0x0b];
    return [...uleb(body.length), ...body];
  });
  return new Uint8Array([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, vec(types)),
    ...section(3, vec(funcs)),
    ...section(5, vec(memory)),
    ...section(7, vec(exports)),
    ...section(10, vec(codes)),
  ]);
}
