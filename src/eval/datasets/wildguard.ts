/**
 * WildGuardTest (Han et al. 2024), the test half of WildGuardMix: vanilla and adversarial prompts, many with
 * replies, human-labelled for prompt harm and reply harm. Gated on the Hub (accept AI2's terms, use a token).
 */
import { readParquet } from './bytes.js';
import { objectRow, readingAs, requireFile, type DatasetDefinition } from './definition.js';
import type { EvalItem, Label } from '../types.js';
import { aegisPaperF1, qwen3GuardReportF1 } from './published.js';

const harm = (v: unknown): Label | null => (v === 'harmful' ? 'unsafe' : v === 'unharmful' ? 'safe' : null);
const text = (v: unknown): string | null => (typeof v === 'string' && v.trim() !== '' ? v : null);

async function rows(set: string, files: Record<string, Uint8Array>) {
  const values = await readingAs(set, 'wildguard_test.parquet', () => readParquet(requireFile(set, files, 'test')));
  return values.map((value, i) => ({ index: i, row: objectRow(set, value, `row ${i}`) }));
}

export async function parseWildGuardPrompts(files: Record<string, Uint8Array>): Promise<EvalItem[]> {
  const set = 'wildguardtest-prompt';
  return (await rows(set, files)).flatMap(({ index, row }): EvalItem[] => {
    const prompt = text(row.prompt);
    const label = harm(row.prompt_harm_label);
    return prompt === null || label === null ? [] : [{ id: String(index), set, target: 'prompt', prompt, label }];
  });
}

export async function parseWildGuardResponses(files: Record<string, Uint8Array>): Promise<EvalItem[]> {
  const set = 'wildguardtest-response';
  return (await rows(set, files)).flatMap(({ index, row }): EvalItem[] => {
    const prompt = text(row.prompt);
    const response = text(row.response);
    const label = harm(row.response_harm_label);
    return prompt === null || response === null || label === null ? [] : [{ id: String(index), set, target: 'response', prompt, response, label }];
  });
}

const common = {
  folder: 'wildguardtest',
  files: [
    {
      key: 'test',
      host: 'huggingface' as const,
      repo: 'allenai/wildguardmix',
      revision: 'main',
      path: 'test/wildguard_test.parquet',
      localNames: ['wildguard_test.parquet'],
    },
  ],
  licence: 'ODC-BY-1.0 (gated: AI2 Responsible Use Guidelines)',
  homepage: 'https://huggingface.co/datasets/allenai/wildguardmix',
  gated: true,
};

export const wildGuardPrompts: DatasetDefinition = {
  ...common,
  id: 'wildguardtest-prompt',
  title: 'WildGuardTest, prompts',
  target: 'prompt',
  labelMapping: 'prompt_harm_label: harmful→unsafe, unharmful→safe; rows without one are skipped; id = 0-based row number.',
  published: [...aegisPaperF1(0.816, 0.821), qwen3GuardReportF1(0.816, 2)],
  parse: parseWildGuardPrompts,
};

export const wildGuardResponses: DatasetDefinition = {
  ...common,
  id: 'wildguardtest-response',
  title: 'WildGuardTest, replies',
  target: 'response',
  labelMapping:
    'response_harm_label: harmful→unsafe, unharmful→safe; rows without a reply or without the label are skipped; id = 0-based row number.',
  published: [...aegisPaperF1(0.775, 0.757), qwen3GuardReportF1(0.775, 3)],
  parse: parseWildGuardResponses,
};
