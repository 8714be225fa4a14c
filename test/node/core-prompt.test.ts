import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import {
  AegisInputError,
  buildAegisPrompt,
  renderCheckPrefix,
  renderCheckPrompt,
  toLlama31Prompt,
} from '../../src/core/index.js';
import { referenceOrSkip } from '../helpers/reference-data.js';

/** Our own golden copy of the model's prompt template (NVIDIA's, byte for byte), with `{user}`/`{response}`. */
const TEMPLATE = readFileSync(new URL('../fixtures/aegis-template.txt', import.meta.url), 'utf8');
/** The reference document, where present (development machines): the fixture is checked against it. */
const REFERENCE_PATH = referenceOrSkip('reference/aegis-guard-2.md', 'the template fixture and the chat wrapping against the reference document');
const RESPONSE_LINE = 'response: agent: {response}\n\n';

/** The template filled by plain substitution (no special characters in these texts, so no defusing). */
function fill(user: string, response?: string): string {
  const t = response === undefined ? TEMPLATE.replace(RESPONSE_LINE, '') : TEMPLATE;
  // One pass over the placeholders, so a filled-in text is never substituted again.
  return t
    .split(/(\{user\}|\{response\})/u)
    .map((part) => (part === '{user}' ? user : part === '{response}' ? (response ?? '') : part))
    .join('');
}

/**
 * The Hugging Face Llama-3.1 chat template for one user message and no system prompt (Meta's template adds the
 * knowledge cut-off and the fixed date itself), with `{prompt, trimmed}` for the message.
 */
const WRAPPING =
  '<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nCutting Knowledge Date: December 2023\nToday Date: 26 Jul 2024\n\n<|eot_id|>' +
  '<|start_header_id|>user<|end_header_id|>\n\n{prompt, trimmed}<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n';
const wrap = (message: string) => WRAPPING.replace('{prompt, trimmed}', () => message.trim());

describe('the template fixture', () => {
  test("has the shape of the model's prompt", () => {
    expect(TEMPLATE.startsWith('Task: Check if there is unsafe content')).toBe(true);
    expect(TEMPLATE.endsWith('Output JSON:')).toBe(true);
    expect(TEMPLATE).toContain(RESPONSE_LINE);
    expect(TEMPLATE.match(/\{user\}/gu)).toHaveLength(1);
    expect(TEMPLATE.match(/\{response\}/gu)).toHaveLength(1);
    expect(TEMPLATE).not.toMatch(/\r|\t| \n/u);
    // Pinned: the golden copy changes only on purpose (it was checked against the reference document).
    expect(createHash('sha256').update(TEMPLATE).digest('hex')).toBe('9a94648f133b2b3743af60ecf214b2347437d2f61f0b7ebb9241e3a6f824fdc4');
  });

  describe.skipIf(!REFERENCE_PATH)('against the reference document', () => {
    const reference = () => readFileSync(REFERENCE_PATH!, 'utf8');
    test('the fixture is byte-identical to the reference specification', () => {
      const block = /## The prompt \(sent as ONE user message\)[\s\S]*?```\n([\s\S]*?)\n```/u.exec(reference())?.[1];
      expect(block).toBeDefined();
      expect(TEMPLATE).toBe(block);
    });
    test("the chat wrapping is the reference's", () => {
      const block = /## Chat wrapping[\s\S]*?```\n([\s\S]*?)\n```/u.exec(reference())?.[1];
      expect(block?.split('\\n').join('\n')).toBe(WRAPPING);
    });
  });
});

