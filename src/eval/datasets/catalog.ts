/** The public sets `aegis-guard eval` knows, by id. */
import { AegisInputError } from '../../core/errors.js';
import { aegis2Prompts, aegis2Responses } from './aegis2.js';
import { beaverTails } from './beavertails.js';
import type { DatasetDefinition, DatasetFile } from './definition.js';
import { openAiModeration } from './openai-moderation.js';
import { simpleSafetyTests } from './simple-safety-tests.js';
import { toxicChat } from './toxic-chat.js';
import { wildGuardPrompts, wildGuardResponses } from './wildguard.js';
import { xsTestPrompts, xsTestResponses } from './xstest.js';

export const DATASETS: readonly DatasetDefinition[] = Object.freeze([
  openAiModeration,
  xsTestPrompts,
  xsTestResponses,
  simpleSafetyTests,
  toxicChat,
  aegis2Prompts,
  aegis2Responses,
  wildGuardPrompts,
  wildGuardResponses,
  beaverTails,
]);

export function datasetById(id: string): DatasetDefinition {
  const found = DATASETS.find((d) => d.id === id);
  if (!found) throw new AegisInputError(`Unknown set "${id}". Known sets: ${DATASETS.map((d) => d.id).join(', ')}.`);
  return found;
}

export interface UrlOptions {
  /** The Hugging Face endpoint (HF_ENDPOINT). Default https://huggingface.co. */
  hfEndpoint?: string;
  /** Where GitHub files are fetched from. Default https://raw.githubusercontent.com. */
  githubRaw?: string;
}

const encodePath = (path: string) => path.split('/').map(encodeURIComponent).join('/');

/** The URL a file is downloaded from. */
export function fileUrl(file: DatasetFile, options: UrlOptions = {}): string {
  if (file.host === 'github') {
    const base = (options.githubRaw ?? 'https://raw.githubusercontent.com').replace(/\/+$/, '');
    return `${base}/${file.repo}/${file.revision}/${encodePath(file.path)}`;
  }
  const base = (options.hfEndpoint ?? 'https://huggingface.co').replace(/\/+$/, '');
  return `${base}/datasets/${file.repo}/resolve/${encodeURIComponent(file.revision)}/${encodePath(file.path)}`;
}
