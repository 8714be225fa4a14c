/**
 * Where the model folder and library are, as the page will fetch them: a URL is used as is; a local path
 * is served by the local server (so a machine that has the files needs no network). Checked before the
 * browser starts, so "there is no model" is said plainly and early.
 */
import { existsSync, statSync } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CliError } from './cli-error.js';
import type { Mount } from './static-server.js';

export const NO_MODEL_EXIT_CODE = 3;

export interface ModelLocation {
  /** Absolute URL, or a path on the local server (starting with `/`). May contain `{variant}`. */
  weightsUrl: string;
  modelLibUrl?: string;
  mounts: Mount[];
  /** For messages and the report. */
  described: string;
}

const VARIANTS = ['q4f16_1', 'q4f32_1'];
const isUrl = (value: string) => /^https?:\/\//i.test(value);
const BUILD_HINT =
  'Build one with `npx aegis-guard build-model` (see the README, "Building the model"), then pass its folder with --model.';

function localPath(value: string, cwd: string): string {
  return value.startsWith('file:') ? fileURLToPath(value) : resolve(cwd, value);
}

/** The folder(s) a path names; `{variant}` expands to the variants that exist. */
function existingFolders(path: string): string[] {
  const candidates = path.includes('{variant}') ? VARIANTS.map((v) => path.replaceAll('{variant}', v)) : [path];
  return candidates.filter((p) => existsSync(p) && statSync(p).isDirectory());
}

export function locateModel(model: string | undefined, modelLib: string | undefined, cwd = process.cwd()): ModelLocation {
  if (!model) throw new CliError(`No model given (--model <folder URL or path>). ${BUILD_HINT}`, NO_MODEL_EXIT_CODE);
  const mounts: Mount[] = [];
  let weightsUrl: string;
  if (isUrl(model)) weightsUrl = model.endsWith('/') ? model : `${model}/`;
  else {
    const path = localPath(model, cwd).replace(/[\\/]+$/, '');
    const folders = existingFolders(path);
    if (folders.length === 0) throw new CliError(`No model at ${path}: the folder does not exist. ${BUILD_HINT}`, NO_MODEL_EXIT_CODE);
    const withConfig = folders.filter((f) => existsSync(resolve(f, 'mlc-chat-config.json')));
    if (withConfig.length === 0) {
      throw new CliError(
        `No model at ${folders.join(' or ')}: mlc-chat-config.json is missing, so this is not a folder built by build-model. ${BUILD_HINT}`,
        NO_MODEL_EXIT_CODE,
      );
    }
    mounts.push({ prefix: '/models/', dir: dirname(path) });
    weightsUrl = `/models/${encodeURIComponent(basename(path)).replace(/%7Bvariant%7D/gi, '{variant}')}/`;
  }
  let modelLibUrl: string | undefined;
  if (modelLib) {
    if (isUrl(modelLib)) modelLibUrl = modelLib;
    else {
      const file = localPath(modelLib, cwd);
      if (!existsSync(file) || !statSync(file).isFile()) throw new CliError(`No model library at ${file}.`, NO_MODEL_EXIT_CODE);
      mounts.push({ prefix: '/model-lib/', dir: dirname(file) });
      modelLibUrl = `/model-lib/${encodeURIComponent(basename(file))}`;
    }
  }
  return { weightsUrl, ...(modelLibUrl ? { modelLibUrl } : {}), mounts, described: model };
}

/** For a model URL: fetch its mlc-chat-config.json once, so a wrong URL fails before the browser starts. */
export async function checkModelUrl(location: ModelLocation, doFetch: typeof fetch = fetch): Promise<void> {
  if (!isUrl(location.weightsUrl)) return;
  const candidates = location.weightsUrl.includes('{variant}')
    ? VARIANTS.map((v) => location.weightsUrl.replaceAll('{variant}', v))
    : [location.weightsUrl];
  const failures: string[] = [];
  for (const base of candidates) {
    const url = `${base}mlc-chat-config.json`;
    try {
      const response = await doFetch(url, { method: 'GET' });
      if (response.ok) return;
      failures.push(`${url} answered HTTP ${response.status}`);
    } catch (error) {
      failures.push(`${url} could not be reached (${error instanceof Error ? error.message : String(error)})`);
    }
  }
  throw new CliError(`No model at ${location.weightsUrl}: ${failures.join('; ')}. ${BUILD_HINT}`, NO_MODEL_EXIT_CODE);
}
