/**
 * XSTest model completions (../shared/datasets/xstest, CC-BY-4.0) as stream-guard workloads: the completions
 * are short (a few hundred tokens), so long replies are built by concatenating them in dataset order.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const XSTEST_FILES = ['xstest_v2_completions_gpt4.csv', 'xstest_v2_completions_mistralinstruct.csv'];

const datasetDir = fileURLToPath(new URL('../../shared/datasets/xstest/', import.meta.url));

/** RFC 4180 CSV: quoted fields may hold commas, newlines and doubled quotes. */
export function parseCsv(text: string): string[][] {
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
    } else if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n') i++;
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
    } else field += c;
  }
  if (field !== '' || row.length > 0) {
    row.push(field);
    rows.push(row);
  }
  return rows;
}

export interface Completion {
  id: string;
  prompt: string;
  completion: string;
}

/** The completions of one XSTest file, in dataset order (rows without a completion are skipped). */
export function loadCompletions(file: string): Completion[] {
  const [header, ...rows] = parseCsv(readFileSync(datasetDir + file, 'utf8'));
  const col = (name: string) => {
    const at = header!.indexOf(name);
    if (at < 0) throw new Error(`${file}: no column ${name}`);
    return at;
  };
  const id = col('id');
  const prompt = col('prompt');
  const completion = col('completion');
  return rows
    .filter((r) => r.length === header!.length && r[completion]!.trim() !== '')
    .map((r) => ({ id: r[id]!, prompt: r[prompt]!, completion: r[completion]! }));
}

export interface LongReply {
  /** The user prompt the reply answers: the prompt of its first completion. */
  prompt: string;
  reply: string;
  /** Ids of the completions it was built from. */
  from: string[];
}

/**
 * Replies of `targetTokens` real tokens: completions concatenated in dataset order (separated by a blank
 * line) until the target is passed, then cut to exactly `targetTokens` tokens. Consecutive replies use
 * consecutive, non-overlapping runs of completions.
 */
export function buildLongReplies(
  completions: Completion[],
  targetTokens: number,
  count: number,
  tokenizer: { encode(text: string): number[]; decode(ids: number[]): string },
): LongReply[] {
  const out: LongReply[] = [];
  let next = 0;
  while (out.length < count && next < completions.length) {
    const first = completions[next]!;
    const parts: string[] = [];
    const from: string[] = [];
    let ids: number[] = [];
    while (ids.length < targetTokens && next < completions.length) {
      const c = completions[next++]!;
      parts.push(c.completion.trim());
      from.push(c.id);
      ids = tokenizer.encode(parts.join('\n\n'));
    }
    if (ids.length < targetTokens) break;
    out.push({ prompt: first.prompt, reply: tokenizer.decode(ids.slice(0, targetTokens)), from });
  }
  return out;
}
