/**
 * A throwaway package laid out the way npm installs aegis-guard, for tests that run bin/aegis-guard.js as
 * `npx aegis-guard` does: part of src/ compiled with the repository's build config (tsconfig.build.json, so a
 * setting there that breaks the shipped CLI fails the test), the bin copied, and a package.json (version 9.9.9).
 */
import { execFile } from 'node:child_process';
import { copyFileSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface ShippedBinOptions {
  /** What to compile, relative to the repository root: only what the commands under test need, so other folders cannot break the test. */
  include: string[];
  /** Link the repository's node_modules into the package, for a CLI with runtime dependencies. */
  linkNodeModules?: boolean;
}

/** Builds the package in `pkg` and returns the path of its bin/aegis-guard.js. */
export async function shippedBin(pkg: string, options: ShippedBinOptions): Promise<string> {
  const root = process.cwd();
  mkdirSync(join(pkg, 'bin'), { recursive: true });
  const config = join(pkg, 'tsconfig.json');
  writeFileSync(
    config,
    JSON.stringify({
      extends: join(root, 'tsconfig.build.json'),
      compilerOptions: {
        rootDir: join(root, 'src'),
        outDir: join(pkg, 'dist'),
        typeRoots: [join(root, 'node_modules/@types'), join(root, 'node_modules')],
        declaration: false,
        declarationMap: false,
        sourceMap: false,
        inlineSources: false,
      },
      include: options.include.map((path) => join(root, path)),
      exclude: [],
    }),
  );
  await run(process.execPath, ['node_modules/typescript/bin/tsc', '-p', config]);
  copyFileSync('bin/aegis-guard.js', join(pkg, 'bin/aegis-guard.js'));
  writeFileSync(join(pkg, 'package.json'), JSON.stringify({ name: 'aegis-guard', version: '9.9.9', type: 'module' }));
  if (options.linkNodeModules) symlinkSync(join(root, 'node_modules'), join(pkg, 'node_modules'), 'dir');
  return join(pkg, 'bin/aegis-guard.js');
}
