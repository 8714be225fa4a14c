/** What a public evaluation set is: where its files live, how its labels map, how its rows are read. */
import { DatasetError } from '../../core/errors.js';
import type { Target } from '../../core/types.js';
import type { EvalItem, PublishedFigure } from '../types.js';

/** One upstream file of a set. */
export interface DatasetFile {
  /** The name the set's parser asks for. */
  key: string;
  host: 'github' | 'huggingface';
  /** `owner/name` (a dataset repo on the Hub). */
  repo: string;
  /** A commit, or a branch when the upstream publishes no fixed one (the report then records the commit served). */
  revision: string;
  /** Path inside the repo. */
  path: string;
  /** File names it may have in a local folder, tried in order (the upstream's own name first). */
  localNames: string[];
}

export interface DatasetDefinition {
  id: string;
  title: string;
  target: Target;
  /** The sub-folder of a local data folder that holds its files (as in a development machine's datasets/). */
  folder: string;
  files: DatasetFile[];
  licence: string;
  homepage: string;
  /** Gated on the Hub: downloading needs a token of an account that accepted the terms at `homepage`. */
  gated?: boolean;
  /** How the upstream's labels become safe/unsafe (and categories, where it has them). */
  labelMapping: string;
  published: PublishedFigure[];
  /** Reads the files (by key) into items, in upstream order. Throws DatasetError on a malformed file. */
  parse(files: Record<string, Uint8Array>): Promise<EvalItem[]>;
}

/** A string field of a row, or a DatasetError naming the set, row and field. */
export function stringField(set: string, row: Record<string, unknown>, field: string, where: string): string {
  const value = row[field];
  if (typeof value !== 'string') {
    throw new DatasetError(`${set}: ${where} has no text field "${field}" (got ${value === null ? 'null' : typeof value}).`, set);
  }
  return value;
}

export function objectRow(set: string, value: unknown, where: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new DatasetError(`${set}: ${where} is not an object.`, set);
  }
  return value as Record<string, unknown>;
}

export function requireFile(set: string, files: Record<string, Uint8Array>, key: string): Uint8Array {
  const bytes = files[key];
  if (!bytes) throw new DatasetError(`${set}: the file "${key}" was not provided.`, set);
  return bytes;
}

/** Runs a format parser, turning syntax errors into DatasetError. */
export async function readingAs<T>(set: string, what: string, read: () => Promise<T> | T): Promise<T> {
  try {
    return await read();
  } catch (error) {
    if (error instanceof DatasetError) throw error;
    throw new DatasetError(`${set}: ${what} could not be read: ${error instanceof Error ? error.message : String(error)}`, set, undefined, undefined, {
      cause: error,
    });
  }
}
