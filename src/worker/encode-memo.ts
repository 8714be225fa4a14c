/**
 * Tokenizations the fast judge needs again and again (the template prefix, the user text of a stream's
 * chunk checks, the reply bridge), remembered per session. Bounded: a few recent texts, and only texts short
 * enough that keeping their ids costs little.
 */
import type { TokenSession } from '../engine/engine.js';

const MAX_TEXTS = 12;
/** Longer texts are tokenized every time (a 1 MB text is ~190k ids). */
const MAX_TEXT_LENGTH = 64 * 1024;

const memos = new WeakMap<TokenSession, Map<string, readonly number[]>>();

/** `session.encode(text)`, from memory when this session encoded the same text recently. */
export async function encodeRemembered(session: TokenSession, text: string): Promise<readonly number[]> {
  if (text.length > MAX_TEXT_LENGTH) return session.encode(text);
  let memo = memos.get(session);
  if (!memo) memos.set(session, (memo = new Map()));
  const known = memo.get(text);
  if (known) {
    // Most recently used last.
    memo.delete(text);
    memo.set(text, known);
    return known;
  }
  const ids = Object.freeze(await session.encode(text));
  if (memo.size >= MAX_TEXTS) memo.delete(memo.keys().next().value!);
  memo.set(text, ids);
  return ids;
}
