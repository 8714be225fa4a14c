/**
 * The local counterpart of the Hub's layout message: a downloaded repo (e.g. `hf download nvidia/...`) keeps
 * the checkpoint in a subfolder, so when a folder lacks config.json / adapter_config.json, say which of its
 * subfolders hold one.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';

const MAX_DEPTH = 3;
const MAX_ENTRIES = 5000;

/** Subfolders of `dir` (relative, '/'-separated, shallowest first) that contain `file`. */
export function localFoldersHolding(dir: string, file: string): string[] {
  const found: string[] = [];
  let seen = 0;
  const walk = (rel: string, depth: number) => {
    if (depth > MAX_DEPTH || seen > MAX_ENTRIES) return;
    let entries;
    try {
      entries = readdirSync(join(dir, rel), { withFileTypes: true });
    } catch {
      return;
    }
    seen += entries.length;
    if (rel && entries.some((e) => e.isFile() && e.name === file)) found.push(rel);
    for (const e of entries) if (e.isDirectory() && !e.name.startsWith('.')) walk(rel ? `${rel}/${e.name}` : e.name, depth + 1);
  };
  walk('', 0);
  return found.sort((a, b) => a.split('/').length - b.split('/').length || a.localeCompare(b));
}

/** "; its folder x/ holds one: pass --adapter <dir>/x" (or the choice among several), or '' when none does. */
export function localHint(dir: string, file: string, flag: string): string {
  const folders = localFoldersHolding(dir, file);
  if (folders.length === 0) return '';
  if (folders.length === 1) return `; its folder ${folders[0]}/ holds one: pass ${flag} ${join(dir, folders[0]!)}`;
  const shown = folders.slice(0, 5).map((f) => `${f}/`).join(', ');
  return `; ${folders.length} of its folders hold one (${shown}${folders.length > 5 ? ', ...' : ''}): choose one, e.g. ${flag} ${join(dir, folders[0]!)}`;
}
