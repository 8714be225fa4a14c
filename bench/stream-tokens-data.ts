/**
 * XSTest model completions (../shared/datasets/xstest, CC-BY-4.0) as stream-guard workloads: the completions
 * are short (a few hundred tokens), so long replies are built by concatenating them in dataset order.
 */
import { readFileSync } from 'node:fs';
import { parseCsv } from '../src/eval/datasets/csv.js';
import { datasetFile } from './corpora.js';

export const XSTEST_FILES = ['xstest_v2_completions_gpt4.csv', 'xstest_v2_completions_mistralinstruct.csv'];

export interface Completion {
  id: string;
  prompt: string;
  completion: string;
}

/** The completions of one XSTest file, in dataset order (rows without a completion are skipped). */
export function loadCompletions(file: string): Completion[] {
  const records = parseCsv(readFileSync(datasetFile(`xstest/${file}`), 'utf8'));
  for (const column of ['id', 'prompt', 'completion']) {
    if (records[0] && !(column in records[0])) throw new Error(`${file}: no column ${column}`);
  }
  return records
    .filter((r) => r.completion!.trim() !== '')
    .map((r) => ({ id: r.id!, prompt: r.prompt!, completion: r.completion! }));
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
