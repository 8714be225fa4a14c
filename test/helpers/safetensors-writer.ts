/**
 * A small safetensors writer for tests and the build benchmark. Tensor data is given as values (converted to
 * the dtype with round-to-nearest-even) or as a fill function called chunk by chunk, so multi-gigabyte
 * synthetic checkpoints can be written without holding them in memory.
 */
import { open } from 'node:fs/promises';
import { f32ToF16Bits } from '../../src/model-builder/float16.js';

export type WritableDtype = 'BF16' | 'F16' | 'F32';

export interface TensorToWrite {
  name: string;
  dtype: WritableDtype;
  shape: number[];
  /**
   * All values; or a function that fills `out` with the values starting at element `start`; or
   * `{ bytes }`, a function that fills `out` with already-encoded bytes starting at byte `start` (fast path
   * for the benchmark's multi-gigabyte checkpoints).
   */
  data: Float32Array | ((start: number, out: Float32Array) => void) | { bytes: (start: number, out: Uint8Array) => void };
}

const BYTES: Record<WritableDtype, number> = { BF16: 2, F16: 2, F32: 4 };
const CHUNK = 1 << 20;

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** bfloat16 bits of `value`, rounded to nearest even (NaN stays NaN). */
export function f32ToBf16Bits(value: number): number {
  f32[0] = value;
  const x = u32[0]!;
  if ((x & 0x7fffffff) > 0x7f800000) return ((x >>> 16) | 0x40) & 0xffff;
  return ((x + 0x7fff + ((x >>> 16) & 1)) >>> 16) & 0xffff;
}

/** The value a float32 becomes once stored as `dtype` (what a reader will get back). */
export function storedValue(value: number, dtype: WritableDtype): number {
  if (dtype === 'F32') return Math.fround(value);
  if (dtype === 'BF16') {
    u32[0] = f32ToBf16Bits(value) << 16;
    return f32[0]!;
  }
  const bits = f32ToF16Bits(value);
  const sign = bits & 0x8000 ? -1 : 1;
  const exp = (bits >>> 10) & 0x1f;
  const mant = bits & 0x3ff;
  if (exp === 0) return sign * mant * 2 ** -24;
  if (exp === 0x1f) return mant ? NaN : sign * Infinity;
  return sign * (1 + mant / 1024) * 2 ** (exp - 15);
}

function encode(values: Float32Array, dtype: WritableDtype): Uint8Array {
  if (dtype === 'F32') return new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
  const out = new Uint16Array(values.length);
  if (dtype === 'BF16') for (let i = 0; i < values.length; i++) out[i] = f32ToBf16Bits(values[i]!);
  else for (let i = 0; i < values.length; i++) out[i] = f32ToF16Bits(values[i]!);
  return new Uint8Array(out.buffer);
}

export async function writeSafetensors(path: string, tensors: TensorToWrite[], metadata: Record<string, string> = { format: 'pt' }): Promise<number> {
  const header: Record<string, unknown> = { __metadata__: metadata };
  let offset = 0;
  for (const t of tensors) {
    const bytes = t.shape.reduce((a, b) => a * b, 1) * BYTES[t.dtype];
    header[t.name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - ((8 + Buffer.byteLength(json)) % 8)) % 8);
  const head = Buffer.alloc(8);
  head.writeBigUInt64LE(BigInt(Buffer.byteLength(json)));
  const handle = await open(path, 'w');
  try {
    await handle.write(head);
    await handle.write(json);
    for (const t of tensors) {
      const count = t.shape.reduce((a, b) => a * b, 1);
      if (t.data instanceof Float32Array) {
        if (t.data.length !== count) throw new Error(`${t.name}: ${t.data.length} values for shape [${t.shape}]`);
        await handle.write(encode(t.data, t.dtype));
        continue;
      }
      if (!(typeof t.data === 'function')) {
        const total = count * BYTES[t.dtype];
        const raw = new Uint8Array(Math.min(CHUNK * 4, total));
        for (let start = 0; start < total; start += raw.length) {
          const view = raw.subarray(0, Math.min(raw.length, total - start));
          t.data.bytes(start, view);
          await handle.write(view);
        }
        continue;
      }
      const chunk = new Float32Array(Math.min(CHUNK, count));
      for (let start = 0; start < count; start += CHUNK) {
        const view = chunk.subarray(0, Math.min(CHUNK, count - start));
        t.data(start, view);
        await handle.write(encode(view, t.dtype));
      }
    }
  } finally {
    await handle.close();
  }
  return 8 + Buffer.byteLength(json) + offset;
}
