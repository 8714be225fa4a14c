/**
 * Row-block processing on the wasm kernels: read rows of a checkpoint tensor straight into wasm memory,
 * decode to f32, add the LoRA delta, quantize and pack. One instance holds a fixed set of buffers sized for a
 * block of rows, so memory stays bounded whatever the model size.
 */
import type { CheckpointTensor } from './checkpoint.js';
import { CheckpointError } from './errors.js';
import { decodeF16 } from './float16.js';
import { instantiateKernels, type WasmKernelExports } from './kernels-wasm.js';
import { GROUP_SIZE, PER_WORD, type ModelDtype } from './param-plan.js';
import { groupAbsMaxJs, quantPackJs, scalesFromAbsMax } from './quantize.js';

type Region = 'src0' | 'src1' | 'w' | 'a' | 'b' | 'absMax' | 'inv' | 'scale' | 'qw';

/** Two read buffers, so the next block can be read while this one is computed. */
export type Slot = 0 | 1;

export interface BlockShape {
  /** Rows per block. */
  rows: number;
  /** Values per row (K). */
  cols: number;
  /** Largest LoRA rank that will be added (0 for none). */
  rank: number;
}

const align = (n: number) => Math.ceil(n / 64) * 64;

export class RowKernels {
  private readonly wasm: WasmKernelExports = instantiateKernels();
  private offsets: Record<Region, number> = { src0: 0, src1: 0, w: 0, a: 0, b: 0, absMax: 0, inv: 0, scale: 0, qw: 0 };
  private shape: BlockShape = { rows: 0, cols: 0, rank: 0 };

  /** Sizes the buffers for blocks of `shape.rows` rows of `shape.cols` values. */
  configure(shape: BlockShape): void {
    const { rows, cols, rank } = shape;
    const values = rows * cols;
    const sizes: Array<[Region, number]> = [
      ['src0', values * 4],
      ['src1', values * 4],
      ['w', values * 4],
      ['a', Math.max(1, rank) * cols * 4],
      ['b', rows * Math.max(1, rank) * 4],
      ['absMax', Math.ceil(values / GROUP_SIZE) * 4],
      ['inv', Math.ceil(values / GROUP_SIZE) * 4],
      ['scale', Math.ceil(values / GROUP_SIZE) * 4],
      ['qw', Math.ceil(values / PER_WORD) * 4],
    ];
    let at = 64;
    for (const [region, bytes] of sizes) {
      this.offsets[region] = at;
      at += align(bytes);
    }
    const have = this.wasm.memory.buffer.byteLength;
    if (at > have) this.wasm.memory.grow(Math.ceil((at - have) / 65536));
    this.shape = shape;
  }

  private bytes(region: Region, length: number): Uint8Array {
    return new Uint8Array(this.wasm.memory.buffer, this.offsets[region], length);
  }

  private f32(region: Region, length: number): Float32Array {
    return new Float32Array(this.wasm.memory.buffer, this.offsets[region], length);
  }

  /** The current block as f32 (rows x cols), after decode / addLora. */
  weights(rows: number): Float32Array {
    return this.f32('w', rows * this.shape.cols);
  }

  /** Puts f32 rows into the w buffer directly (tests, and callers that already hold the values). */
  setRows(values: Float32Array): void {
    if (values.length > this.shape.rows * this.shape.cols) throw new RangeError('more values than one block');
    this.f32('w', values.length).set(values);
  }

  /** Decodes n bf16 values (bit patterns) into the w buffer with the SIMD kernel. */
  decodeBf16(bits: Uint16Array): void {
    new Uint16Array(this.wasm.memory.buffer, this.offsets.src0, bits.length).set(bits);
    this.decode(0, 'BF16', bits.length);
  }

  /** Reads the raw bytes of rows [row0, row0+rows) of a [*, cols] tensor into a read buffer. */
  async read(slot: Slot, tensor: CheckpointTensor, row0: number, rows: number): Promise<void> {
    const { cols } = this.shape;
    if (rows > this.shape.rows) throw new RangeError(`block of ${rows} rows exceeds the configured ${this.shape.rows}`);
    const size = elementBytes(tensor);
    await tensor.file.read(tensor, row0 * cols * size, this.bytes(slot === 0 ? 'src0' : 'src1', rows * cols * size));
  }

