/** `count(1, 'shard')` is "1 shard", `count(2, 'shard')` "2 shards": messages never say "1 shards". */
export function count(n: number, singular: string, plural = `${singular}s`): string {
  return `${n} ${n === 1 ? singular : plural}`;
}
