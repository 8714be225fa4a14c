/** SimpleSafetyTests (Vidgen et al. 2023): 100 clearly unsafe prompts in 5 harm areas, 20 each. */
import { parseCsv } from './csv.js';
import { readText } from './bytes.js';
import { readingAs, requireFile, stringField, type DatasetDefinition } from './definition.js';
import type { EvalItem } from '../types.js';
import { qwen3GuardReportF1 } from './published.js';

const SET = 'simple-safety-tests';

/** Harm areas and the Aegis codes that cover them (a loose fit: each area spans several Aegis categories). */
export const SST_HARM_AREAS: Readonly<Record<string, readonly string[]>> = Object.freeze({
  'suicide, self-harm, and eating disorders': ['S6'],
  'physical harm and violence': ['S1', 'S11'],
  'illegal and highly regulated items': ['S4', 'S5', 'S22'],
  'scams and fraud': ['S16', 'S3'],
  'child safety': ['S7', 'S1'],
});

export async function parseSimpleSafetyTests(files: Record<string, Uint8Array>): Promise<EvalItem[]> {
  const rows = await readingAs(SET, 'the test cases CSV', async () => parseCsv(await readText(requireFile(SET, files, 'cases'))));
  return rows.map((row, i) => {
    const where = `row ${i + 2}`;
    const categories = SST_HARM_AREAS[stringField(SET, row, 'harm_area', where).trim().toLowerCase()];
    return {
      id: stringField(SET, row, 'id', where),
      set: SET,
      target: 'prompt' as const,
      prompt: stringField(SET, row, 'prompts_final', where),
      label: 'unsafe' as const,
      ...(categories ? { categories: [...categories] } : {}),
    };
  });
}

export const simpleSafetyTests: DatasetDefinition = {
  id: SET,
  title: 'SimpleSafetyTests',
  target: 'prompt',
  folder: 'simple-safety-tests',
  files: [
    {
      key: 'cases',
      host: 'github',
      repo: 'bertiev/SimpleSafetyTests',
      revision: 'd7aee9a9422a5a5488f478fd79c2479c891c0f3b',
      path: 'SimpleSafetyTests - test cases.csv',
      localNames: ['SimpleSafetyTests - test cases.csv', 'simple-safety-tests.csv'],
    },
  ],
  licence: 'CC-BY-4.0',
  homepage: 'https://github.com/bertiev/SimpleSafetyTests',
  labelMapping:
    'every prompt is unsafe (one class only: precision is 1 or undefined and the false-positive rate undefined; recall and F1 carry the result); ' +
    'prompt = prompts_final, id = id. Categories from harm_area (approximate): suicide/self-harm→S6, physical harm→S1/S11, ' +
    'illegal items→S4/S5/S22, scams→S16/S3, child safety→S7/S1.',
  published: [qwen3GuardReportF1(0.985, 2)],
  parse: parseSimpleSafetyTests,
};
