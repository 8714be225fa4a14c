/**
 * Keeps the fixed template prefix in the engine's KV cache between checks.
 *
 * Model of the cache (the TokenSession contract, engine.ts): one sequence of token ids; `forward` appends,
 * `truncate(n)` keeps the first n, `reset` empties it. Attention is causal, so the KV entries of the first n
 * tokens depend only on those n tokens: after `truncate(prefixIds.length)` the cache holds exactly what a
 * fresh prefill of the prefix would produce, and forwarding the next check's suffix on top of it gives the
 * same logits as prefilling prefix + suffix from scratch.
 *
 * Why WebLLM 0.2.86 (pinned) behaves like that model (idx:N = line of node_modules/@mlc-ai/web-llm/lib/index.js):
 * - The cache is a paged KV cache created for ONE sequence (max_num_sequence 1, idx:11924-11935), re-added
 *   as sequence 0 by resetKVCache (idx:12024-12029); nothing in WebLLM forks it (internals §2).
 * - `forwardTokensAndSample` (idx:13958-14035) embeds and forwards the ids chunk by chunk on top of the
 *   existing cache, never resetting it; each chunk grows `filledKVCacheLength` by exactly its length
 *   (embedAndForward, idx:13279-13333, checked at idx:14008-14012). It then samples one token from the last
 *   chunk's logits (idx:14015) but does not forward it: the cache holds exactly the ids we sent.
 * - The session's `truncate` pops the surplus with `vm.builtin.kv_state_popn` and sets
 *   `filledKVCacheLength` to the kept length (src/engine/webllm-token-session.ts); `reset` is
 *   `resetChat`, which clears the cache and zeroes that length (idx:12008-12030).
 * - Anything else that uses the cache starts from an empty one: `completions.create` calls resetChat and
 *   refuses a non-empty cache (idx:19115, 13857-13859); `reload` unloads first (idx:18176), and a load
 *   builds a new session object (webllm-engine.ts). So before reusing, the session's cacheEpoch() must be the
 *   one recorded with the prefix (it changes on every reset, completion, reload and failed forward) and the
 *   cache length exactly the prefix length we left it at; anything else triggers a fresh prefill.
 * Two more conditions, checked in test/node/fast-split.test.ts with the real tokenizer:
 * - the split is a token boundary: encode(prefix) ++ encode(suffix) === encode(prefix + suffix) for every
 *   text (the prefix ends with `user:`, and Llama-3's pre-tokenizer always cuts between `:` and the space
 *   that starts the suffix; the untrusted text is defused, so no special token can straddle the cut);
 * - `forwardTokensAndSample` does no context-window check (internals §2): the judge checks before every
 *   forward (fast-judge.ts).
 *
 * Only one prefix is kept (the cache holds one sequence). A different custom-category set shares the Aegis
 * part of the prefix, so only the differing tail is rolled back and prefilled.
 */
import type { TokenSession } from '../engine/engine.js';

/** What the cache holds after a check ends cleanly: the prefix's ids, nothing after them. */
interface PrefixState {
  ids: readonly number[];
  /** The session's cacheEpoch() when the prefix was put there: any other value means the cache changed hands. */
  epoch: number;
}

const states = new WeakMap<TokenSession, PrefixState>();
const encodings = new WeakMap<TokenSession, Map<string, readonly number[]>>();
/** Distinct category sets remembered per session (each prefix is ~350-400 ids). */
const MAX_REMEMBERED_PREFIXES = 8;

/** Token ids of a prefix, tokenized once per session and prefix text. */
export async function prefixIdsFor(session: TokenSession, prefix: string): Promise<readonly number[]> {
  let memo = encodings.get(session);
  if (!memo) encodings.set(session, (memo = new Map()));
  const known = memo.get(prefix);
  if (known) return known;
  const ids = Object.freeze(await session.encode(prefix));
  if (memo.size >= MAX_REMEMBERED_PREFIXES) memo.delete(memo.keys().next().value!);
  memo.set(prefix, ids);
  return ids;
}

function commonPrefixLength(a: readonly number[], b: readonly number[]): number {
  const n = Math.min(a.length, b.length);
  let i = 0;
  while (i < n && a[i] === b[i]) i++;
  return i;
}

/** How to bring the cache to hold exactly `prefixIds`. */
export interface PrefixPlan {
  /** The cache already holds the prefix and nothing else: forward nothing. */
  reused: boolean;
  /** Keep this many cached ids (0: empty the cache with `reset`). */
  keep: number;
  /** Then forward these ids. */
  forward: readonly number[];
}

/**
 * Plans the cache update for a check. Only for sessions with `truncate`; without it every check starts
 * from `reset()` and prefills everything.
 */
export function planPrefix(session: TokenSession, prefixIds: readonly number[]): PrefixPlan {
  const state = states.get(session);
  // Anything but "exactly the prefix we left, on the same cache state" means the cache is not ours any more:
  // start over. Equal lengths alone prove nothing (a completion or a reload may leave as many tokens).
  if (!state || state.epoch !== session.cacheEpoch() || session.kvLength() !== state.ids.length) {
    return { reused: false, keep: 0, forward: prefixIds };
  }
  const keep = commonPrefixLength(state.ids, prefixIds);
  if (keep === prefixIds.length && keep === state.ids.length) return { reused: true, keep, forward: [] };
  return { reused: false, keep, forward: prefixIds.slice(keep) };
}

/** Forgets what the cache holds (call before changing it, so a failure midway leaves no stale claim). */
export function forgetPrefix(session: TokenSession): void {
  states.delete(session);
}

/** Records that the cache now holds exactly `prefixIds`. */
export function rememberPrefix(session: TokenSession, prefixIds: readonly number[]): void {
  states.set(session, { ids: prefixIds, epoch: session.cacheEpoch() });
}

/** The prefix length the cache is known to start with, if any (none once the cache changed hands). */
export function rememberedPrefixLength(session: TokenSession): number | undefined {
  const state = states.get(session);
  return state && state.epoch === session.cacheEpoch() ? state.ids.length : undefined;
}
