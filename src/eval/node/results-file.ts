/**
 * eval-results.jsonl: one line per finished item, written as each one finishes, so an interrupted run
 * resumes where it stopped. The first line records the run's configuration; results made with another
 * model or threshold are never mixed into a report.
 */
import { appendFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { ItemResult } from '../types.js';
import { CliError } from './cli-error.js';

export const RESULTS_FILE = 'eval-results.jsonl';

export type ResultsConfig = Record<string, string | number | boolean | null>;

interface Header {
  aegisGuardEvalResults: 1;
  config: ResultsConfig;
}

const sameConfig = (a: ResultsConfig, b: ResultsConfig) => JSON.stringify(Object.entries(a).sort()) === JSON.stringify(Object.entries(b).sort());

export interface ResultsFile {
  /** Results already saved by an earlier run of the same configuration. */
  saved: ItemResult[];
  append(result: ItemResult): void;
}

export function openResultsFile(path: string, config: ResultsConfig, fresh: boolean): ResultsFile {
  if (fresh && existsSync(path)) rmSync(path);
  const saved: ItemResult[] = [];
  if (existsSync(path)) {
    const lines = readFileSync(path, 'utf8').split('\n');
    let header: Header | undefined;
    try {
      header = JSON.parse(lines[0] ?? '') as Header;
    } catch {
      // handled below
    }
    if (header?.aegisGuardEvalResults !== 1) throw new CliError(`${path} is not an aegis-guard results file; remove it or pass --fresh.`, 2);
    if (!sameConfig(header.config, config)) {
      throw new CliError(
        `${path} holds results of another configuration (${JSON.stringify(header.config)}); pass --fresh to start over, or --out for another folder.`,
        2,
      );
    }
    for (const line of lines.slice(1)) {
      if (line.trim() === '') continue;
      try {
        saved.push(JSON.parse(line) as ItemResult);
      } catch {
        // The last line of an interrupted run may be cut short: that item runs again.
      }
    }
  } else {
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, `${JSON.stringify({ aegisGuardEvalResults: 1, config } satisfies Header)}\n`);
  }
  return { saved, append: (result) => appendFileSync(path, `${JSON.stringify(result)}\n`) };
}
