/**
 * BeaverTails (Ji et al. 2023), the 330k_test split: question-answer pairs labelled safe/unsafe by several
 * crowd workers each (one row per annotation).
 */
import { DatasetError } from '../../core/errors.js';
import { maybeGunzip, parseJsonLines, readParquet } from './bytes.js';
import { objectRow, readingAs, requireFile, stringField, type DatasetDefinition } from './definition.js';
import type { EvalItem } from '../types.js';
import { qwen3GuardReportF1 } from './published.js';

const SET = 'beavertails';

const startsWith = (bytes: Uint8Array, magic: number[]) => magic.every((b, i) => bytes[i] === b);
const PARQUET = [0x50, 0x41, 0x52, 0x31]; // "PAR1"
const XZ = [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00];

async function annotationRows(bytes: Uint8Array): Promise<unknown[]> {
  if (startsWith(bytes, XZ)) {
    throw new DatasetError(`${SET}: the file is xz-compressed; decompress it first (xz -dk round0_330k_test.jsonl.xz).`, SET);
  }
  if (startsWith(bytes, PARQUET)) return readingAs(SET, 'the parquet file', () => readParquet(bytes));
  return readingAs(SET, 'the JSON Lines file', async () => parseJsonLines(new TextDecoder().decode(await maybeGunzip(bytes))));
}

export async function parseBeaverTails(files: Record<string, Uint8Array>): Promise<EvalItem[]> {
  const groups = new Map<string, { index: number; prompt: string; response: string; safe: number; votes: number }>();
  (await annotationRows(requireFile(SET, files, 'test'))).forEach((value, index) => {
    const where = `row ${index}`;
    const row = objectRow(SET, value, where);
    const prompt = stringField(SET, row, 'prompt', where);
    const response = stringField(SET, row, 'response', where);
    if (typeof row.is_safe !== 'boolean') throw new DatasetError(`${SET}: ${where} has no boolean is_safe.`, SET);
    const key = `${prompt}\u0000${response}`;
    let group = groups.get(key);
    if (!group) groups.set(key, (group = { index, prompt, response, safe: 0, votes: 0 }));
    group.votes++;
    if (row.is_safe) group.safe++;
  });
  return [...groups.values()].map((g) => ({
    id: String(g.index),
    set: SET,
    target: 'response' as const,
    prompt: g.prompt,
    response: g.response,
    // Majority of the annotations; a tie counts as safe (as GuardBench aggregates this split).
    label: g.safe * 2 >= g.votes ? ('safe' as const) : ('unsafe' as const),
  }));
}

export const beaverTails: DatasetDefinition = {
  id: SET,
  title: 'BeaverTails (330k_test)',
  target: 'response',
  folder: 'beavertails',
  files: [
    {
      key: 'test',
      host: 'huggingface',
      repo: 'PKU-Alignment/BeaverTails',
      // The Hub's parquet conversion of the split (the upstream file is xz-compressed JSON Lines).
      revision: 'refs/convert/parquet',
      path: 'default/330k_test/0000.parquet',
      localNames: ['round0_330k_test.jsonl', 'round0_330k_test.jsonl.gz', '0000.parquet'],
    },
  ],
  licence: 'CC-BY-NC-4.0',
  homepage: 'https://huggingface.co/datasets/PKU-Alignment/BeaverTails',
  labelMapping:
    'one item per distinct prompt+response pair: unsafe when most of its annotations have is_safe false (a tie is safe); ' +
    'id = the row number of its first annotation. Downloads use the Hub\'s parquet conversion of 330k_test; a local folder may hold ' +
    'round0_330k_test.jsonl (decompressed) instead.',
  published: [qwen3GuardReportF1(0.785, 3)],
  parse: parseBeaverTails,
};
