/**
 * Writes parameter shards in the tvmjs tensor-cache layout WebLLM reads (internals §6.3): records are packed
 * into `params_shard_<n>.bin` files of at most `capBytes` (32 MiB); a tensor of at least half the cap gets a
 * shard of its own at offset 0 and is streamed to disk as it is produced (so a 260 MB lm_head never sits in
 * memory). Records keep the order they were written in, across shards, so the flattened record list follows
 * the model library's parameter order.
 */
import { open, writeFile, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { CheckpointError, rethrowDiskFull } from './errors.js';
import { Md5Worker } from './md5-worker.js';
import type { ParamDtype } from './param-plan.js';

export interface TensorRecord {
  name: string;
  shape: number[];
  dtype: ParamDtype;
  format: 'raw';
  nbytes: number;
  byteOffset: number;
}

export interface ShardRecord {
  dataPath: string;
  format: 'raw-shard';
  nbytes: number;
  records: TensorRecord[];
  md5sum: string;
}

export interface TensorSink {
  write(bytes: Uint8Array): Promise<void>;
  end(): Promise<void>;
}

export const DEFAULT_SHARD_CAP = 32 * 1024 * 1024;

export class ShardWriter {
  readonly shards: ShardRecord[] = [];
  private pending: Buffer | undefined;
  private pendingBytes = 0;
  private pendingRecords: TensorRecord[] = [];
  private open = false;
  private written = 0;
  private streaming: FileHandle | undefined;
  private md5Worker: Md5Worker | undefined;
  private readonly md5Pending: Array<Promise<void>> = [];

  constructor(
    readonly dir: string,
    readonly capBytes = DEFAULT_SHARD_CAP,
    readonly prefix = 'params_shard',
  ) {}

  /** Total bytes of all records written so far. */
  get totalBytes(): number {
    return this.written;
  }

  /** Starts a tensor of exactly `nbytes`; write its bytes in order, then end() it. One tensor at a time. */
  async begin(name: string, shape: number[], dtype: ParamDtype, nbytes: number): Promise<TensorSink> {
    if (this.open) throw new Error('ShardWriter: previous tensor not ended');
    this.open = true;
    const record: TensorRecord = { name, shape, dtype, format: 'raw', nbytes, byteOffset: 0 };
    let received = 0;
    const check = (n: number) => {
      received += n;
      if (received > nbytes) throw new CheckpointError(`tensor ${name}: got more than its ${nbytes} bytes`);
    };
    const finish = () => {
      if (received !== nbytes) throw new CheckpointError(`tensor ${name}: wrote ${received} of ${nbytes} bytes`);
      this.open = false;
      this.written += nbytes;
    };

    if (nbytes * 2 >= this.capBytes) {
      await this.commit();
      const dataPath = `${this.prefix}_${this.shards.length}.bin`;
      const path = join(this.dir, dataPath);
      const handle = await open(path, 'w').catch((e: unknown) => rethrowDiskFull(e, path));
      this.streaming = handle;
      const md5 = this.md5();
      const hash = md5.start();
      return {
        write: async (bytes) => {
          check(bytes.byteLength);
          await md5.update(hash, bytes);
          await writeAll(handle, bytes, path);
        },
        end: async () => {
          finish();
          this.streaming = undefined;
          await handle.close().catch((e: unknown) => rethrowDiskFull(e, path));
          this.pushShard({ dataPath, format: 'raw-shard', nbytes, records: [record], md5sum: '' }, hash);
        },
      };
    }

    if (this.pendingBytes + nbytes > this.capBytes) await this.commit();
    record.byteOffset = this.pendingBytes;
    this.pending ??= Buffer.allocUnsafe(this.capBytes);
    let at = this.pendingBytes;
    return {
      write: async (bytes) => {
        check(bytes.byteLength);
        this.pending!.set(bytes, at);
        at += bytes.byteLength;
      },
      end: async () => {
        finish();
        this.pendingBytes += nbytes;
        this.pendingRecords.push(record);
      },
    };
  }

  /** Writes a whole tensor held in memory. */
  async writeTensor(name: string, shape: number[], dtype: ParamDtype, data: Uint8Array): Promise<void> {
    const sink = await this.begin(name, shape, dtype, data.byteLength);
    await sink.write(data);
    await sink.end();
  }

  /** Flushes the open shard; returns every shard record. */
  async finish(): Promise<ShardRecord[]> {
    if (this.open) throw new Error('ShardWriter: a tensor is still open');
    await this.commit();
    this.pending = undefined;
    try {
      await Promise.all(this.md5Pending);
    } finally {
      await this.md5Worker?.close();
      this.md5Worker = undefined;
    }
    return this.shards;
  }

  /** Releases an open file after a failure (the caller removes the output folder). */
  async abort(): Promise<void> {
    const handle = this.streaming;
    this.streaming = undefined;
    this.pending = undefined;
    await handle?.close().catch(() => undefined);
    await this.md5Worker?.close();
    this.md5Worker = undefined;
  }

  private md5(): Md5Worker {
    this.md5Worker ??= new Md5Worker();
    return this.md5Worker;
  }

  private pushShard(shard: ShardRecord, hash: number): void {
    this.shards.push(shard);
    const digest = this.md5().digest(hash).then((hex) => void (shard.md5sum = hex));
    digest.catch(() => undefined); // awaited in finish(); avoid an unhandled rejection meanwhile
    this.md5Pending.push(digest);
  }

  private async commit(): Promise<void> {
    if (this.pendingBytes === 0) return;
    const dataPath = `${this.prefix}_${this.shards.length}.bin`;
    const path = join(this.dir, dataPath);
    const data = this.pending!.subarray(0, this.pendingBytes);
    const md5 = this.md5();
    const hash = md5.start();
    await md5.update(hash, data);
    await writeFile(path, data).catch((e: unknown) => rethrowDiskFull(e, path));
    this.pushShard({ dataPath, format: 'raw-shard', nbytes: this.pendingBytes, records: this.pendingRecords, md5sum: '' }, hash);
    this.pendingBytes = 0;
    this.pendingRecords = [];
  }
}

async function writeAll(handle: FileHandle, bytes: Uint8Array, path: string): Promise<void> {
  let done = 0;
  while (done < bytes.byteLength) {
    const { bytesWritten } = await handle.write(bytes, done, bytes.byteLength - done).catch((e: unknown) => rethrowDiskFull(e, path));
    done += bytesWritten;
  }
}
