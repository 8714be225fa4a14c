/** Consumer projects for the package tests: a folder that has this project's dependencies installed. */
import { mkdirSync, readdirSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const NODE_MODULES = fileURLToPath(new URL('../../node_modules', import.meta.url));

/** Links every package installed here (not aegis-guard itself) into `dir`/node_modules. */
export function linkDependencies(dir: string): void {
  mkdirSync(join(dir, 'node_modules'), { recursive: true });
  for (const name of readdirSync(NODE_MODULES)) {
    if (name.startsWith('.') || name === 'aegis-guard') continue;
    symlinkSync(join(NODE_MODULES, name), join(dir, 'node_modules', name), 'junction');
  }
}
