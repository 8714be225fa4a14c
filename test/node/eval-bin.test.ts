/**
 * `npx aegis-guard eval` as shipped: the build config compiles the evaluation CLI and bin/aegis-guard.js
 * dispatches `eval` to it (other commands still go to the model builder, see build-cli.test.ts).
 */
import { execFile } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { expect, test } from 'vitest';
import { shippedBin } from '../helpers/shipped-bin.js';

const run = promisify(execFile);

test('bin/aegis-guard.js eval runs the compiled evaluation CLI', { timeout: 240_000 }, async () => {
  const pkg = mkdtempSync(join(tmpdir(), 'aegis-eval-bin-'));
  // Its dependencies (hyparquet, ...) linked, as an installed package finds them.
  const bin = await shippedBin(pkg, { include: ['src/eval/node/cli.ts'], linkNodeModules: true });

  const help = await run(process.execPath, [bin, 'eval', '--help']);
  expect(help.stdout).toMatch(/^Usage: aegis-guard eval --model <folder URL or path>/);
  expect(help.stdout).toMatch(/--compare-json/);

  const noModel = await run(process.execPath, [bin, 'eval'], { cwd: pkg }).catch((e: { code: number; stderr: string }) => e);
  expect((noModel as { code: number }).code).toBe(3);
  expect((noModel as { stderr: string }).stderr).toMatch(/^aegis-guard eval: No model given/);
});