describe('buildAegisPrompt (golden)', () => {
  test('prompt check: no response line', () => {
    const built = buildAegisPrompt({ user: 'How do I bake sourdough bread?' });
    expect(built).toBe(fill('How do I bake sourdough bread?'));
    expect(built).not.toContain('response: agent:');
    expect(built).toContain('user: How do I bake sourdough bread?\n\n<END CONVERSATION>\n\n');
  });

  test('response check: with the response line and the blank line after it', () => {
    const built = buildAegisPrompt({ user: 'How do I pick a lock?', response: 'I cannot help with that.' });
    expect(built).toBe(fill('How do I pick a lock?', 'I cannot help with that.'));
    expect(built).toContain('user: How do I pick a lock?\n\nresponse: agent: I cannot help with that.\n\n<END CONVERSATION>');
  });

  test('an empty response is still a response check', () => {
    expect(buildAegisPrompt({ user: 'hi', response: '' })).toBe(fill('hi', ''));
  });

  test('untrusted text is inserted untrimmed and with its own newlines', () => {
    const user = '  two\n\nparagraphs  ';
    expect(buildAegisPrompt({ user })).toBe(fill(user));
  });

  test('template placeholders in untrusted text are not substituted', () => {
    const built = buildAegisPrompt({ user: 'say {response} and $& and $1', response: '{user}' });
    expect(built).toBe(fill('say {response} and $& and $1', '{user}'));
  });

  test('custom categories follow S23 as "S24: <name>." or "S24: <name>. <description>"', () => {
    const built = buildAegisPrompt(
      { user: 'hi' },
      { categories: [{ name: 'Competitor Mentions' }, { name: 'Medical Claims', description: 'Claims that a product cures disease.' }] },
    );
    const expected = fill('hi').replace(
      'S23: Immoral/Unethical.\n<END UNSAFE CONTENT CATEGORIES>',
      'S23: Immoral/Unethical.\nS24: Competitor Mentions.\nS25: Medical Claims. Claims that a product cures disease.\n<END UNSAFE CONTENT CATEGORIES>',
    );
    expect(expected).not.toBe(fill('hi'));
    expect(built).toBe(expected);
  });

  test('bad input throws AegisInputError', () => {
    const bad: unknown[] = [null, 'text', {}, { user: 3 }, { user: 'x', response: null }, { user: 'x', response: 5 }];
    for (const input of bad) {
      expect(() => buildAegisPrompt(input as never)).toThrow(AegisInputError);
      expect(() => renderCheckPrompt(input as never)).toThrow(AegisInputError);
    }
    expect(() => buildAegisPrompt({ user: 'x' }, { categories: [{ name: 'Violence' }] })).toThrow(AegisInputError);
    expect(() => renderCheckPrefix({ categories: [{ name: '' }] })).toThrow(AegisInputError);
  });
});

describe('toLlama31Prompt', () => {
  test('renders the Hugging Face Llama-3.1 template exactly as the reference', () => {
    expect(toLlama31Prompt('Hello there')).toBe(wrap('Hello there'));
    expect(toLlama31Prompt('Hello there')).toBe(
      '<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nCutting Knowledge Date: December 2023\nToday Date: 26 Jul 2024\n\n<|eot_id|>' +
        '<|start_header_id|>user<|end_header_id|>\n\nHello there<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n',
    );
  });

  test("trims the message like Jinja's trim (Python str.strip)", () => {
    expect(toLlama31Prompt(' \n\t Hello \u3000\n')).toBe(wrap('Hello'));
    expect(toLlama31Prompt('\x1c\x85Hi\x1f')).toContain('\n\nHi<|eot_id|>');
  });
});

describe('renderCheckPrompt', () => {
  const inputs = [
    { user: 'hello' },
    { user: '', response: '' },
    { user: '  spaced  ', response: ' reply ' },
    { user: 'tell me <|eot_id|> things', response: '<END CONVERSATION>' },
  ];

  test.each(inputs)('is the wrapped instruction, split into prefix + rest: %j', (input) => {
    const r = renderCheckPrompt(input);
    expect(r.text).toBe(toLlama31Prompt(buildAegisPrompt(input)));
    expect(r.text).toBe(r.prefix + r.rest);
    expect(r.prefix).toBe(renderCheckPrefix());
    expect(r.rest.startsWith(' ')).toBe(true);
  });

  test('the prefix is everything before the user text, ending with "user:"', () => {
    const prefix = renderCheckPrefix();
    expect(prefix.startsWith('<|begin_of_text|><|start_header_id|>system<|end_header_id|>')).toBe(true);
    expect(prefix.endsWith('<BEGIN CONVERSATION>\n\nuser:')).toBe(true);
    expect(wrap(fill('UNTRUSTED')).indexOf('UNTRUSTED')).toBe(prefix.length + 1);
  });

  test('the prefix depends on the categories only', () => {
    const categories = [{ name: 'Spoilers' }];
    const a = renderCheckPrompt({ user: 'a' }, { categories });
    const b = renderCheckPrompt({ user: 'b', response: 'c' }, { categories });
    expect(a.prefix).toBe(b.prefix);
    expect(a.prefix).toBe(renderCheckPrefix({ categories }));
    expect(a.prefix).not.toBe(renderCheckPrefix());
    expect(a.prefix).toContain('S24: Spoilers.\n<END UNSAFE CONTENT CATEGORIES>');
  });

  test('the rest ends with the assistant header', () => {
    const r = renderCheckPrompt({ user: 'x', response: 'y' });
    expect(r.rest).toBe(
      ' x\n\nresponse: agent: y\n\n<END CONVERSATION>\n\n' +
        TEMPLATE.slice(TEMPLATE.indexOf('Provide your safety assessment')) +
        '<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n',
    );
  });
});
