/**
 * Tokenizer files travel with the weights: the same set mlc_llm's gen_config copies, listed in
 * `tokenizer_files`. WebLLM loads tokenizer.json when listed, else tokenizer.model (SentencePiece).
 */
import { existsSync } from 'node:fs';
import { copyFile, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { CheckpointError, MissingFileError, rethrowDiskFull } from './errors.js';

export const TOKENIZER_FILE_NAMES = [
  'tokenizer.json',
  'tokenizer_config.json',
  'tokenizer.model',
  'vocab.json',
  'merges.txt',
  'added_tokens.json',
] as const;

export interface TokenizerInfo {
  token_postproc_method: 'byte_level' | 'byte_fallback' | 'raw';
  prepend_space_in_encode: boolean;
  strip_space_in_decode: boolean;
}

/** The tokenizer files present in `dir`; at least tokenizer.json or tokenizer.model must exist. */
export function findTokenizerFiles(dir: string): string[] {
  const found = TOKENIZER_FILE_NAMES.filter((f) => existsSync(join(dir, f)));
  if (!found.includes('tokenizer.json') && !found.includes('tokenizer.model')) {
    throw new MissingFileError(`no tokenizer in ${dir}: expected tokenizer.json (or tokenizer.model)`, [join(dir, 'tokenizer.json')]);
  }
  return found;
}

export async function tokenizerFilesBytes(dir: string, files: string[]): Promise<number> {
  let n = 0;
  for (const f of files) n += (await stat(join(dir, f))).size;
  return n;
}

export async function copyTokenizerFiles(from: string, to: string, files: string[]): Promise<void> {
  for (const f of files) await copyFile(join(from, f), join(to, f)).catch((e: unknown) => rethrowDiskFull(e, join(to, f)));
}

interface TokenizerJson {
  decoder?: { type?: string; decoders?: Array<{ type?: string; content?: string }> } | null;
  normalizer?: { type?: string; prepend?: string; normalizers?: Array<{ type?: string; prepend?: string }> } | null;
  pre_tokenizer?: { type?: string; prepend_scheme?: string } | null;
}

/**
 * How token strings map back to text (used by WebLLM only for grammar-constrained output), detected from the
 * decoder as mlc_llm does: ByteLevel -> byte_level; a Sequence with ByteFallback -> byte_fallback, with the
 * SentencePiece space handling read from the normalizer / pre-tokenizer and decoder.
 */
export async function detectTokenizerInfo(dir: string, files: string[]): Promise<TokenizerInfo> {
  if (!files.includes('tokenizer.json')) {
    return { token_postproc_method: 'byte_fallback', prepend_space_in_encode: true, strip_space_in_decode: true };
  }
  let json: TokenizerJson;
  try {
    json = JSON.parse(await readFile(join(dir, 'tokenizer.json'), 'utf8')) as TokenizerJson;
  } catch (error) {
    throw new CheckpointError(`${join(dir, 'tokenizer.json')} is not valid JSON`, { cause: error });
  }
  const decoder = json.decoder ?? {};
  if (decoder.type === 'ByteLevel') {
    return { token_postproc_method: 'byte_level', prepend_space_in_encode: false, strip_space_in_decode: false };
  }
  const parts = decoder.type === 'Sequence' ? (decoder.decoders ?? []) : [decoder];
  if (parts.some((d) => d.type === 'ByteFallback')) {
    const norms = json.normalizer?.type === 'Sequence' ? (json.normalizer.normalizers ?? []) : json.normalizer ? [json.normalizer] : [];
    const prepend =
      norms.some((n) => n.type === 'Prepend' && n.prepend === '\u2581') ||
      (json.pre_tokenizer?.type === 'Metaspace' && json.pre_tokenizer.prepend_scheme !== 'never');
    return {
      token_postproc_method: 'byte_fallback',
      prepend_space_in_encode: prepend,
      strip_space_in_decode: parts.some((d) => d.type === 'Strip'),
    };
  }
  return { token_postproc_method: 'raw', prepend_space_in_encode: false, strip_space_in_decode: false };
}
