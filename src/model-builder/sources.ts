/** A --base / --adapter argument: a local folder, or a Hugging Face id that is downloaded first. */
import { existsSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { MissingFileError } from './errors.js';
import { downloadAdapter, downloadBaseModel, type HubOptions } from './hub.js';
import { looksLikeHubId } from './lora.js';

export interface ResolvedSource {
  dir: string;
  /** The Hugging Face id when the source was downloaded. */
  hubId: string | undefined;
}

export async function resolveSource(spec: string, kind: 'base' | 'adapter', hub: HubOptions): Promise<ResolvedSource> {
  if (existsSync(spec)) {
    if (!statSync(spec).isDirectory()) throw new MissingFileError(`${kind} ${spec} is a file; give the folder that holds it`, [spec]);
    return { dir: resolve(spec), hubId: undefined };
  }
  if (looksLikeHubId(spec)) {
    const dir = kind === 'base' ? await downloadBaseModel(spec, hub) : await downloadAdapter(spec, hub);
    return { dir, hubId: spec };
  }
  throw new MissingFileError(`${kind} ${spec} is neither a folder nor a Hugging Face id (owner/name)`, [spec]);
}
