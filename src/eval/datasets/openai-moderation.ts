/**
 * OpenAI Moderation evaluation set (Markov et al. 2023): 1,680 prompts as JSON Lines (gzip), each with binary
 * flags for its categories; a flag may be missing (not annotated).
 */
import { parseJsonLines, readText } from './bytes.js';
import { objectRow, readingAs, requireFile, stringField, type DatasetDefinition } from './definition.js';
import type { EvalItem } from '../types.js';
import { aegisPaperF1, qwen3GuardReportF1 } from './published.js';

const SET = 'openai-moderation';

/** OpenAI's categories and the Aegis codes they correspond to. */
export const OPENAI_MODERATION_CATEGORIES: Readonly<Record<string, readonly string[]>> = Object.freeze({
  S: ['S2'], // sexual
  H: ['S8'], // hate
  V: ['S1'], // violence
  HR: ['S10'], // harassment
  SH: ['S6'], // self-harm
  S3: ['S7'], // sexual/minors
  H2: ['S8', 'S11'], // hate/threatening
  V2: ['S1'], // violence/graphic
});

export async function parseOpenAiModeration(files: Record<string, Uint8Array>): Promise<EvalItem[]> {
  const lines = await readingAs(SET, 'samples-1680.jsonl.gz', async () => parseJsonLines(await readText(requireFile(SET, files, 'samples'))));
  return lines.map((line, index) => {
    const row = objectRow(SET, line, `line ${index + 1}`);
    const prompt = stringField(SET, row, 'prompt', `line ${index + 1}`);
    const codes = new Set<string>();
    for (const [flag, mapped] of Object.entries(OPENAI_MODERATION_CATEGORIES)) {
      if (row[flag] === 1 || row[flag] === '1') mapped.forEach((c) => codes.add(c));
    }
    return {
      id: String(index),
      set: SET,
      target: 'prompt' as const,
      prompt,
      label: codes.size > 0 ? ('unsafe' as const) : ('safe' as const),
      ...(codes.size > 0 ? { categories: [...codes].sort() } : {}),
    };
  });
}

export const openAiModeration: DatasetDefinition = {
  id: SET,
  title: 'OpenAI Moderation',
  target: 'prompt',
  folder: 'openai-moderation',
  files: [
    {
      key: 'samples',
      host: 'github',
      repo: 'openai/moderation-api-release',
      revision: 'f4ab51b5edd3bfbcb349a56324274235b674e0e4',
      path: 'data/samples-1680.jsonl.gz',
      localNames: ['samples-1680.jsonl.gz', 'samples-1680.jsonl'],
    },
  ],
  licence: 'MIT',
  homepage: 'https://github.com/openai/moderation-api-release',
  labelMapping:
    'unsafe when any of S, H, V, HR, SH, S3, H2, V2 is 1 (a missing key is not a flag); id = 0-based line number. ' +
    'Categories: S→S2 Sexual, H→S8 Hate/Identity Hate, V→S1 Violence, HR→S10 Harassment, SH→S6 Suicide and Self Harm, ' +
    'S3→S7 Sexual (minor), H2→S8 + S11 Threat, V2→S1 Violence.',
  published: [...aegisPaperF1(0.81, 0.77, { goal: true }), qwen3GuardReportF1(0.81, 2)],
  parse: parseOpenAiModeration,
};
