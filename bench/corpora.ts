/**
 * The fixed public corpora the benchmarks read from ../shared/datasets (Node only). See that folder's README
 * for sources and licences. The folder exists on development machines only (it is not part of the project):
 * without it a benchmark stops with a message naming the file it needs.
 */
import { existsSync, readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { fileURLToPath } from 'node:url';

const DATASETS = fileURLToPath(new URL('../../shared/datasets/', import.meta.url));

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

/** RFC 4180 CSV (quoted fields may hold commas, quotes and newlines) into records keyed by the header row. */
export function parseCsv(text: string): Record<string, string>[] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      row.push(field);
      field = '';
    } else if (c === '\n' || (c === '\r' && text[i + 1] === '\n')) {
      if (c === '\r') i++;
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
    } else field += c;
  }
  if (field !== '' || row.length > 0) rows.push([...row, field]);
  const [header, ...body] = rows;
  if (!header) return [];
  return body.filter((r) => r.length === header.length).map((r) => Object.fromEntries(header.map((h, i) => [h, r[i]!])));
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
