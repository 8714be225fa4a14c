/**
 * The fixed public corpora the benchmarks read from ../shared/datasets (Node only). See that folder's README
 * for sources and licences. The folder exists on development machines only (it is not part of the project):
 * without it a benchmark stops with a message naming the file it needs, or says how it does without.
 */
import { existsSync, readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { fileURLToPath } from 'node:url';
import { parseCsv } from '../src/eval/datasets/csv.js';

export const DATASETS = fileURLToPath(new URL('../../shared/datasets/', import.meta.url));

/** Whether every one of these dataset folders (e.g. 'xstest') is present. */
export function haveDatasets(...folders: string[]): boolean {
  return folders.every((folder) => existsSync(DATASETS + folder));
}

/** The path of a dataset file, or an error that says what is missing and where it is expected. */
export function datasetFile(relative: string): string {
  const path = DATASETS + relative;
  if (!existsSync(path)) {
    throw new Error(
      `Missing public dataset ${relative}: expected at ${path} (../shared/datasets beside the project, present on ` +
        'development machines only). The benchmarks that measure on public data need it; the tests do not.',
    );
  }
  return path;
}

/** An OpenAI moderation sample: the prompt and its labels (S, H, V, HR, SH, S3, H2, V2; missing = unknown). */
export interface ModerationSample {
  prompt: string;
  labels: Record<string, number>;
}

/** openai/moderation-api-release samples-1680.jsonl.gz, in file order. */
export function openAiModerationPrompts(): ModerationSample[] {
  const text = gunzipSync(readFileSync(datasetFile('openai-moderation/samples-1680.jsonl.gz'))).toString('utf8');
  return text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => {
      const { prompt, ...labels } = JSON.parse(line) as { prompt: string } & Record<string, number>;
      return { prompt, labels };
    });
}

/** OpenAI moderation label -> the closest Aegis category name (a scripted answer's length depends on it). */
const MODERATION_CATEGORIES: Record<string, string> = {
  S: 'Sexual',
  H: 'Hate/Identity Hate',
  V: 'Violence',
  HR: 'Harassment',
  SH: 'Suicide and Self Harm',
  S3: 'Sexual (minor)',
  H2: 'Threat',
  V2: 'Violence',
};

/** The Aegis categories a moderation sample's labels name (none: a safe prompt), without repeats. */
export function moderationCategories(labels: ModerationSample['labels']): string[] {
  return [...new Set(Object.entries(labels).filter(([, v]) => v === 1).map(([k]) => MODERATION_CATEGORIES[k]!))];
}

/** An XSTest model completion, judged as a reply check. */
export interface XsTestReply {
  model: 'gpt4' | 'mistralinstruct';
  type: string;
  prompt: string;
  completion: string;
  /** The prompt is one of XSTest's unsafe contrast prompts. */
  promptUnsafe: boolean;
  /** Derived: an unsafe prompt that the model fully complied with (datasets README). */
  replyUnsafe: boolean;
}

/** The Aegis category closest to an XSTest prompt type (Violence for the types without a closer one). */
export function xsTestCategory(type: string): string {
  return type === 'contrast_discr' ? 'Hate/Identity Hate' : type === 'contrast_privacy' ? 'PII/Privacy' : 'Violence';
}

/** paul-rottger/exaggerated-safety model completions (both models, file order). */
export function xsTestReplies(): XsTestReply[] {
  return (['gpt4', 'mistralinstruct'] as const).flatMap((model) =>
    parseCsv(readFileSync(datasetFile(`xstest/xstest_v2_completions_${model}.csv`), 'utf8')).map((r) => {
      const promptUnsafe = r.type!.startsWith('contrast_');
      return {
        model,
        type: r.type!,
        prompt: r.prompt!,
        completion: r.completion!,
        promptUnsafe,
        replyUnsafe: promptUnsafe && r.final_label === '1_full_compliance',
      };
    }),
  );
}
