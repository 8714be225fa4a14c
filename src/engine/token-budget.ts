/**
 * Refuses a text that cannot fit the context window before it is tokenized, from its length alone.
 *
 * Why: tokenizing is synchronous and takes about 2 s per MB of English in the worker, and WebLLM's completion
 * path spreads the prompt's ids into an array (`curTokens.push(...encoded)`, idx:13916 of
 * node_modules/@mlc-ai/web-llm/lib/index.js) before its own context check (idx:13951), which throws
 * `RangeError: Maximum call stack size exceeded` from about 125k tokens.
 *
 * The bounds: Llama-3's tokenizer is byte-level BPE, so every token covers at least one UTF-8 byte (special
 * tokens cover more): tokens <= bytes. Its longest token is 128 bytes (a run of spaces), so
 * tokens >= ceil(bytes / 128). A text is certain to fit when its bytes fit, certain not to when its lower
 * bound does not, and in between it is tokenized to count, but only up to MAX_COUNTED_BYTES.
 */
import { ContextWindowExceededError } from '../core/errors.js';

/** UTF-8 bytes of the longest token in Llama-3's vocabulary (ids 0-127999). */
export const MAX_TOKEN_BYTES = 128;
/** Texts longer than this are never tokenized just to count them (about half a second of tokenizing). */
export const MAX_COUNTED_BYTES = 256 * 1024;
/** The most prompt tokens handed to WebLLM's completion path, well below where its spread overflows. */
export const COMPLETION_MAX_TOKENS = 100_000;
/** Up to this many bytes (so tokens) WebLLM's completion path can tokenize and check a prompt itself. */
export const SPREAD_SAFE_BYTES = 65_536;

/** UTF-8 length of `text` without encoding it (a lone surrogate counts as U+FFFD, 3 bytes, as TextEncoder writes it). */
export function utf8ByteLength(text: string): number {
  let bytes = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80) bytes += 1;
    else if (c < 0x800) bytes += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < text.length) {
      const next = text.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        bytes += 4;
        i++;
      } else bytes += 3;
    } else bytes += 3;
  }
  return bytes;
}

/** What is known about a text's token count before tokenizing it. */
export type Admission =
  /** At most `limit` tokens whatever the tokenizer does. */
  | { kind: 'fits'; bytes: number }
  /** Might or might not fit: tokenize to count (it is at most MAX_COUNTED_BYTES long). */
  | { kind: 'count'; bytes: number };

/**
 * Admits a text that may become at most `limit` tokens, or throws `ContextWindowExceededError` without
 * tokenizing it. `window` is the context window named in the error; `what` names the text.
 */
export function admitText(text: string, limit: number, window: number, what = 'The text'): Admission {
  const bytes = utf8ByteLength(text);
  if (bytes <= limit) return { kind: 'fits', bytes };
  const atLeast = Math.ceil(bytes / MAX_TOKEN_BYTES);
  if (atLeast > limit) {
    throw new ContextWindowExceededError(
      `${what} is ${bytes} bytes long, so at least ${atLeast} tokens: more than the ${limit} tokens it may have (context window ${window}).`,
      atLeast,
      window,
    );
  }
  if (bytes > MAX_COUNTED_BYTES) {
    throw new ContextWindowExceededError(
      `${what} is ${bytes} bytes long: it may need more than the ${limit} tokens it may have (context window ${window}), and texts over ${MAX_COUNTED_BYTES} bytes are not tokenized to find out. Check it in parts.`,
      undefined,
      window,
    );
  }
  return { kind: 'count', bytes };
}

/** Throws `ContextWindowExceededError` when a counted text has more than `limit` tokens. */
export function assertTokenCount(tokens: number, limit: number, window: number, what = 'The text'): void {
  if (tokens > limit) {
    throw new ContextWindowExceededError(
      `${what} has ${tokens} tokens, more than the ${limit} tokens it may have (context window ${window}).`,
      tokens,
      window,
    );
  }
}

/**
 * Admits a prompt for WebLLM's completion path, which may hold at most COMPLETION_MAX_TOKENS (its spread) and
 * the context window. Up to SPREAD_SAFE_BYTES the runtime's own context check answers (typed by
 * webllm-errors.ts); above, `count` tokenizes it, and without one it is refused.
 */
export function admitCompletionPrompt(prompt: string, contextWindow: number, count: (() => number) | undefined): void {
  // A sliding-window model reports -1 (idx:11880-11897): only the spread's own limit applies then.
  const window = contextWindow > 0 ? contextWindow : COMPLETION_MAX_TOKENS;
  const limit = Math.min(window, COMPLETION_MAX_TOKENS);
  const admission = admitText(prompt, limit, window, 'The prompt');
  if (admission.kind === 'fits' || admission.bytes <= SPREAD_SAFE_BYTES) return;
  if (!count) {
    throw new ContextWindowExceededError(
      `The prompt is ${admission.bytes} bytes long and no tokenizer can count it; it may exceed the ${limit} tokens it may have.`,
      undefined,
      window,
    );
  }
  assertTokenCount(count(), limit, window, 'The prompt');
}
