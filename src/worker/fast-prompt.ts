/**
 * The texts the fast judge forwards, split where the KV cache can be reused. Shared by the fast judge and
 * the fast-verdicts benchmark, so the benchmark counts exactly what the judge sends.
 *
 * The model's answer always starts `{"User Safety": "` and then the rating word, a single token (`safe`
 * 19193 or `unsafe` 39257). So the check's prompt is followed by that opening (forced, as if the model had
 * written it), and the logits after it hold the verdict. For a reply check the model's own order is the
 * user rating, then `", "Response Safety": "`, then the reply rating.
 */
import { OUTPUT_LEAD, VERDICT_FIELDS } from '../core/parse.js';
import { renderCheckPrefix, renderCheckPrompt, type PromptInput, type PromptOptions } from '../core/prompt.js';
import { defuseUntrustedText } from '../core/sanitize.js';
import { LLAMA3_SPECIAL_TOKENS } from '../core/tokens.js';

/** What the model writes between the user rating and the reply rating. */
export const RESPONSE_BRIDGE = `", "${VERDICT_FIELDS.response}": "`;

/** Tokens that end the model's turn (mlc-llm's llama-3_1 template stop ids: internals §1.3). */
export const END_OF_TURN_IDS: ReadonlySet<number> = new Set([
  LLAMA3_SPECIAL_TOKENS.eot.id,
  LLAMA3_SPECIAL_TOKENS.endOfText.id,
  LLAMA3_SPECIAL_TOKENS.eom.id,
]);

/**
 * Decode steps allowed for the rest of the answer after the rating (categories). The longest answer with
 * several categories is ~40 tokens; the JSON judge allows 96 for the whole answer. An answer cut short
 * fails closed ('truncated').
 */
export const CATEGORY_MAX_STEPS = 64;

/** The check split for prefix reuse. `prefix + suffix` is the full prompt plus the forced answer opening. */
export interface FastPromptParts {
  /** Identical for every check with the same custom categories (see `RenderedPrompt.prefix`). */
  prefix: string;
  /** The check's own text: its texts, the closing template, the assistant header and `{"User Safety": "`. */
  suffix: string;
  /**
   * Beginnings of `prefix` after which the KV cache may be shared with checks that list other custom
   * categories: the template up to the end of the Aegis category lines.
   */
  prefixLevels: string[];
  /**
   * Beginnings of `suffix` after which the KV cache may be shared with other checks (prefix-cache.ts): the
   * user part (a space, the defused user text, the blank line), and for a reply check also the reply's label
   * `response: agent:` (without the space, which the tokenizer joins to the reply's first word).
   */
  levels: string[];
}

/** The label before the reply in the conversation block (prompt.ts writes it followed by one space). */
const REPLY_LABEL = 'response: agent:';

/** The prefix up to the end of the 23 Aegis category lines: the same whatever custom categories follow. */
const TAXONOMY_HEAD = (() => {
  const prefix = renderCheckPrefix();
  const end = prefix.indexOf('<END UNSAFE CONTENT CATEGORIES>');
  return end > 0 ? prefix.slice(0, end) : undefined;
})();

export function fastPromptParts(input: PromptInput, options: PromptOptions = {}): FastPromptParts {
  const { prefix, rest } = renderCheckPrompt(input, options);
  const suffix = rest + OUTPUT_LEAD;
  // Derived here, then checked against the rendered text: a template change drops a level, never misplaces it.
  const userPart = ` ${defuseUntrustedText(input.user)}\n\n`;
  const candidates = input.response === undefined ? [userPart] : [userPart, `${userPart}${REPLY_LABEL}`];
  const levels: string[] = [];
  for (const level of candidates) {
    if (!suffix.startsWith(level)) break;
    levels.push(level);
  }
  const prefixLevels = TAXONOMY_HEAD !== undefined && prefix.startsWith(TAXONOMY_HEAD) ? [TAXONOMY_HEAD] : [];
  return { prefix, suffix, prefixLevels, levels };
}

/**
 * Whether the fast judge decodes past the rating: only when the rating is unsafe (the categories say why)
 * or the caller asked for categories. A safe verdict without categories stops at the rating's logits.
 */
export function needsCategoryDecode(rating: 'safe' | 'unsafe', wantCategories: boolean | undefined): boolean {
  return rating === 'unsafe' || wantCategories === true;
}
