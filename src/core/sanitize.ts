/**
 * Defusing untrusted text (the user's prompt and the assistant's reply) before it goes into the Aegis prompt.
 *
 * Goal: whatever the text says, the rendered prompt keeps its structure (the same special tokens in the same
 * places, one conversation block, one output cue), while the model still reads the content nearly as written,
 * because it must judge it. Every change is one invisible character, ZERO WIDTH SPACE (U+200B, a single
 * Llama-3 token, 16067), inserted where it breaks a dangerous spelling; nothing is deleted except malformed
 * UTF-16. The exact rules, applied in this order:
 *
 * 1. Lone UTF-16 surrogates become U+FFFD. (The tokenizer's UTF-8 conversion would otherwise pair a lone high
 *    surrogate with the next character, swallowing e.g. the template's newline after the text.)
 * 2. Special-token spellings: every `<|` becomes `<` U+200B `|`. All 256 Llama-3 special tokens are spelled
 *    `<|...|>` and the runtime's tokenizer matches them literally (case-sensitive) even inside user text, so
 *    breaking every `<|` makes any full, nested (`<|<|eot_id|>|>`) or partial spelling plain text. The
 *    inserted character is neither `<` nor `|`, so no new `<|` can form.
 * 3. Template markers `<BEGIN CONVERSATION>`, `<END CONVERSATION>`, `<BEGIN UNSAFE CONTENT CATEGORIES>`,
 *    `<END UNSAFE CONTENT CATEGORIES>` (any case, any whitespace inside the brackets): U+200B after the `<`.
 * 4. `Output JSON:` (any case, any whitespace): U+200B before the `:`.
 * 5. Turn labels: on any line (including the text's first), a first word `user`, `agent` or `response`
 *    (any case, optionally indented) followed by `:` gets U+200B before the `:` (`user\u200B:`), so the text
 *    cannot fake a `user:` or `response: agent:` turn.
 *
 * What it does not do: trim, normalise or delete content, or touch JSON-looking text (the model's output is
 * parsed, never the prompt). The result is stable: defusing defused text changes nothing.
 */

/** The character inserted to break dangerous spellings. */
export const DEFUSE_MARK = '\u200B';

const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/gu;
const SPECIAL_TOKEN_OPENER = /<\|/g;
const TEMPLATE_MARKER = /<(?=\s*(?:begin|end)\s+(?:conversation|unsafe\s+content\s+categories)\s*>)/giu;
const OUTPUT_CUE = /(output\s*json\s*)(?=:)/giu;
const TURN_LABEL = /^([^\S\r\n\u2028\u2029\u0085]*(?:user|agent|response)[^\S\r\n\u2028\u2029\u0085]*)(?=:)/gimu;

/** Applies the rules above to one untrusted text. */
export function defuseUntrustedText(text: string): string {
  return text
    .replace(LONE_SURROGATE, '\uFFFD')
    .replace(SPECIAL_TOKEN_OPENER, `<${DEFUSE_MARK}|`)
    .replace(TEMPLATE_MARKER, `<${DEFUSE_MARK}`)
    .replace(OUTPUT_CUE, `$1${DEFUSE_MARK}`)
    .replace(TURN_LABEL, `$1${DEFUSE_MARK}`);
}
