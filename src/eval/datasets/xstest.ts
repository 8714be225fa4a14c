/**
 * XSTest (Röttger et al. 2024): 250 safe prompts that look unsafe and 200 unsafe contrast prompts, plus two
 * models' completions of all 450 with refusal/compliance annotations.
 */
import { parseCsv } from './csv.js';
import { readText } from './bytes.js';
import { readingAs, requireFile, type DatasetDefinition, type DatasetFile } from './definition.js';
import { DatasetError } from '../../core/errors.js';
import type { EvalItem } from '../types.js';
import { aegisPaperF1, qwen3GuardReportF1 } from './published.js';

const REPO = 'paul-rottger/exaggerated-safety';
const REVISION = 'd7bb5bd738c1fcbc36edd83d5e7d1b71a3e2d84d';
const HOMEPAGE = 'https://github.com/paul-rottger/exaggerated-safety';
/** The models whose completions the repository publishes with human labels, as used here. */
export const XSTEST_COMPLETION_MODELS = ['gpt4', 'mistralinstruct'] as const;

const promptsFile: DatasetFile = {
  key: 'prompts',
  host: 'github',
  repo: REPO,
  revision: REVISION,
  path: 'xstest_prompts.csv',
  localNames: ['xstest_prompts.csv'],
};

const completionFile = (model: string): DatasetFile => ({
  key: `completions-${model}`,
  host: 'github',
  repo: REPO,
  revision: REVISION,
  path: `model_completions/xstest_v2_completions_${model}.csv`,
  localNames: [`xstest_v2_completions_${model}.csv`],
});

async function csvFile(set: string, files: Record<string, Uint8Array>, key: string): Promise<Record<string, string>[]> {
  return readingAs(set, `${key}.csv`, async () => parseCsv(await readText(requireFile(set, files, key))));
}

function column(set: string, row: Record<string, string>, name: string, where: string): string {
  const value = row[name];
  if (value === undefined) throw new DatasetError(`${set}: ${where} has no column "${name}".`, set);
  return value;
}

export async function parseXsTestPrompts(files: Record<string, Uint8Array>): Promise<EvalItem[]> {
  const set = 'xstest-prompt';
  return (await csvFile(set, files, 'prompts')).map((row, i) => {
    const where = `row ${i + 2}`;
    const label = column(set, row, 'label', where);
    if (label !== 'safe' && label !== 'unsafe') throw new DatasetError(`${set}: ${where} has label "${label}" (expected safe or unsafe).`, set);
    return { id: column(set, row, 'id', where), set, target: 'prompt' as const, prompt: column(set, row, 'prompt', where), label };
  });
}

const FINAL_LABELS = new Set(['1_full_compliance', '2_full_refusal', '3_partial_refusal']);

export async function parseXsTestResponses(files: Record<string, Uint8Array>): Promise<EvalItem[]> {
  const set = 'xstest-response';
  const items: EvalItem[] = [];
  for (const model of XSTEST_COMPLETION_MODELS) {
    (await csvFile(set, files, `completions-${model}`)).forEach((row, i) => {
      const where = `${model} row ${i + 2}`;
      const finalLabel = column(set, row, 'final_label', where);
      if (!FINAL_LABELS.has(finalLabel)) throw new DatasetError(`${set}: ${where} has final_label "${finalLabel}".`, set);
      const unsafePrompt = column(set, row, 'type', where).startsWith('contrast_');
      items.push({
        id: `${model}:${column(set, row, 'id', where)}`,
        set,
        target: 'response',
        prompt: column(set, row, 'prompt', where),
        response: column(set, row, 'completion', where),
        label: unsafePrompt && finalLabel === '1_full_compliance' ? 'unsafe' : 'safe',
      });
    });
  }
  return items;
}

export const xsTestPrompts: DatasetDefinition = {
  id: 'xstest-prompt',
  title: 'XSTest prompts',
  target: 'prompt',
  folder: 'xstest',
  files: [promptsFile],
  licence: 'CC-BY-4.0',
  homepage: HOMEPAGE,
  labelMapping: 'the label column as given: safe (250) or unsafe (200, the contrast_* types); id = the id column.',
  published: [],
  parse: parseXsTestPrompts,
};

export const xsTestResponses: DatasetDefinition = {
  id: 'xstest-response',
  title: 'XSTest responses',
  target: 'response',
  folder: 'xstest',
  files: XSTEST_COMPLETION_MODELS.map(completionFile),
  licence: 'CC-BY-4.0',
  homepage: HOMEPAGE,
  labelMapping:
    'derived from the human refusal labels: a reply is unsafe when its prompt is an unsafe contrast_* prompt and ' +
    'final_label is 1_full_compliance; every other reply (refusals, partial refusals, replies to safe prompts) is safe. ' +
    `Completions of ${XSTEST_COMPLETION_MODELS.join(' and ')}; id = model:id. The papers do not say how their XSTest ` +
    'reply labels were made (harnesses commonly use WildGuard\'s harm-annotated XSTest-Resp), so compare with care.',
  published: [...aegisPaperF1(0.862, 0.883, { goal: true }), qwen3GuardReportF1(0.862, 3)],
  parse: parseXsTestResponses,
};
