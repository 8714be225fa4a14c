/**
 * The --base / --adapter arguments: a local folder, or a Hugging Face checkpoint
 * `<owner>/<name>[@<revision>][:<subfolder>]` that is downloaded first. All of them are parsed, located and
 * access-checked (`prepareSources`) before the first large file is fetched (`fetch()`), so a wrong folder,
 * a licence not accepted or a full disk is reported in seconds rather than after 16 GB.
 */
import { existsSync, statSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { MissingFileError } from './errors.js';
import { resolveHub, type HubOptions } from './hub.js';
import { assertCacheSpace, CHECKPOINT_FLAG, fetchPlanned, planCheckpoint, type CheckpointKind, type PlannedCheckpoint } from './hub-checkpoint.js';
import { formatHubRef, normalizeSubfolder, parseHubRef, type HubRef } from './hub-ref.js';
import { count } from './plural.js';
import { formatBytes } from './progress.js';

export interface SourceSpec {
  /** A local folder or `<owner>/<name>[@<revision>][:<subfolder>]`. */
  spec: string;
  kind: CheckpointKind;
  /** A folder inside the repo (or inside the local folder), from --base-subfolder / --adapter-subfolder. */
  subfolder?: string | undefined;
  /** Licence name shown when the repo is gated (a manifest knows it). */
  licence?: string | undefined;
  /**
   * Where a manifest says this repo keeps the checkpoint: when `spec` names that repo, its folder and revision
   * apply unless the spec, `subfolder` or the hub options' revision say otherwise.
   */
  known?: HubRef | undefined;
  /**
   * Runs as soon as this source's small files are local, before the next source is looked at: a base whose
   * config.json is wrong fails before the adapter's repo is even listed.
   */
  check?: ((source: ResolvedSource) => Promise<void> | void) | undefined;
}

export interface ResolvedSource {
  /** Local folder of the checkpoint (its cache folder for a Hub source). */
  dir: string;
  /** The repo id when the source is on the Hub. */
  hubId: string | undefined;
  ref: HubRef | undefined;
  /** How to name this source again on the command line (the canonical Hub spelling, or the folder). */
  spec: string;
}

export interface PreparedSources {
  /** In the order given. The small files (config.json, adapter_config.json, tokenizer, index) are already local. */
  sources: ResolvedSource[];
  /** Downloads the large files of every Hub source. */
  fetch(): Promise<void>;
}

export async function prepareSources(specs: readonly SourceSpec[], hubOptions: HubOptions): Promise<PreparedSources> {
  const hub = resolveHub(hubOptions);
  // Every argument is checked before any network request.
  const parsed = specs.map((s) => parseSource(s, hubOptions.revision));
  const plans: PlannedCheckpoint[] = [];
  const sources: ResolvedSource[] = [];
  for (const [i, p] of parsed.entries()) {
    const spec = specs[i]!;
    let dir = p.dir;
    if (p.ref) {
      if (p.usedKnown) hub.progress.log(`${p.ref.repo}: using ${p.usedKnown} (where the manifest says the ${spec.kind} is)`);
      const plan = await planCheckpoint(p.ref, spec.kind, { ...hubOptions, licence: spec.licence });
      plans.push(plan);
      dir = plan.dir;
    }
    const source = { dir: dir!, hubId: p.ref?.repo, ref: p.ref, spec: p.ref ? formatHubRef(p.ref) : dir! };
    await spec.check?.(source);
    sources.push(source);
  }
  await assertCacheSpace(plans, hubOptions);
  // Smallest first: the adapter's few hundred MB before the base's gigabytes.
  const order = [...plans].sort((a, b) => a.bytesToFetch - b.bytesToFetch);
  let fetched: Promise<void> | undefined;
  return {
    sources,
    fetch: () =>
      (fetched ??= (async () => {
        const files = order.reduce((n, p) => n + p.files.length, 0);
        const bytes = order.reduce((n, p) => n + p.bytesToFetch, 0);
        if (files > 0) hub.progress.log(`downloading ${count(files, 'file')}${bytes > 0 ? ` (${formatBytes(bytes)})` : ''} into ${hub.cacheDir}`);
        for (const plan of order) await fetchPlanned(plan, hubOptions);
      })()),
  };
}

/**
 * A local folder, or the Hub checkpoint the spec names. `revision` is the revision asked for explicitly
 * (--revision), which wins over a manifest's; `usedKnown` says what the manifest supplied, for the log.
 */
function parseSource(s: SourceSpec, revision: string | undefined): { dir?: string; ref?: HubRef; usedKnown?: string } {
  const flag = CHECKPOINT_FLAG[s.kind];
  if (existsSync(s.spec)) {
    const dir = join(resolve(s.spec), normalizeSubfolder(s.subfolder ?? '', `${flag}-subfolder`));
    if (!existsSync(dir)) throw new MissingFileError(`${s.kind} folder ${dir} does not exist`, [dir]);
    if (!statSync(dir).isDirectory()) throw new MissingFileError(`${s.kind} ${dir} is a file; give the folder that holds it`, [dir]);
    return { dir };
  }
  if (isAbsolute(s.spec) || /^\.{1,2}([/\\]|$)|^~/.test(s.spec)) {
    throw new MissingFileError(`${s.kind} folder ${s.spec} does not exist`, [s.spec]);
  }
  const ref = parseHubRef(s.spec, flag, { revision, subfolder: s.subfolder });
  const known = s.known && s.known.repo.toLowerCase() === ref.repo.toLowerCase() ? s.known : undefined;
  if (!known) return { ref };
  // Neither '@' nor ':' can occur in a repo id: their presence means the spec names a revision / folder.
  const ownFolder = s.spec.includes(':') || s.subfolder !== undefined;
  const ownRevision = s.spec.includes('@') || revision !== undefined;
  const used = {
    ...ref,
    subfolder: ownFolder ? ref.subfolder : known.subfolder,
    revision: ownRevision ? ref.revision : known.revision,
  };
  const supplied = [
    !ownFolder && known.subfolder !== '' ? `its folder ${known.subfolder}/` : '',
    !ownRevision && known.revision !== 'main' ? `revision ${known.revision}` : '',
  ].filter(Boolean);
  return { ref: used, ...(supplied.length > 0 ? { usedKnown: supplied.join(' at ') } : {}) };
}
