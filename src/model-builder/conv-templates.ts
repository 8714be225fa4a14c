/**
 * Conversation templates in the serialized form mlc_llm writes into mlc-chat-config.json (the values of
 * mlc_llm's conversation_template registry). WebLLM needs a complete template even when the guard sends raw
 * completions: it builds a Conversation at load time and takes stop_token_ids / stop_str from it.
 */
import { BuildArgumentError } from './errors.js';

export interface ConvTemplate {
  name: string;
  system_template: string;
  system_message: string;
  system_prefix_token_ids: number[];
  add_role_after_system_message: boolean;
  roles: Record<string, string>;
  role_templates: Record<string, string>;
  messages: never[];
  seps: string[];
  role_content_sep: string;
  role_empty_sep: string;
  stop_str: string[];
  stop_token_ids: number[];
  function_string: string;
  use_function_calling: boolean;
}

const ROLE_TEMPLATES = { user: '{user_message}', assistant: '{assistant_message}', tool: '{tool_message}' };

const TEMPLATES: Record<string, ConvTemplate> = {
  // Llama 3.1: stop on <|end_of_text|>, <|eom_id|>, <|eot_id|>; <|begin_of_text|> prefix.
  'llama-3_1': {
    name: 'llama-3_1',
    system_template: '<|start_header_id|>system<|end_header_id|>\n\n{system_message}<|eot_id|>',
    system_message: 'You are a helpful, respectful and honest assistant.',
    system_prefix_token_ids: [128000],
    add_role_after_system_message: true,
    roles: { user: '<|start_header_id|>user', assistant: '<|start_header_id|>assistant', tool: '<|start_header_id|>ipython' },
    role_templates: ROLE_TEMPLATES,
    messages: [],
    seps: ['<|eot_id|>'],
    role_content_sep: '<|end_header_id|>\n\n',
    role_empty_sep: '<|end_header_id|>\n\n',
    stop_str: [],
    stop_token_ids: [128001, 128008, 128009],
    function_string: '',
    use_function_calling: false,
  },
  // Llama 2 (also LlamaGuard-7b, the base of Aegis 1.0).
  'llama-2': {
    name: 'llama-2',
    system_template: '[INST] <<SYS>>\n{system_message}\n<</SYS>>\n\n',
    system_message: 'You are a helpful, respectful and honest assistant.',
    system_prefix_token_ids: [1],
    add_role_after_system_message: false,
    roles: { user: '<s>[INST]', assistant: '[/INST]', tool: '[INST]' },
    role_templates: ROLE_TEMPLATES,
    messages: [],
    seps: [' ', ' </s>'],
    role_content_sep: ' ',
    role_empty_sep: ' ',
    stop_str: ['[INST]'],
    stop_token_ids: [2],
    function_string: '',
    use_function_calling: false,
  },
};

export const CONV_TEMPLATE_NAMES = Object.keys(TEMPLATES);

export function convTemplate(name: string): ConvTemplate {
  const t = TEMPLATES[name];
  if (!t) throw new BuildArgumentError(`unknown conversation template ${JSON.stringify(name)}; use one of ${CONV_TEMPLATE_NAMES.join(', ')}`);
  return structuredClone(t);
}

/** Llama 3 tokenizers (vocab 128256) get llama-3_1, Llama 2 ones (32000) llama-2. */
export function defaultConvTemplate(vocabSize: number): string {
  return vocabSize >= 128000 ? 'llama-3_1' : 'llama-2';
}