  /** Decodes n values read into `slot` to f32 in the w buffer. */
  decode(slot: Slot, dtype: string, n: number): void {
    const src = this.offsets[slot === 0 ? 'src0' : 'src1'];
    const { buffer } = this.wasm.memory;
    if (dtype === 'BF16') {
      const whole = n - (n % 8);
      this.wasm.bf16ToF32(src, this.offsets.w, whole);
      if (whole < n) {
        const from = new Uint16Array(buffer, src, n);
        const to = new Uint32Array(buffer, this.offsets.w, n);
        for (let i = whole; i < n; i++) to[i] = from[i]! << 16;
      }
    } else if (dtype === 'F16') {
      decodeF16(new Uint16Array(buffer, src, n), this.f32('w', n));
    } else {
      this.f32('w', n).set(new Float32Array(buffer, src, n));
    }
  }

  /** Sets the LoRA A matrix [rank, cols] for the following addLora calls. */
  setLoraA(a: Float32Array): void {
    if (a.length > Math.max(1, this.shape.rank) * this.shape.cols) throw new RangeError('LoRA A exceeds the configured rank');
    this.f32('a', a.length).set(a);
  }

  /** w[i, :] += sum_j bScaled[i, j] * A[j, :] for the block's rows (bScaled already holds the LoRA scale). */
  addLora(rows: number, rank: number, bScaled: Float32Array): void {
    const { cols } = this.shape;
    this.f32('b', rows * rank).set(bScaled.subarray(0, rows * rank));
    if (cols % 8 === 0) {
      this.wasm.loraAdd(this.offsets.w, rows, cols, this.offsets.a, this.offsets.b, rank);
      return;
    }
    const w = this.f32('w', rows * cols);
    const a = this.f32('a', rank * cols);
    for (let i = 0; i < rows; i++) {
      for (let j = 0; j < rank; j++) {
        const s = bScaled[i * rank + j]!;
        for (let k = 0; k < cols; k++) w[i * cols + k] = w[i * cols + k]! + s * a[j * cols + k]!;
      }
    }
  }

  /**
   * Quantizes the block: stored scales go to `scaleOut` from `scaleIndex`; returns a view of the packed
   * q_weight bytes (valid until the next call on this instance).
   */
  quantize(rows: number, dtype: ModelDtype, scaleOut: Uint16Array | Float32Array, scaleIndex: number, name: string): Uint8Array {
    const groups = (rows * this.shape.cols) / GROUP_SIZE;
    const { memory } = this.wasm;
    const o = this.offsets;
    this.wasm.groupAbsMax(o.w, groups, o.absMax);
    // Scales in SIMD for whole blocks of 4 groups; the scalar path for the tail, or for everything when a
    // value needs it (float16 subnormal scale, overflow, NaN: scalesFromAbsMax also raises the errors).
    const head = groups - (groups % 4);
    const abnormal = dtype === 'float16' ? this.wasm.scalesF16(o.absMax, head, o.scale, o.inv) : this.wasm.scalesF32(o.absMax, head, o.scale, o.inv);
    const absMax = this.f32('absMax', groups);
    const inv = this.f32('inv', groups);
    if (abnormal > 0) {
      scalesFromAbsMax(absMax, groups, dtype, scaleOut, scaleIndex, inv, name);
    } else {
      const stored = dtype === 'float16' ? new Uint16Array(memory.buffer, o.scale, head) : new Float32Array(memory.buffer, o.scale, head);
      scaleOut.set(stored, scaleIndex);
      if (head < groups) scalesFromAbsMax(absMax.subarray(head), groups - head, dtype, scaleOut, scaleIndex + head, inv.subarray(head), name);
    }
    this.wasm.quantPack(o.w, groups, o.inv, o.qw);
    return new Uint8Array(memory.buffer, o.qw, (groups * GROUP_SIZE) / 2);
  }
}

function elementBytes(tensor: CheckpointTensor): number {
  switch (tensor.dtype) {
    case 'BF16':
    case 'F16':
      return 2;
    case 'F32':
      return 4;
    default:
      throw new CheckpointError(`tensor ${tensor.name} has dtype ${tensor.dtype}; expected BF16, F16 or F32`);
  }
}

/** Scalar reference of RowKernels.quantize for tests (same results, bit for bit). */
export function quantizeBlockJs(w: Float32Array, dtype: ModelDtype, scaleOut: Uint16Array | Float32Array, name = 't'): Uint32Array {
  const groups = w.length / GROUP_SIZE;
  const absMax = new Float32Array(groups);
  const inv = new Float32Array(groups);
  groupAbsMaxJs(w, groups, absMax);
  scalesFromAbsMax(absMax, groups, dtype, scaleOut, 0, inv, name);
  const qw = new Uint32Array(w.length / PER_WORD);
  quantPackJs(w, groups, inv, qw);
  return qw;
}
