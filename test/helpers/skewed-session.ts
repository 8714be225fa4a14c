/**
 * A deliberately broken rollback, for proving that the scripted KV model catches one: `truncate(n)` keeps
 * `n + skew` ids (or ignores the call) while `kvLength()` reports `n`, the way a session whose length
 * bookkeeping and real cache disagree would (e.g. a wrong `kv_state_popn` count).
 */
import type { TokenSession } from '../../src/engine/engine.js';

export type RollbackSkew = number | 'ignored';

export function skewedSession(inner: TokenSession, skew: RollbackSkew): TokenSession {
  if (!inner.truncate) throw new Error('skewedSession needs a session with truncate');
  const innerTruncate = inner.truncate.bind(inner);
  /** How many more ids the real cache holds than the session reports. */
  let hidden = 0;
  return {
    contextWindow: inner.contextWindow,
    encode: (text) => inner.encode(text),
    decode: (ids) => inner.decode(ids),
    forward: (ids, signal) => inner.forward(ids, signal),
    kvLength: () => inner.kvLength() - hidden,
    cacheEpoch: () => inner.cacheEpoch(),
    async reset() {
      hidden = 0;
      await inner.reset();
    },
    async truncate(length) {
      const real = inner.kvLength();
      const kept = skew === 'ignored' ? real : Math.min(real, Math.max(0, length + skew));
      await innerTruncate(kept);
      hidden = kept - length;
    },
  };
}
