/**
 * Llama-3 token facts the guard relies on (checked against the real tokenizer in test/node/core-injection.test.ts).
 */

/** Ids at or above this are special tokens (`<|...|>`); text tokens are below. */
export const FIRST_SPECIAL_TOKEN_ID = 128000;

/** Special tokens used by the Llama-3.1 chat wrapping and as stop tokens. */
export const LLAMA3_SPECIAL_TOKENS = Object.freeze({
  beginOfText: { text: '<|begin_of_text|>', id: 128000 },
  endOfText: { text: '<|end_of_text|>', id: 128001 },
  startHeader: { text: '<|start_header_id|>', id: 128006 },
  endHeader: { text: '<|end_header_id|>', id: 128007 },
  eom: { text: '<|eom_id|>', id: 128008 },
  eot: { text: '<|eot_id|>', id: 128009 },
} as const);

/**
 * The verdict word's token right after the output's opening `{"User Safety": "` (or `"Response Safety": "`):
 * `safe` and `unsafe` are single tokens, which is what lets a fast path read P(unsafe) from one set of logits.
 */
export const VERDICT_TOKEN_IDS = Object.freeze({ safe: 19193, unsafe: 39257 } as const);
