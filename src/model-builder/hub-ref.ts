/**
 * Where a checkpoint lives on the Hugging Face Hub: a repo, a revision and a folder inside the repo.
 * On the command line: `<owner>/<name>[@<revision>][:<subfolder>]`, e.g.
 * `nvidia/llama-3.1-nemoguard-8b-content-safety:llama-3.1-nemoguard-8b-content-safety-lora-adapter`.
 * Neither ':' nor '@' can occur in a repo id, and ':' cannot occur in a git ref, so the split is unambiguous.
 */
import { BuildArgumentError } from './errors.js';

export interface HubRef {
  /** owner/name */
  repo: string;
  revision: string;
  /** Folder inside the repo, without leading or trailing '/'; '' for the root. */
  subfolder: string;
}

const SEGMENT = /^[A-Za-z0-9_](?:[\w.-]{0,94}[A-Za-z0-9_])?$/;

/** A Hub repo id as the Hub accepts it: owner/name, letters, digits, '-', '_', '.', no '--' or '..'. */
export function isHubRepoId(s: string): boolean {
  const parts = s.split('/');
  return parts.length === 2 && parts.every((p) => SEGMENT.test(p)) && !/--|\.\./.test(s) && !s.endsWith('.git');
}

/** `a/b/` -> `a/b`; refuses what could leave the repo (`..`), absolute paths and backslashes. */
export function normalizeSubfolder(raw: string, what: string): string {
  if (raw.includes('\\')) throw new BuildArgumentError(`${what} ${JSON.stringify(raw)}: use '/' between folder names`);
  const parts = raw.split('/').filter((p) => p !== '');
  if (parts.some((p) => p === '.' || p === '..')) throw new BuildArgumentError(`${what} ${JSON.stringify(raw)} may not contain '.' or '..'`);
  return parts.join('/');
}

function checkRevision(revision: string, spec: string): string {
  if (revision === '' || /\s|\.\.|^\/|\/$|[\\:~^?*[]/.test(revision)) {
    throw new BuildArgumentError(`${spec}: ${JSON.stringify(revision)} is not a valid revision (a branch, tag or commit)`);
  }
  return revision;
}

/**
 * Parses `<owner>/<name>[@<revision>][:<subfolder>]`. `flagName` names the option in messages; `subfolder`
 * (from --base-subfolder / --adapter-subfolder) and `revision` (from --revision) apply when the spec does not
 * say; a subfolder given both ways is refused.
 */
export function parseHubRef(spec: string, flagName: string, defaults: { revision?: string | undefined; subfolder?: string | undefined } = {}): HubRef {
  const m = /^([^@:]*)(?:@([^:]*))?(?::(.*))?$/.exec(spec);
  const repo = m?.[1] ?? '';
  if (!m || !isHubRepoId(repo)) {
    throw new BuildArgumentError(`${flagName} ${spec} is neither a folder nor a Hugging Face id (owner/name[@revision][:subfolder])${hint(spec)}`);
  }
  const revision = m[2] !== undefined ? checkRevision(m[2], spec) : checkRevision(defaults.revision ?? 'main', `--revision`);
  if (m[3] !== undefined && defaults.subfolder !== undefined) {
    throw new BuildArgumentError(`${flagName} ${spec} names a subfolder and ${flagName}-subfolder gives another; give it once`);
  }
  if (m[3] !== undefined && normalizeSubfolder(m[3], `${flagName} subfolder`) === '') {
    throw new BuildArgumentError(`${flagName} ${spec}: the subfolder after ':' is empty (leave out the ':' for the repo's root)`);
  }
  const subfolder = normalizeSubfolder(m[3] ?? defaults.subfolder ?? '', `${flagName} subfolder`);
  return { repo, revision, subfolder };
}

/** Suggests the right spelling for the common near-misses (a Hub URL, owner/name/folder). */
function hint(spec: string): string {
  const url = /^https?:\/\/[^/]+\/([^/]+\/[^/]+?)(?:\/(tree|blob|resolve)\/([^/]+)(?:\/(.*?))?)?\/?$/.exec(spec);
  if (url && isHubRepoId(url[1]!)) {
    // tree/ URLs name a folder; blob/ and resolve/ URLs name a file, whose folder is meant.
    const folder = url[2] === 'tree' ? (url[4] ?? '') : (url[4] ?? '').replace(/\/?[^/]*$/, '');
    return `; for that page pass ${formatHubRef({ repo: url[1]!, revision: url[3] ?? 'main', subfolder: folder })}`;
  }
  const parts = spec.split('/');
  if (parts.length > 2 && isHubRepoId(parts.slice(0, 2).join('/')) && !spec.startsWith('.')) {
    return `; for a folder inside a Hub repo write ${parts.slice(0, 2).join('/')}:${parts.slice(2).filter(Boolean).join('/')} (no such local folder exists)`;
  }
  return '';
}

/** The command-line spelling of a ref (the revision is left out when it is main). */
export function formatHubRef(ref: HubRef): string {
  return `${ref.repo}${ref.revision !== 'main' ? `@${ref.revision}` : ''}${ref.subfolder ? `:${ref.subfolder}` : ''}`;
}

/** `file` inside the ref's subfolder, as a repo path. */
export function repoPath(ref: HubRef, file: string): string {
  return ref.subfolder ? `${ref.subfolder}/${file}` : file;
}
