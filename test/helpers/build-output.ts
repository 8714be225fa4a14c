/** Reads a build-model output folder back for tests (independently of verify-model). */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export interface OutRecord {
  name: string;
  shape: number[];
  dtype: string;
  format: string;
  nbytes: number;
  byteOffset: number;
  shard: string;
}

export interface BuiltModel {
  chatConfig: Record<string, any>;
  cache: { metadata: Record<string, number>; records: Array<{ dataPath: string; format: string; nbytes: number; md5sum: string; records: OutRecord[] }> };
  records: OutRecord[];
  bytes(name: string): Uint8Array;
  u32(name: string): Uint32Array;
  u16(name: string): Uint16Array;
  f32(name: string): Float32Array;
}

export function readBuilt(dir: string): BuiltModel {
  const chatConfig = JSON.parse(readFileSync(join(dir, 'mlc-chat-config.json'), 'utf8'));
  const cache = JSON.parse(readFileSync(join(dir, 'tensor-cache.json'), 'utf8')) as BuiltModel['cache'];
  const records = cache.records.flatMap((s) => s.records.map((r) => ({ ...r, shard: s.dataPath })));
  const shards = new Map<string, Buffer>();
  const bytes = (name: string) => {
    const r = records.find((x) => x.name === name);
    if (!r) throw new Error(`no record ${name}`);
    if (!shards.has(r.shard)) shards.set(r.shard, readFileSync(join(dir, r.shard)));
    const buf = shards.get(r.shard)!;
    return new Uint8Array(buf.buffer.slice(buf.byteOffset + r.byteOffset, buf.byteOffset + r.byteOffset + r.nbytes));
  };
  return {
    chatConfig,
    cache,
    records,
    bytes,
    u32: (n) => new Uint32Array(bytes(n).buffer),
    u16: (n) => new Uint16Array(bytes(n).buffer),
    f32: (n) => new Float32Array(bytes(n).buffer),
  };
}
