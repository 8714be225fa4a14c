/**
 * The `_metadata` JSON a compiled WebLLM model library carries (internals §6.1): it is a string constant in
 * the wasm data segment, so it can be read without a GPU by finding `{"model_type"` and parsing the JSON
 * object that starts there. A `.json` file is taken as the metadata itself (../shared/mlc-lib-metadata).
 */
import { readFile } from 'node:fs/promises';
import { CheckpointError } from './errors.js';

export interface LibMetadata {
  model_type: string;
  quantization: string;
  context_window_size?: number;
  prefill_chunk_size?: number;
  params: Array<{ name: string; shape: Array<number | string>; dtype: string }>;
}

export async function readLibMetadata(path: string): Promise<LibMetadata> {
  const bytes = await readFile(path);
  const text = path.endsWith('.json') ? bytes.toString('utf8') : extractJsonObject(bytes, '{"model_type"', path);
  let meta: LibMetadata;
  try {
    meta = JSON.parse(text) as LibMetadata;
  } catch (error) {
    throw new CheckpointError(`${path}: the model library metadata is not valid JSON`, { cause: error });
  }
  if (!Array.isArray(meta.params)) throw new CheckpointError(`${path}: the model library metadata has no params list`);
  return meta;
}

/** The balanced JSON object that starts at the first occurrence of `marker` in `bytes`. */
export function extractJsonObject(bytes: Uint8Array, marker: string, source: string): string {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const start = buf.indexOf(marker);
  if (start < 0) throw new CheckpointError(`${source} contains no ${marker}: not an MLC model library`);
  let depth = 0;
  let inString = false;
  for (let i = start; i < buf.length; i++) {
    const c = buf[i]!;
    if (inString) {
      if (c === 0x5c) i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
      continue;
    }
    if (c === 0x22) inString = true;
    else if (c === 0x7b) depth++;
    else if (c === 0x7d && --depth === 0) return buf.subarray(start, i + 1).toString('utf8');
  }
  throw new CheckpointError(`${source}: the metadata JSON is truncated`);
}
