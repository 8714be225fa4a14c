/** The streaming safetensors reader (with the test writer), checkpoint folders and the shard writer. */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { Checkpoint } from '../../src/model-builder/checkpoint.js';
import { CheckpointError, MissingFileError } from '../../src/model-builder/errors.js';
import { SafetensorsFile } from '../../src/model-builder/safetensors.js';
import { ShardWriter } from '../../src/model-builder/shard-writer.js';
import { f32ToBf16Bits, storedValue, writeSafetensors } from '../helpers/safetensors-writer.js';

let work: string;
beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'aegis-safetensors-'));
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('safetensors', () => {
  test('header, dtypes and byte ranges round-trip; reads are partial', async () => {
    const path = join(work, 'a.safetensors');
    const values = Float32Array.from({ length: 24 }, (_, i) => i / 3 - 4);
    await writeSafetensors(path, [
      { name: 'x.bf16', dtype: 'BF16', shape: [4, 6], data: values },
      { name: 'x.f32', dtype: 'F32', shape: [24], data: values },
      { name: 'x.f16', dtype: 'F16', shape: [2, 12], data: (start, out) => out.set(values.subarray(start, start + out.length)) },
    ]);
    const raw = readFileSync(path);
    const headerLength = Number(raw.readBigUInt64LE(0));
    expect((8 + headerLength) % 8).toBe(0); // padded like the reference writer
    const file = await SafetensorsFile.open(path);
    try {
      expect(file.metadata).toEqual({ format: 'pt' });
      const bf = file.get('x.bf16');
      expect(bf).toMatchObject({ dtype: 'BF16', shape: [4, 6], byteLength: 48 });
      const row2 = new Uint8Array(12);
      await file.read(bf, 2 * 12, row2);
      expect(Array.from(new Uint16Array(row2.buffer))).toEqual(Array.from(values.subarray(12, 18), f32ToBf16Bits));
      const f16 = new Uint8Array(48);
      await file.read(file.get('x.f16'), 0, f16);
      expect(new Uint16Array(f16.buffer)[5]).toBeDefined();
      const f32 = new Uint8Array(96);
      await file.read(file.get('x.f32'), 0, f32);
      expect(Array.from(new Float32Array(f32.buffer))).toEqual(Array.from(values, (v) => storedValue(v, 'F32')));
      await expect(file.read(bf, 40, new Uint8Array(12))).rejects.toThrow(RangeError);
    } finally {
      await file.close();
    }
  });

  test('malformed files are refused', async () => {
    const bad = join(work, 'bad.safetensors');
    writeFileSync(bad, Buffer.from('not a safetensors file at all'));
    await expect(SafetensorsFile.open(bad)).rejects.toBeInstanceOf(CheckpointError);
    const head = Buffer.alloc(8);
    const json = JSON.stringify({ t: { dtype: 'F32', shape: [2], data_offsets: [0, 12] } });
    head.writeBigUInt64LE(BigInt(json.length));
    writeFileSync(bad, Buffer.concat([head, Buffer.from(json), Buffer.alloc(12)]));
    await expect(SafetensorsFile.open(bad)).rejects.toThrow(/span 12 bytes, shape needs 8/);
    await expect(SafetensorsFile.open(join(work, 'nope.safetensors'))).rejects.toBeInstanceOf(MissingFileError);
  });

  test('a checkpoint folder finds tensors across index shards and refuses duplicates', async () => {
    const dir = join(work, 'ckpt');
    mkdirSync(dir);
    await writeSafetensors(join(dir, 's1.safetensors'), [{ name: 'a', dtype: 'F32', shape: [2], data: new Float32Array(2) }]);
    await writeSafetensors(join(dir, 's2.safetensors'), [{ name: 'b', dtype: 'F32', shape: [3], data: new Float32Array(3) }]);
    writeFileSync(join(dir, 'model.safetensors.index.json'), JSON.stringify({ weight_map: { a: 's1.safetensors', b: 's2.safetensors' } }));
    const ckpt = await Checkpoint.open(dir);
    expect(ckpt.names.sort()).toEqual(['a', 'b']);
    expect(ckpt.get('b').file.path).toBe(join(dir, 's2.safetensors'));
    expect(ckpt.dataBytes).toBe(20);
    await ckpt.close();
    await writeSafetensors(join(dir, 's2.safetensors'), [{ name: 'a', dtype: 'F32', shape: [3], data: new Float32Array(3) }]);
    await expect(Checkpoint.open(dir)).rejects.toThrow(/appears in two shards/);
    const empty = join(work, 'empty');
    mkdirSync(empty);
    writeFileSync(join(empty, 'pytorch_model.bin'), '');
    await expect(Checkpoint.open(empty)).rejects.toThrow(/only PyTorch \.bin\/\.pth files/);
  });
});

describe('ShardWriter', () => {
  test('packs small tensors up to the cap, gives big ones their own shard, keeps the order', async () => {
    const dir = join(work, 'shards');
    mkdirSync(dir);
    const w = new ShardWriter(dir, 100);
    const bytes = (n: number, v: number) => new Uint8Array(n).fill(v);
    await w.writeTensor('a', [10], 'float32', bytes(40, 1));
    await w.writeTensor('b', [10], 'float32', bytes(40, 2));
    await w.writeTensor('c', [5], 'float32', bytes(20, 3)); // 100 bytes: still fits
    await w.writeTensor('d', [2], 'float32', bytes(8, 4)); // would exceed: new shard
    const big = await w.begin('e', [30], 'float32', 120); // >= half the cap: its own shard, streamed
    await big.write(bytes(60, 5));
    await big.write(bytes(60, 6));
    await big.end();
    await w.writeTensor('f', [1], 'float32', bytes(4, 7));
    const shards = await w.finish();
    expect(shards.map((s) => [s.dataPath, s.nbytes, s.records.map((r) => `${r.name}@${r.byteOffset}`)])).toEqual([
      ['params_shard_0.bin', 100, ['a@0', 'b@40', 'c@80']],
      ['params_shard_1.bin', 8, ['d@0']],
      ['params_shard_2.bin', 120, ['e@0']],
      ['params_shard_3.bin', 4, ['f@0']],
    ]);
    expect(readFileSync(join(dir, 'params_shard_2.bin'))[60]).toBe(6);
    expect(shards[0]!.md5sum).toMatch(/^[0-9a-f]{32}$/);
  });

  test('a tensor must receive exactly its bytes', async () => {
    const w = new ShardWriter(join(work, 'shards-x'), 100);
    mkdirSync(join(work, 'shards-x'));
    const sink = await w.begin('short', [4], 'float32', 16);
    await sink.write(new Uint8Array(8));
    await expect(sink.end()).rejects.toThrow(/wrote 8 of 16 bytes/);
    await w.abort();
  });
});
