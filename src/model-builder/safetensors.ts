/**
 * Streaming safetensors reader: parses the header, then reads any byte range of a tensor through a file
 * handle, so a multi-gigabyte shard is never loaded whole.
 *
 * Format: u64 little-endian header length N, N bytes of JSON {name: {dtype, shape, data_offsets: [begin, end]},
 * "__metadata__"?: {...}}, then the data section; offsets are relative to the start of the data section.
 */
import { open, type FileHandle } from 'node:fs/promises';
import { CheckpointError, MissingFileError } from './errors.js';

export type SafetensorsDtype = 'BF16' | 'F16' | 'F32' | 'F64' | 'I64' | 'I32' | 'I16' | 'I8' | 'U8' | 'BOOL';

const DTYPE_BYTES: Record<string, number> = {
  BF16: 2, F16: 2, F32: 4, F64: 8, I64: 8, I32: 4, I16: 2, I8: 1, U8: 1, BOOL: 1,
};

export function dtypeBytes(dtype: string): number {
  const n = DTYPE_BYTES[dtype];
  if (n === undefined) throw new CheckpointError(`unsupported safetensors dtype ${dtype}`);
  return n;
}

export interface TensorInfo {
  name: string;
  dtype: SafetensorsDtype;
  shape: number[];
  /** Absolute offset of the first byte in the file. */
  fileOffset: number;
  byteLength: number;
}

/** Largest header we accept; real ones are well under 1 MB. */
const MAX_HEADER_BYTES = 100 * 1024 * 1024;

export class SafetensorsFile {
  private constructor(
    readonly path: string,
    private readonly handle: FileHandle,
    readonly tensors: ReadonlyMap<string, TensorInfo>,
    readonly metadata: Readonly<Record<string, string>>,
    readonly fileSize: number,
  ) {}

  static async open(path: string): Promise<SafetensorsFile> {
    let handle: FileHandle;
    try {
      handle = await open(path, 'r');
    } catch (error) {
      if ((error as { code?: string }).code === 'ENOENT') {
        throw new MissingFileError(`missing safetensors file ${path}`, [path], { cause: error });
      }
      throw error;
    }
    try {
      const fileSize = (await handle.stat()).size;
      const head = Buffer.alloc(8);
      await readFully(handle, head, 0, path);
      const headerBytes = Number(head.readBigUInt64LE(0));
      if (headerBytes < 2 || headerBytes > MAX_HEADER_BYTES || 8 + headerBytes > fileSize) {
        throw new CheckpointError(`${path} is not a safetensors file (header length ${headerBytes}, file ${fileSize} bytes)`);
      }
      const headerBuf = Buffer.alloc(headerBytes);
      await readFully(handle, headerBuf, 8, path);
      let header: Record<string, unknown>;
      try {
        header = JSON.parse(headerBuf.toString('utf8')) as Record<string, unknown>;
      } catch (error) {
        throw new CheckpointError(`${path}: safetensors header is not valid JSON`, { cause: error });
      }
      const dataStart = 8 + headerBytes;
      const tensors = new Map<string, TensorInfo>();
      let metadata: Record<string, string> = {};
      for (const [name, raw] of Object.entries(header)) {
        if (name === '__metadata__') {
          metadata = (raw ?? {}) as Record<string, string>;
          continue;
        }
        tensors.set(name, parseEntry(path, name, raw, dataStart, fileSize));
      }
      return new SafetensorsFile(path, handle, tensors, metadata, fileSize);
    } catch (error) {
      await handle.close();
      throw error;
    }
  }

  get(name: string): TensorInfo {
    const info = this.tensors.get(name);
    if (!info) throw new CheckpointError(`${this.path} has no tensor ${name}`);
    return info;
  }

  /** Fills `into` with the tensor's bytes starting `byteOffset` bytes into the tensor. */
  async read(info: TensorInfo, byteOffset: number, into: Uint8Array): Promise<void> {
    if (byteOffset < 0 || byteOffset + into.byteLength > info.byteLength) {
      throw new RangeError(`read of ${into.byteLength} bytes at ${byteOffset} is outside tensor ${info.name}`);
    }
    await readFully(this.handle, into, info.fileOffset + byteOffset, this.path);
  }

  async close(): Promise<void> {
    await this.handle.close();
  }
}

function parseEntry(path: string, name: string, raw: unknown, dataStart: number, fileSize: number): TensorInfo {
  const entry = raw as { dtype?: unknown; shape?: unknown; data_offsets?: unknown } | null;
  const bad = (why: string) => new CheckpointError(`${path}: tensor ${name}: ${why}`);
  if (!entry || typeof entry.dtype !== 'string') throw bad('no dtype');
  if (!Array.isArray(entry.shape) || !entry.shape.every((d) => Number.isInteger(d) && d >= 0)) throw bad('bad shape');
  const offsets = entry.data_offsets;
  if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((o) => Number.isInteger(o) && o >= 0)) {
    throw bad('bad data_offsets');
  }
  const [begin, end] = offsets as [number, number];
  const shape = entry.shape as number[];
  const expected = shape.reduce((a, b) => a * b, 1) * dtypeBytes(entry.dtype);
  if (end - begin !== expected) throw bad(`data_offsets span ${end - begin} bytes, shape needs ${expected}`);
  if (dataStart + end > fileSize) {
    throw bad(`data ends at byte ${dataStart + end} but the file has ${fileSize} bytes (truncated download?)`);
  }
  return { name, dtype: entry.dtype as SafetensorsDtype, shape, fileOffset: dataStart + begin, byteLength: end - begin };
}

/** Reads exactly into.byteLength bytes at `position`, or throws (a short read means a truncated file). */
export async function readFully(handle: FileHandle, into: Uint8Array, position: number, path: string): Promise<void> {
  let done = 0;
  while (done < into.byteLength) {
    const { bytesRead } = await handle.read(into, done, into.byteLength - done, position + done);
    if (bytesRead === 0) throw new CheckpointError(`${path} ended early at byte ${position + done} (truncated file?)`);
    done += bytesRead;
  }
}
