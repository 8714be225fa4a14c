/**
 * The model's answer format, as facts: the field names, how the answer starts, what may follow it, and the
 * longest answer worth reading. output-reader.ts checks text against these; parse.ts re-exports them.
 */
import { LLAMA3_SPECIAL_TOKENS as T } from './tokens.js';

/** The output field holding each target's rating, and the category list field. */
export const VERDICT_FIELDS = Object.freeze({ prompt: 'User Safety', response: 'Response Safety' } as const);
export const CATEGORIES_FIELD = 'Safety Categories';

/** The model's output always starts like this; the next token is the user verdict (`safe` or `unsafe`). */
export const OUTPUT_LEAD = `{"${VERDICT_FIELDS.prompt}": "`;

/**
 * The special tokens that end the model's turn. A runtime that keeps them in the output text puts them after
 * the object; no other text may follow it. Exact spellings only: `<|EOT_ID|>` or `<|unsafe|>` are not
 * tokens of the model, just text.
 */
export const END_OF_TURN_SPELLINGS: readonly string[] = Object.freeze([T.eot.text, T.endOfText.text, T.eom.text]);

/**
 * The longest output read, in UTF-16 code units; longer ones fail closed without being read. The longest
 * real answer names every category once: the 23 Aegis ones and 64 custom ones of up to 80 characters, about
 * 6,000 characters; the JSON judge stops at 96 tokens. 16 Ki leaves room and bounds the work per parse.
 */
export const MAX_OUTPUT_LENGTH = 16 * 1024;
