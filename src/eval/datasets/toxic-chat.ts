/** ToxicChat (Lin et al. 2023), version 0124, test split: real user prompts to a chatbot demo, human-labelled. */
import { parseCsv } from './csv.js';
import { readText } from './bytes.js';
import { readingAs, requireFile, stringField, type DatasetDefinition } from './definition.js';
import { DatasetError } from '../../core/errors.js';
import type { EvalItem } from '../types.js';
import { qwen3GuardReportF1 } from './published.js';

const SET = 'toxic-chat';

export async function parseToxicChat(files: Record<string, Uint8Array>): Promise<EvalItem[]> {
  const rows = await readingAs(SET, 'toxic-chat_annotation_test.csv', async () => parseCsv(await readText(requireFile(SET, files, 'test'))));
  return rows.map((row, i) => {
    const where = `row ${i + 2}`;
    const toxicity = stringField(SET, row, 'toxicity', where).trim();
    if (toxicity !== '0' && toxicity !== '1') throw new DatasetError(`${SET}: ${where} has toxicity "${toxicity}" (expected 0 or 1).`, SET);
    return {
      id: stringField(SET, row, 'conv_id', where),
      set: SET,
      target: 'prompt' as const,
      prompt: stringField(SET, row, 'user_input', where),
      label: toxicity === '1' ? ('unsafe' as const) : ('safe' as const),
    };
  });
}

export const toxicChat: DatasetDefinition = {
  id: SET,
  title: 'ToxicChat (0124, test)',
  target: 'prompt',
  folder: 'toxic-chat',
  files: [
    {
      key: 'test',
      host: 'huggingface',
      repo: 'lmsys/toxic-chat',
      revision: '29df8e4dba60e1f4af4b4075c0705c5b313548a8',
      path: 'data/0124/toxic-chat_annotation_test.csv',
      localNames: ['toxic-chat_annotation_test.csv'],
    },
  ],
  licence: 'CC-BY-NC-4.0',
  homepage: 'https://huggingface.co/datasets/lmsys/toxic-chat',
  labelMapping: 'unsafe when toxicity is 1 (the jailbreaking flag is not used); prompt = user_input, id = conv_id.',
  published: [qwen3GuardReportF1(0.756, 2)],
  parse: parseToxicChat,
};
