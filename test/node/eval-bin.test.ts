/**
 * `npx aegis-guard eval` as shipped: the build config compiles the evaluation CLI and bin/aegis-guard.js
 * dispatches `eval` to it (other commands still go to the model builder, see build-cli.test.ts).
 */
import { execFile } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { expect, test } from 'vitest';

const run = promisify(execFile);

test('bin/aegis-guard.js eval runs the compiled evaluation CLI', { timeout: 240_000 }, async () => {
  const pkg = mkdtempSync(join(tmpdir(), 'aegis-eval-bin-'));
  mkdirSync(join(pkg, 'bin'));
  const config = join(pkg, 'tsconfig.json');
  writeFileSync(
    config,
    JSON.stringify({
      extends: join(process.cwd(), 'tsconfig.build.json'),
      compilerOptions: {
        rootDir: join(process.cwd(), 'src'),
        outDir: join(pkg, 'dist'),
        typeRoots: [join(process.cwd(), 'node_modules/@types'), join(process.cwd(), 'node_modules')],
        declaration: false,
        declarationMap: false,
        sourceMap: false,
        inlineSources: false,
      },
      include: [join(process.cwd(), 'src/eval/node/cli.ts')],
      exclude: [],
    }),
  );
  await run(process.execPath, ['node_modules/typescript/bin/tsc', '-p', config]);
  copyFileSync('bin/aegis-guard.js', join(pkg, 'bin/aegis-guard.js'));
  writeFileSync(join(pkg, 'package.json'), JSON.stringify({ name: 'aegis-guard', version: '9.9.9', type: 'module' }));
  // Its dependencies (hyparquet, ...) as an installed package finds them.
  symlinkSync(join(process.cwd(), 'node_modules'), join(pkg, 'node_modules'), 'dir');
  const bin = join(pkg, 'bin/aegis-guard.js');

  const help = await run(process.execPath, [bin, 'eval', '--help']);
  expect(help.stdout).toMatch(/^Usage: aegis-guard eval --model <folder URL or path>/);
  expect(help.stdout).toMatch(/--compare-json/);

  const noModel = await run(process.execPath, [bin, 'eval'], { cwd: pkg }).catch((e: { code: number; stderr: string }) => e);
  expect((noModel as { code: number }).code).toBe(3);
  expect((noModel as { stderr: string }).stderr).toMatch(/^aegis-guard eval: No model given/);
});
