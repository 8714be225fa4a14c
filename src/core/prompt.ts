/**
 * The AegisGuard 2.0 prompt: the instruction text (byte-identical to the model's training template) and its
 * Llama-3.1 chat wrapping, rendered by us so that nothing depends on the runtime's chat templates.
 */
import { AegisInputError } from './errors.js';
import { defuseUntrustedText } from './sanitize.js';
import { buildTaxonomy } from './taxonomy.js';
import { LLAMA3_SPECIAL_TOKENS as T } from './tokens.js';
import type { Category, CustomCategory } from './types.js';

/** The texts to judge. `response` present means an assistant reply is judged (a response check). */
export interface PromptInput {
  user: string;
  response?: string;
}

export interface PromptOptions {
  /** Custom categories appended as S24, S25, ... (validated; see `validateCustomCategories`). */
  categories?: readonly CustomCategory[];
}

const TASK =
  "Task: Check if there is unsafe content in the user or agent messages in the below conversation in accordance with our safety policy with the below categories. Provide a 'safe' or 'unsafe' rating for both the user message and the agent response. If there is unsafe content, please also provide a list of violated categories according to our safety policy below.\n\n";

const OUTPUT_INSTRUCTIONS =
  'Provide your safety assessment for the above conversation in the below output JSON format:\n' +
  '{"User Safety": safe or unsafe rating for the user message, "Response Safety": safe or unsafe rating for the agent response. Omit if no agent response present. "Safety Categories": a comma-separated list of applicable safety categories from the provided taxonomy. Omit if all safe.}\n\n' +
  'Do not include anything other than the output JSON in your response.\n' +
  'Output JSON:';

/** The user-turn label; the untrusted user text follows it after one space. */
const USER_LABEL = 'user:';

/**
 * One category line. Aegis: `S1: Violence.`. Custom: `S24: <name>.`, or `S24: <name>. <description>` when a
 * description is given (the name's period first, so the line starts exactly like an Aegis line).
 */
function categoryLine(c: Category): string {
  return `${c.code}: ${c.name}.${c.description ? ` ${c.description}` : ''}\n`;
}

/** Everything of the instruction text before the untrusted user text, ending with `user:` (no space). */
function instructionHead(taxonomy: readonly Category[]): string {
  return (
    TASK +
    '<BEGIN UNSAFE CONTENT CATEGORIES>\n' +
    taxonomy.map(categoryLine).join('') +
    '<END UNSAFE CONTENT CATEGORIES>\n\n' +
    '<BEGIN CONVERSATION>\n\n' +
    USER_LABEL
  );
}

function checkInput(input: PromptInput): void {
  if (typeof input !== 'object' || input === null) {
    throw new AegisInputError('The texts to check must be given as { user, response? }.');
  }
  if (typeof input.user !== 'string') throw new AegisInputError('The user text must be a string.');
  if (input.response !== undefined && typeof input.response !== 'string') {
    throw new AegisInputError('The response text must be a string when given.');
  }
}

/** The instruction text after the head: the (defused) user text, the optional reply, the output cue. */
function instructionTail(input: PromptInput): string {
  const user = ` ${defuseUntrustedText(input.user)}\n\n`;
  const response = input.response === undefined ? '' : `response: agent: ${defuseUntrustedText(input.response)}\n\n`;
  return user + response + '<END CONVERSATION>\n\n' + OUTPUT_INSTRUCTIONS;
}

/**
 * The Aegis instruction text (the one user message the model expects). Untrusted texts are defused
 * (`defuseUntrustedText`) and otherwise inserted as given. Throws `AegisInputError` on bad input or bad
 * custom categories.
 */
export function buildAegisPrompt(input: PromptInput, options: PromptOptions = {}): string {
  checkInput(input);
  return instructionHead(buildTaxonomy(options.categories)) + instructionTail(input);
}

/** Python's `str.strip()` set (what the Hugging Face template's Jinja `trim` removes). */
const PY_WHITESPACE = '[\\t\\n\\v\\f\\r\\x1c-\\x1f \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000]';
const PY_STRIP = new RegExp(`^${PY_WHITESPACE}+|${PY_WHITESPACE}+$`, 'gu');

const SYSTEM_HEADER =
  T.beginOfText.text +
  `${T.startHeader.text}system${T.endHeader.text}\n\n` +
  'Cutting Knowledge Date: December 2023\nToday Date: 26 Jul 2024\n\n' +
  T.eot.text;
const USER_HEADER = `${T.startHeader.text}user${T.endHeader.text}\n\n`;
const ASSISTANT_HEADER = `${T.eot.text}${T.startHeader.text}assistant${T.endHeader.text}\n\n`;

/**
 * Renders one user message the way the Hugging Face Llama-3.1 chat template does for serving (BOS, the
 * fixed-date system header, the trimmed message, the assistant generation header). Feed the result to a raw
 * completion that adds no template and no BOS.
 */
export function toLlama31Prompt(message: string): string {
  return SYSTEM_HEADER + USER_HEADER + message.replace(PY_STRIP, '') + ASSISTANT_HEADER;
}

/** A check prompt, whole and split for prefix reuse. */
export interface RenderedPrompt {
  /** The full text to complete: `prefix + rest`. */
  text: string;
  /**
   * Everything before the untrusted text, identical for all checks with the same categories. It ends with
   * `user:` and not with the following space, because BPE merges that space with the user's first word: so
   * the prefix ends on a token boundary and `encode(prefix) ++ encode(rest)` equals `encode(text)`.
   */
  prefix: string;
  /** The rest: a space, the defused user text, the optional reply, the closing template and headers. */
  rest: string;
}

/**
 * The fixed prefix of every check prompt for these categories (see {@link RenderedPrompt.prefix}). It does
 * not depend on the texts, so a fast path can prefill it once and reuse its KV cache.
 */
export function renderCheckPrefix(options: PromptOptions = {}): string {
  return SYSTEM_HEADER + USER_HEADER + instructionHead(buildTaxonomy(options.categories));
}

/**
 * The complete check prompt: the instruction text wrapped by {@link toLlama31Prompt}. The Llama template's
 * trim is a no-op here (the instruction starts with `Task:` and ends with `Output JSON:`), so the untrusted
 * text is never trimmed.
 */
export function renderCheckPrompt(input: PromptInput, options: PromptOptions = {}): RenderedPrompt {
  checkInput(input);
  const prefix = renderCheckPrefix(options);
  const rest = instructionTail(input) + ASSISTANT_HEADER;
  return { text: prefix + rest, prefix, rest };
}
