/**
 * A checkpoint on the Hub, fetched in two steps so that nothing large downloads before everything that can
 * fail early has been checked: `planCheckpoint` lists the repo (tree API), finds the checkpoint in the folder
 * given, fetches its small JSON files (the access check for gated repos) and names the large files still to
 * fetch; `fetchPlanned` downloads them.
 */
import { existsSync } from 'node:fs';
import { mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { BuildArgumentError, DownloadError, HubLayoutError, HubNotFoundError, HubResponseError } from './errors.js';
import { assertRepoPath, downloadFile, hubFileUrl, repoCacheDir, resolveHub, type HubOptions, type ResolvedHub } from './hub.js';
import { formatHubRef, isHubRepoId, parseHubRef, repoPath, type HubRef } from './hub-ref.js';
import { hubFetch, hubStatusError, RetryableError, withRetries } from './hub-http.js';
import { foldersHolding, foldersOf, listRepoFiles, type RepoEntry } from './hub-tree.js';
import { assertFreeSpace, freeBytesOnDisk } from './output-dir.js';
import { count } from './plural.js';
import { TOKENIZER_FILE_NAMES } from './tokenizer-files.js';

export type CheckpointKind = 'base' | 'adapter';

/** The command-line option that names a checkpoint of each kind (messages say what to pass). */
export const CHECKPOINT_FLAG: Record<CheckpointKind, string> = { base: '--base', adapter: '--adapter' };

/** What a checkpoint of each kind is recognised by. */
export const PRIMARY_FILE: Record<CheckpointKind, string> = { base: 'config.json', adapter: 'adapter_config.json' };

export interface PlannedFile {
  /** Path inside the repo. */
  path: string;
  /** From the file list; undefined when the tree API was not available. */
  size: number | undefined;
}

export interface PlannedCheckpoint {
  ref: HubRef;
  kind: CheckpointKind;
  /** Local folder of the checkpoint (the cache folder of its subfolder). */
  dir: string;
  /** Large files still to download. */
  files: PlannedFile[];
  /** Bytes still to download (what the file list says, less what partial files already hold). */
  bytesToFetch: number;
}

/** Remembers that a checkpoint folder is complete, so a rebuild from the cache needs no network. */
const COMPLETE_MARKER: Record<CheckpointKind, string> = { base: '.aegis-guard-base.json', adapter: '.aegis-guard-adapter.json' };

/**
 * Finds the checkpoint `ref` names, fetches its small files (config, tokenizer, index) and lists the large
 * ones still to download. Throws before anything large is fetched when the checkpoint is not there
 * (HubLayoutError naming the folders that hold one), access is refused (HubAccessError) or the repo is
 * incomplete.
 */
export async function planCheckpoint(given: HubRef, kind: CheckpointKind, options: HubOptions & { licence?: string } = {}): Promise<PlannedCheckpoint> {
  const ref = checkedRef(given, 'planCheckpoint');
  const hub = resolveHub({ ...options, revision: ref.revision });
  const dir = join(repoCacheDir(hub.cacheDir, ref.repo, ref.revision), ref.subfolder);
  if (await cachedComplete(dir, kind)) return { ref, kind, dir, files: [], bytesToFetch: 0 };

  const entries = await listOrExplain(hub, ref);
  const primary = PRIMARY_FILE[kind];
  if (entries) assertCheckpointThere(hub, ref, kind, entries);
  const fileOptions = { ...options, revision: ref.revision, licence: options.licence };
  const primaryCached = existsSync(join(dir, primary));
  try {
    await downloadFile(ref.repo, repoPath(ref, primary), { ...fileOptions, expectedSize: sizeOf(entries, repoPath(ref, primary)) });
  } catch (error) {
    if (error instanceof HubNotFoundError && error.what === 'file' && !entries) throw layoutError(hub, ref, kind, undefined, error);
    throw error;
  }

  const present = (file: string) => !entries || entries.some((e) => e.type === 'file' && e.path === repoPath(ref, file));
  const small = async (file: string) =>
    present(file) ? downloadFile(ref.repo, repoPath(ref, file), { ...fileOptions, optional: true, expectedSize: sizeOf(entries, repoPath(ref, file)) }) : undefined;
  let large: string[];
  if (kind === 'base') {
    await small('generation_config.json');
    for (const f of TOKENIZER_FILE_NAMES) await small(f);
    const index = await small('model.safetensors.index.json');
    large = index ? await shardsOfIndex(index, ref) : ['model.safetensors'];
  } else {
    large = ['adapter_model.safetensors'];
  }
  if (entries) assertFilesListed(hub, ref, kind, entries, large);

  const files: PlannedFile[] = [];
  let bytesToFetch = 0;
  for (const f of large) {
    const path = repoPath(ref, f);
    const local = join(dir, f);
    if (existsSync(local)) continue;
    const size = sizeOf(entries, path);
    files.push({ path, size });
    const partial = existsSync(`${local}.incomplete`) ? (await stat(`${local}.incomplete`)).size : 0;
    if (size !== undefined) bytesToFetch += Math.max(0, size - partial);
  }
  // The small files may all have come from the cache: ask once more before the large ones, so that a
  // refused token fails now and not after the first gigabytes.
  if (primaryCached && files.length > 0) await checkAccess(hub, ref, files[0]!.path, options.licence);
  return { ref, kind, dir, files, bytesToFetch };
}

/** Downloads what `planCheckpoint` left to fetch; returns the checkpoint's local folder. */
export async function fetchPlanned(plan: PlannedCheckpoint, options: HubOptions = {}): Promise<string> {
  for (const f of plan.files) {
    await downloadFile(plan.ref.repo, f.path, { ...options, revision: plan.ref.revision, ...(f.size !== undefined ? { expectedSize: f.size } : {}) });
  }
  await writeFile(join(plan.dir, COMPLETE_MARKER[plan.kind]), `${JSON.stringify({ ref: plan.ref, complete: true })}\n`);
  return plan.dir;
}

/** Fails now when the disk holding the cache cannot take what the plans still have to download. */
export async function assertCacheSpace(plans: readonly PlannedCheckpoint[], options: HubOptions = {}): Promise<void> {
  const hub = resolveHub(options);
  const bytes = plans.reduce((n, p) => n + p.bytesToFetch, 0);
  if (bytes === 0) return;
  await mkdir(hub.cacheDir, { recursive: true });
  await assertFreeSpace(join(hub.cacheDir, 'x'), bytes, hub.freeBytes ?? freeBytesOnDisk, {
    label: `the download cache ${hub.cacheDir}`,
    advice: 'set AEGIS_GUARD_CACHE (or --cache-dir) to a folder on a larger disk',
  });
}

/** Plans and fetches a base model (config, tokenizer, safetensors shards); returns the local folder. */
export async function downloadBaseModel(checkpoint: string | HubRef, options: HubOptions = {}): Promise<string> {
  const ref = toRef(checkpoint, 'downloadBaseModel', options.revision);
  return fetchPlanned(await planCheckpoint(ref, 'base', options), options);
}

/** Plans and fetches a PEFT adapter (adapter_config.json + adapter_model.safetensors); returns the local folder. */
export async function downloadAdapter(checkpoint: string | HubRef, options: HubOptions = {}): Promise<string> {
  const ref = toRef(checkpoint, 'downloadAdapter', options.revision);
  return fetchPlanned(await planCheckpoint(ref, 'adapter', options), options);
}

const SPELLING = 'owner/name[@revision][:subfolder]';

/**
 * A checkpoint named to the API: a string is read the way --base / --adapter read it (`revision` applies when
 * it names none), so 'owner/name:folder' is a folder of owner/name, never a repo with a colon in its name.
 */
function toRef(checkpoint: string | HubRef, label: string, revision: string | undefined): HubRef {
  if (typeof checkpoint !== 'string') return checkedRef(checkpoint, label);
  if (!isHubRepoId(/^[^@:]*/.exec(checkpoint)![0])) {
    throw new BuildArgumentError(`${label}: ${JSON.stringify(checkpoint)} is not a Hugging Face checkpoint (${SPELLING})`);
  }
  return parseHubRef(checkpoint, label, { revision });
}

/** A HubRef from the caller, checked like a parsed one: an id the Hub accepts, a valid revision, a folder inside the repo. */
function checkedRef(ref: HubRef, label: string): HubRef {
  if (typeof ref !== 'object' || ref === null || typeof ref.repo !== 'string' || !isHubRepoId(ref.repo)) {
    const repo = typeof ref === 'object' && ref !== null ? (ref as { repo?: unknown }).repo : ref;
    throw new BuildArgumentError(`${label}: ${JSON.stringify(repo) ?? String(repo)} is not a Hugging Face repo id (owner/name; a folder goes in subfolder, a revision in revision)`);
  }
  if (typeof ref.revision !== 'string' || (ref.subfolder !== undefined && typeof ref.subfolder !== 'string')) {
    throw new BuildArgumentError(`${label}: ${ref.repo}: revision must be a string (a branch, tag or commit) and subfolder a string ('' for the root)`);
  }
  return parseHubRef(ref.repo, label, { revision: ref.revision, subfolder: ref.subfolder ?? '' });
}

async function cachedComplete(dir: string, kind: CheckpointKind): Promise<boolean> {
  const marker = join(dir, COMPLETE_MARKER[kind]);
  if (!existsSync(marker) || !existsSync(join(dir, PRIMARY_FILE[kind]))) return false;
  if (kind === 'adapter') return existsSync(join(dir, 'adapter_model.safetensors'));
  const index = join(dir, 'model.safetensors.index.json');
  if (!existsSync(index)) return existsSync(join(dir, 'model.safetensors'));
  try {
    return (await shardsOfIndex(index, { repo: dir, revision: '', subfolder: '' })).every((s) => existsSync(join(dir, s)));
  } catch {
    return false;
  }
}

/**
 * The repo's file list, or undefined when the endpoint has no usable tree API (a mirror that serves only
 * resolve URLs): the build then goes on by asking for each file. Missing repos and revisions, refused access
 * and network failures are errors.
 */
async function listOrExplain(hub: ResolvedHub, ref: HubRef): Promise<RepoEntry[] | undefined> {
  try {
    return await listRepoFiles(hub, ref.repo, ref.revision);
  } catch (error) {
    if (error instanceof HubResponseError) {
      hub.progress.log(`could not list the files of ${ref.repo} (${error.message}); asking for each file instead`);
      return undefined;
    }
    if (error instanceof RetryableError) {
      throw new DownloadError(`could not list the files of ${ref.repo}: ${error.message}; check the network and run the command again`, hub.endpoint, undefined, {
        cause: error,
      });
    }
    throw error;
  }
}

function sizeOf(entries: readonly RepoEntry[] | undefined, path: string): number | undefined {
  return entries?.find((e) => e.type === 'file' && e.path === path)?.size;
}

const WHAT: Record<CheckpointKind, string> = { base: 'model checkpoint', adapter: 'PEFT adapter' };

/** The checkpoint must be in the folder the ref names; otherwise say which folders hold one and how to pick. */
function assertCheckpointThere(hub: ResolvedHub, ref: HubRef, kind: CheckpointKind, entries: readonly RepoEntry[]): void {
  const primary = PRIMARY_FILE[kind];
  if (entries.some((e) => e.type === 'file' && e.path === repoPath(ref, primary))) return;
  throw layoutError(hub, ref, kind, entries);
}

function layoutError(hub: ResolvedHub, ref: HubRef, kind: CheckpointKind, entries: readonly RepoEntry[] | undefined, cause?: unknown): HubLayoutError {
  const primary = PRIMARY_FILE[kind];
  const url = hubFileUrl(hub.endpoint, ref.repo, ref.revision, repoPath(ref, primary));
  const where = ref.subfolder ? `in its folder ${ref.subfolder}/` : 'at its root';
  const revision = ref.revision === 'main' ? '' : ` at revision ${ref.revision}`;
  if (!entries) {
    return new HubLayoutError(
      `${ref.repo}${revision} has no ${primary} ${where}, so it is not a ${WHAT[kind]} there (${hub.endpoint} offers no file list to say where one is)`,
      url,
      ref.repo,
      primary,
      ref.subfolder,
      [],
      { cause },
    );
  }
  const candidates = foldersHolding(entries, primary);
  const spec = (folder: string) => formatHubRef({ ...ref, subfolder: folder });
  const folderMissing = ref.subfolder !== '' && !foldersOf(entries).includes(ref.subfolder);
  const head = folderMissing ? `${ref.repo}${revision} has no folder ${ref.subfolder}/` : `${ref.repo}${revision} has no ${primary} ${where}`;
  let tail: string;
  if (candidates.length === 0) {
    const top = [...new Set(entries.map((e) => e.path.split('/')[0]!))].sort((a, b) => a.localeCompare(b));
    tail = `; no folder of the repo holds one, so it is not a ${WHAT[kind]} (it holds ${listed(top)})`;
  } else if (candidates.length === 1) {
    tail = `; ${candidates[0] === '' ? 'its root holds one' : `its folder ${candidates[0]}/ holds one`}: pass ${CHECKPOINT_FLAG[kind]} ${spec(candidates[0]!)}`;
  } else {
    tail = `; ${count(candidates.length, 'folder')} hold one (${listed(candidates.map((c) => (c === '' ? '(root)' : `${c}/`)))}): choose one with ${CHECKPOINT_FLAG[kind]} ${spec(candidates[0]!)} (or ${spec(candidates[1]!)}, ...)`;
  }
  return new HubLayoutError(`${head}${tail}`, url, ref.repo, primary, ref.subfolder, candidates, { cause });
}

function listed(items: readonly string[], max = 8): string {
  return items.length <= max ? items.join(', ') : `${items.slice(0, max).join(', ')} and ${items.length - max} more`;
}

/** Every large file the checkpoint needs must be in the file list: fail before downloading any of them. */
function assertFilesListed(hub: ResolvedHub, ref: HubRef, kind: CheckpointKind, entries: readonly RepoEntry[], files: readonly string[]): void {
  const missing = files.filter((f) => !entries.some((e) => e.type === 'file' && e.path === repoPath(ref, f)));
  if (missing.length === 0) return;
  const folder = ref.subfolder ? `${ref.subfolder}/` : '';
  const inFolder = entries.filter((e) => e.type === 'file' && e.path.startsWith(folder) && !e.path.slice(folder.length).includes('/'));
  const pickle = inFolder.filter((e) => /\.(bin|pth|pt)$/.test(e.path)).map((e) => e.path.slice(folder.length));
  const url = hubFileUrl(hub.endpoint, ref.repo, ref.revision, repoPath(ref, missing[0]!));
  const why =
    pickle.length > 0
      ? `: it has only PyTorch pickle weights (${listed(pickle, 3)}); use a repo or revision with safetensors weights, or convert them first`
      : kind === 'base' && missing[0] !== 'model.safetensors'
        ? ' that model.safetensors.index.json names'
        : '';
  throw new HubNotFoundError(
    `${ref.repo}${folder ? ` (folder ${folder})` : ''} has no ${listed(missing, 3)}${why}`,
    url,
    404,
    'file',
    ref.repo,
  );
}

/** Shard names from a model.safetensors.index.json, each checked to stay inside the checkpoint folder. */
async function shardsOfIndex(indexPath: string, ref: HubRef): Promise<string[]> {
  let map: unknown;
  try {
    map = (JSON.parse(await readFile(indexPath, 'utf8')) as { weight_map?: unknown }).weight_map;
  } catch (error) {
    await rm(indexPath, { force: true });
    throw new HubResponseError(`${ref.repo}: model.safetensors.index.json is not valid JSON (removed from the cache; run again)`, indexPath, undefined, { cause: error });
  }
  if (!map || typeof map !== 'object') throw new HubResponseError(`${ref.repo}: model.safetensors.index.json has no weight_map`, indexPath);
  const shards = [...new Set(Object.values(map as Record<string, unknown>).map(String))].sort();
  for (const s of shards) {
    assertRepoPath(s, ref.repo);
    if (!s.endsWith('.safetensors')) throw new HubResponseError(`${ref.repo}: model.safetensors.index.json names ${JSON.stringify(s)}, not a .safetensors file`, indexPath);
  }
  return shards;
}

/** HEAD on a file's resolve URL (redirects not followed: a 302 to the CDN means access is granted). */
async function checkAccess(hub: ResolvedHub, ref: HubRef, path: string, licence: string | undefined): Promise<void> {
  const url = hubFileUrl(hub.endpoint, ref.repo, ref.revision, path);
  try {
    await withRetries(hub, async () => {
      const { res } = await hubFetch(hub, url, { method: 'HEAD', followRedirects: false });
      if (res.ok || (res.status >= 300 && res.status < 400)) return;
      throw await hubStatusError(hub, res, { repo: ref.repo, revision: ref.revision, path, url }, licence);
    });
  } catch (error) {
    throw error instanceof RetryableError ? new DownloadError(error.message, url, undefined, { cause: error }) : error;
  }
}

