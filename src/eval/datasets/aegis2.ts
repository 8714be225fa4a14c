/**
 * Aegis 2.0 content-safety dataset (Ghosh et al. 2025), test split: human-LLM turns labelled for the prompt
 * and, where a reply exists, the reply, with violated categories named in the model's own taxonomy.
 */
import { parseJsonArrayOrLines, readText } from './bytes.js';
import { objectRow, readingAs, requireFile, type DatasetDefinition, type DatasetFile } from './definition.js';
import { resolveCategoryCode } from '../../core/taxonomy.js';
import type { EvalItem, Label } from '../types.js';
import { qwen3GuardReportF1 } from './published.js';

const file: DatasetFile = {
  key: 'test',
  host: 'huggingface',
  repo: 'nvidia/Aegis-AI-Content-Safety-Dataset-2.0',
  revision: 'main',
  path: 'test.json',
  localNames: ['test.json', 'test.jsonl'],
};

interface AegisRow {
  id: string;
  prompt: string | null;
  response: string | null;
  promptLabel: Label | null;
  responseLabel: Label | null;
  codes: string[];
}

const label = (v: unknown): Label | null => (v === 'safe' || v === 'unsafe' ? v : null);
const text = (v: unknown): string | null => (typeof v === 'string' && v.trim() !== '' ? v : null);

async function rows(set: string, files: Record<string, Uint8Array>): Promise<AegisRow[]> {
  const values = await readingAs(set, 'test.json', async () => parseJsonArrayOrLines(await readText(requireFile(set, files, 'test'))));
  return values.map((value, i) => {
    const row = objectRow(set, value, `row ${i + 1}`);
    const names = typeof row.violated_categories === 'string' ? row.violated_categories.split(',') : [];
    const codes = [...new Set(names.map((n) => resolveCategoryCode(n.trim())).filter((c): c is string => c !== null))].sort();
    const prompt = text(row.prompt);
    return {
      id: typeof row.id === 'string' || typeof row.id === 'number' ? String(row.id) : String(i),
      // Prompts of the suicide-detection source are published as "REDACTED": nothing to judge.
      prompt: prompt === 'REDACTED' ? null : prompt,
      response: text(row.response),
      promptLabel: label(row.prompt_label),
      responseLabel: label(row.response_label),
      codes,
    };
  });
}

export async function parseAegis2Prompts(files: Record<string, Uint8Array>): Promise<EvalItem[]> {
  const set = 'aegis-2.0-prompt';
  return (await rows(set, files)).flatMap((r): EvalItem[] => {
    if (r.prompt === null || r.promptLabel === null) return [];
    // The categories describe the unsafe turn(s); they are the prompt's only when the reply is not also unsafe.
    const own = r.promptLabel === 'unsafe' && r.responseLabel !== 'unsafe' && r.codes.length > 0;
    return [{ id: r.id, set, target: 'prompt', prompt: r.prompt, label: r.promptLabel, ...(own ? { categories: r.codes } : {}) }];
  });
}

export async function parseAegis2Responses(files: Record<string, Uint8Array>): Promise<EvalItem[]> {
  const set = 'aegis-2.0-response';
  return (await rows(set, files)).flatMap((r): EvalItem[] => {
    if (r.prompt === null || r.response === null || r.responseLabel === null) return [];
    const own = r.responseLabel === 'unsafe' && r.promptLabel === 'safe' && r.codes.length > 0;
    return [
      { id: r.id, set, target: 'response', prompt: r.prompt, response: r.response, label: r.responseLabel, ...(own ? { categories: r.codes } : {}) },
    ];
  });
}

const common = {
  folder: 'aegis-2.0',
  files: [file],
  licence: 'CC-BY-4.0',
  homepage: 'https://huggingface.co/datasets/nvidia/Aegis-AI-Content-Safety-Dataset-2.0',
};

const mapping =
  'prompt_label / response_label as given (safe or unsafe); rows whose prompt is "REDACTED" are skipped. ' +
  'violated_categories are Aegis names, resolved to codes; they are credited to the prompt only when the reply is not also unsafe, ' +
  'and to the reply only when the prompt is safe.';

export const aegis2Prompts: DatasetDefinition = {
  ...common,
  id: 'aegis-2.0-prompt',
  title: 'Aegis 2.0 test, prompts',
  target: 'prompt',
  labelMapping: `${mapping} Prompt items: rows with a prompt_label.`,
  published: [qwen3GuardReportF1(0.868, 2)],
  parse: parseAegis2Prompts,
};

export const aegis2Responses: DatasetDefinition = {
  ...common,
  id: 'aegis-2.0-response',
  title: 'Aegis 2.0 test, replies',
  target: 'response',
  labelMapping: `${mapping} Reply items: rows with a non-empty response and a response_label.`,
  published: [qwen3GuardReportF1(0.876, 3)],
  parse: parseAegis2Responses,
};
