/**
 * Keeps what earlier checks left in the engine's KV cache, so a check prefills only what it does not share.
 *
 * Model of the cache (the TokenSession contract, engine.ts): one sequence of token ids; `forward` appends,
 * `truncate(n)` keeps the first n, `reset` empties it. Attention is causal, so the KV entries of the first n
 * tokens depend only on those n tokens (and on how they were split into forwards). The reference measured
 * popn rollback as bit-identical on a real runtime; what does change the numbers (~1e-3 in the logits) is
 * the split of a prompt into forwards. So every check is forwarded in the same segments, a fixed function of
 * its text, whether it starts from an empty cache or not:
 *
 *   [template prefix] [ user text] [response: agent:] [ reply, closing template, answer opening]
 *   level 1            level 2      level 3 (reply checks only)
 *
 * A check may keep a level from the cache when the cache holds the same ids up to that level and the cached
 * entries were forwarded as the same segments (their forward ended exactly there). Its result is then the
 * one a fresh check would compute, bit for bit. What that buys:
 * - level 1: every check with the same categories;
 * - level 2: a reply check after the prompt check of the same message (and every window of that reply)
 *   prefills only `response: agent: …` and the tail;
 * - level 3: every chunk check of a streamed reply after the first.
 * A level is never assumed from the texts: the judge places a boundary only where the tokenizer really
 * splits (`encode(a) ++ encode(b)` is how `a + b` is encoded), and keeps it only where the ids agree.
 *
 * A record of the cache is trusted only while it provably still describes the cache: the session's
 * `kvLength()` equals the record's length and its `cacheEpoch()` (engine.ts: it changes on every reset, raw
 * completion, reload and failed forward or truncate) is the one the record was made in; equal lengths alone
 * prove nothing. Otherwise the record is dropped and the check starts from an empty cache (the plain path).
 *
 * Why WebLLM 0.2.86 (pinned) behaves like that model (idx:N = line of node_modules/@mlc-ai/web-llm/lib/index.js):
 * - The cache is a paged KV cache created for ONE sequence (max_num_sequence 1, idx:11924-11935), re-added
 *   as sequence 0 by resetKVCache (idx:12024-12029); nothing in WebLLM forks it (internals §2).
 * - The session's forward (webllm-token-session.ts: `forwardKnownTokens`, idx:14036-14081, or
 *   `forwardTokensAndSample`, idx:13958-14035) forwards the ids chunk by chunk on top of the existing cache;
 *   each chunk grows `filledKVCacheLength` by exactly its length (idx:13279-13333), and the session checks
 *   the length afterwards. Nothing sampled is forwarded: the cache holds exactly the ids we sent. Chunks are
 *   cut at fixed offsets from the start of each forward, so equal segments are chunked equally.
 * - The session's `truncate` pops the surplus with `vm.builtin.kv_state_popn` (an int64 count). Popping more
 *   than the cache holds kills the runtime; a kept length is always within the record's length.
 */
import type { TokenSession } from '../engine/engine.js';

/** What the cache holds, as far as this module knows: its exact ids, where its forwards ended, its epoch. */
interface CacheRecord {
  ids: number[];
  /** Lengths at which a forward ended (ascending). */
  ends: number[];
  epoch: number;
}

const records = new WeakMap<TokenSession, CacheRecord>();

/** The record, if it provably still describes the cache; a stale one is dropped. */
function currentRecord(session: TokenSession): CacheRecord | undefined {
  const record = records.get(session);
  if (!record) return undefined;
  if (session.kvLength() !== record.ids.length || session.cacheEpoch() !== record.epoch) {
    records.delete(session);
    return undefined;
  }
  return record;
}

/** The ids the cache provably holds, or undefined when that is not known (a view, valid until the next forward). */
export function heldIds(session: TokenSession): readonly number[] | undefined {
  return currentRecord(session)?.ids;
}

function commonPrefixLength(a: readonly number[], b: readonly number[]): number {
  const n = Math.min(a.length, b.length);
  let i = 0;
  while (i < n && a[i] === b[i]) i++;
  return i;
}

/** How to bring the cache to hold a check's ids. */
export interface ReusePlan {
  /** Cached ids to keep (0: start from an empty cache). */
  keep: number;
  /** The forwards to make after them, in order (never empty: the check needs the logits after its last id). */
  segments: number[][];
}

/**
 * Plans a check whose prompt is `ids` (at least one id), forwarded in segments that end at `levels`
 * (ascending lengths inside `ids`) and at its end. Without `truncate` nothing can be kept and the prompt is
 * one forward.
 */
export function planReuse(session: TokenSession, ids: readonly number[], levels: readonly number[]): ReusePlan {
  if (!session.truncate) return { keep: 0, segments: [[...ids]] };
  const cuts = levels.filter((n, i) => n > 0 && n < ids.length && (i === 0 || n > levels[i - 1]!));
  const record = currentRecord(session);
  let keep = 0;
  if (record) {
    const shared = commonPrefixLength(record.ids, ids);
    for (const level of cuts) if (level <= shared && record.ends.includes(level)) keep = level;
  }
  const segments: number[][] = [];
  let from = keep;
  for (const level of [...cuts.filter((n) => n > keep), ids.length]) {
    segments.push(ids.slice(from, level));
    from = level;
  }
  return { keep, segments };
}

/**
 * Applies the `keep` part of a plan: truncates to `keep`, or resets when nothing is kept (or nothing is
 * known about the cache). Records what the cache then holds.
 */
export async function keepPrefix(session: TokenSession, keep: number): Promise<void> {
  const record = currentRecord(session);
  records.delete(session);
  if (keep === 0 || !record || !session.truncate) {
    if (record?.ids.length !== 0) await session.reset();
    records.set(session, { ids: [], ends: [], epoch: session.cacheEpoch() });
    return;
  }
  if (keep > record.ids.length) throw new RangeError(`Cannot keep ${keep} of ${record.ids.length} cached ids.`);
  if (keep < record.ids.length) await session.truncate(keep);
  records.set(session, { ids: record.ids.slice(0, keep), ends: record.ends.filter((n) => n <= keep), epoch: session.cacheEpoch() });
}

/**
 * Forwards ids and keeps the record in step. If the forward fails, the record survives only when the cache
 * provably did not change: same length and same epoch (a forward refused before it started, e.g. when
 * cancelled). After any other failure the next check starts from an empty cache.
 */
export async function forwardRecorded(session: TokenSession, ids: readonly number[], signal: AbortSignal): Promise<Float32Array> {
  const record = currentRecord(session);
  records.delete(session);
  const epoch = session.cacheEpoch();
  try {
    const logits = await session.forward([...ids], signal);
    if (record) {
      // In place: the record is this module's alone, and a decode step forwards one id (no copy per step).
      for (const id of ids) record.ids.push(id);
      record.ends.push(record.ids.length);
      record.epoch = session.cacheEpoch();
      records.set(session, record);
    }
    return logits;
  } catch (error) {
    if (record && session.kvLength() === record.ids.length && session.cacheEpoch() === epoch) records.set(session, record);
    throw error;
  }
}

/** Drops what is known about the cache (the next check on this session starts from an empty one). */
export function forgetCache(session: TokenSession): void {
  records.delete(session);
}
