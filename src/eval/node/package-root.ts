/** The installed package's root and which of its trees (src in a checkout, dist when installed) runs. */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));

/** The folder holding package.json (three levels above src/eval/node or dist/eval/node). */
export const PACKAGE_ROOT = join(here, '..', '..', '..');

/** 'src' when running from a source checkout (tsx), 'dist' when compiled. */
export const CODE_TREE = relative(PACKAGE_ROOT, here).split(sep)[0]!;

export function packageVersion(): string {
  const file = join(PACKAGE_ROOT, 'package.json');
  if (!existsSync(file)) return 'unknown';
  return (JSON.parse(readFileSync(file, 'utf8')) as { version?: string }).version ?? 'unknown';
}
