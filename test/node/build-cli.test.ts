/**
 * The aegis-guard CLI: help, argument errors (one line, exit status 1), build-model and verify-model runs,
 * and the shipped bin (compiled with tsconfig.build.json) working the way `npx aegis-guard` runs it.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { main } from '../../src/model-builder/cli.js';
import { parseArgs } from '../../src/model-builder/cli-args.js';
import { writeTinyLlama, writeTinyLora, type TinyLlama, type TinyLora } from '../helpers/build-tiny-llama.js';
import { shippedBin } from '../helpers/shipped-bin.js';

const run = promisify(execFile);

let work: string;
let base: TinyLlama;
let lora: TinyLora;
beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'aegis-cli-'));
  base = await writeTinyLlama(join(work, 'base'));
  lora = await writeTinyLora(join(work, 'lora'), base);
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

async function cli(...argv: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(argv, { stdout: { write: (s: string) => out.push(s) }, stderr: { write: (s: string) => err.push(s), isTTY: false } });
  return { code, stdout: out.join(''), stderr: err.join('') };
}

describe('arguments and help', () => {
  test('--help documents the commands; no command prints usage and fails', async () => {
    const help = await cli('--help');
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/build-model/);
    expect(help.stdout).toMatch(/verify-model/);
    expect((await cli()).code).toBe(1);
  });

  test('build-model --help lists every option and the environment', async () => {
    const { code, stdout } = await cli('build-model', '--help');
    expect(code).toBe(0);
    for (const o of ['--base', '--adapter', '--base-subfolder', '--adapter-subfolder', '--quantization', '--out', '--force', '--model', '--context-window', '--cache-dir', '--json', 'HF_TOKEN', 'owner/name[@revision][:folder]']) expect(stdout).toContain(o);
    expect((await cli('verify-model', '--help')).stdout).toContain('--model-lib');
  });

  test.each([
    [['build-model', '--quantisation', 'q4f16_1'], /^aegis-guard: unknown option --quantisation \(did you mean --quantization\?\)\n$/],
    [['build-model', '--base', 'x'], /^aegis-guard: build-model needs --quantization, --out \(see --help\)\n$/],
    [['build-model', '--base'], /^aegis-guard: --base needs a value/],
    [['build-model', '--force=yes'], /^aegis-guard: --force takes no value/],
    [['build-model', '--out', 'a', '--out', 'b'], /^aegis-guard: --out is given twice/],
    [['frobnicate'], /^aegis-guard: unknown command "frobnicate"/],
    [['verify-model'], /^aegis-guard: verify-model needs exactly one model folder/],
    [['verify-model', 'x', '--samples', '-3'], /^aegis-guard: --samples needs a value|must be a positive integer/],
    [['build-model', '--base', 'a/b', '--adapter-subfolder', 'x', '--quantization', 'q4f16_1', '--out', 'o'], /^aegis-guard: --adapter-subfolder needs --adapter/],
    [['build-model', '--base', 'a/b:', '--quantization', 'q4f16_1', '--out', 'o'], /^aegis-guard: --base a\/b:: the subfolder after ':' is empty/],
    [['build-model', '--base', 'a/b:../x', '--quantization', 'q4f16_1', '--out', 'o'], /^aegis-guard: --base subfolder "..\/x" may not contain '.' or '..'\n$/],
    [['build-model', '--base', 'a/b:x', '--base-subfolder', 'y', '--quantization', 'q4f16_1', '--out', 'o'], /names a subfolder and --base-subfolder gives another; give it once/],
    [['build-model', '--base', 'a/b@:x', '--quantization', 'q4f16_1', '--out', 'o'], /"" is not a valid revision/],
    [
      ['build-model', '--base', 'a/b', '--adapter', 'https://huggingface.co/nvidia/guard/tree/main/lora', '--quantization', 'q4f16_1', '--out', 'o'],
      /is neither a folder nor a Hugging Face id .*; for that page pass nvidia\/guard:lora\n$/,
    ],
    [
      ['build-model', '--base', 'nvidia/guard/lora', '--quantization', 'q4f16_1', '--out', 'o'],
      /for a folder inside a Hub repo write nvidia\/guard:lora \(no such local folder exists\)\n$/,
    ],
    [['verify-model', '/nonexistent/model'], /^aegis-guard: model folder \/nonexistent\/model does not exist\n$/],
    [['verify-model', 'package.json'], /^aegis-guard: package.json is a file, not a model folder/],
  ])('%j -> exit 1 with one line', async (argv, message) => {
    const r = await cli(...argv);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(message);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
  });

  test('the parser takes --name=value and positionals', () => {
    const specs = [{ name: 'out', type: 'string' as const, help: '' }, { name: 'force', type: 'boolean' as const, help: '' }];
    expect(parseArgs(['x', '--out=a b', '--force', '--', '--y'], specs)).toEqual({ options: { out: 'a b', force: true }, positionals: ['x', '--y'] });
  });
});

describe('commands', () => {
  test('build-model --json, then verify-model against the sources', async () => {
    const out = join(work, 'out');
    const built = await cli('build-model', '--base', base.dir, '--adapter', lora.dir, '--quantization', 'q4f16_1', '--out', out, '--json', '--skip-base-check');
    expect(built.stderr).toMatch(/convert q4f16_1 \[#+\] 100.0%/);
    expect(built.code).toBe(0);
    const summary = JSON.parse(built.stdout);
    expect(summary).toMatchObject({ quantization: 'q4f16_1', params: 25, shards: 1 });
    expect(summary.inputMBps).toBeGreaterThan(0);
    expect(summary.peakRssBytes).toBeGreaterThan(0);
    const verified = await cli('verify-model', out, '--base', base.dir, '--adapter', lora.dir, '--skip-base-check', '--quiet');
    expect(verified.code).toBe(0);
    expect(verified.stdout).toMatch(/q4f16_1, 25 tensors in 1 shard, /);
    expect(verified.stdout).toMatch(/max abs error \d\.\d+e-\d+ \(0\.\d+ quantization steps\)\nOK\n$/);
  });

  test('a failing build prints one line and leaves nothing; --quiet prints no progress', async () => {
    const out = join(work, 'out-fail');
    const r = await cli('build-model', '--base', base.dir, '--adapter', join(work, 'nope'), '--quantization', 'q4f16_1', '--out', out, '--quiet');
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`aegis-guard: adapter folder ${join(work, 'nope')} does not exist\n`);
    expect(existsSync(out)).toBe(false);
  });

  test('an adapter kept in a subfolder of a local folder: the error names it, --adapter-subfolder takes it', async () => {
    const repo = join(work, 'downloaded-repo');
    await writeTinyLora(join(repo, 'the-adapter'), base);
    writeFileSync(join(repo, 'README.md'), '# adapter\n');
    const r = await cli('build-model', '--base', base.dir, '--adapter', repo, '--quantization', 'q4f16_1', '--out', join(work, 'o-sub'), '--quiet');
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`aegis-guard: adapter folder ${repo} lacks adapter_config.json; its folder the-adapter/ holds one: pass --adapter ${join(repo, 'the-adapter')}\n`);
    const ok = await cli('build-model', '--base', base.dir, '--adapter', repo, '--adapter-subfolder', 'the-adapter', '--quantization', 'q4f16_1', '--out', join(work, 'o-sub'), '--quiet', '--skip-base-check');
    expect(ok.stderr).toBe('');
    expect(ok.stdout).toContain(`--adapter ${join(repo, 'the-adapter')}\n`);
  });

  test('verify-model on a damaged model exits 1 and lists the problems', async () => {
    const out = join(work, 'out-damaged');
    expect((await cli('build-model', '--base', base.dir, '--quantization', 'q4f32_1', '--out', out, '--quiet')).code).toBe(0);
    writeFileSync(join(out, 'params_shard_0.bin'), 'short');
    const r = await cli('verify-model', out);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/problem: shard params_shard_0.bin has 5 bytes/);
    expect(r.stderr).toMatch(/^aegis-guard: .* failed verification: 1 problem, first: shard params_shard_0.bin has 5 bytes/);
  });

  test('--model aegis-guard-2.0 enforces the manifest architecture', async () => {
    const r = await cli('build-model', '--model', 'aegis-guard-2.0', '--base', base.dir, '--quantization', 'q4f16_1', '--out', join(work, 'o-m'));
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/is not meta-llama\/Llama-3.1-8B-Instruct's architecture: hiddenSize 64 \(manifest: 4096\)/);
  });
});

describe('the shipped bin (what npx aegis-guard runs)', () => {
  test('the build config (tsconfig.build.json) compiles the CLI and bin/aegis-guard.js runs it', { timeout: 180_000 }, async () => {
    // The repository's build config (npm run build), limited to the builder.
    const bin = await shippedBin(join(work, 'pkg'), { include: ['src/model-builder'] });
    expect((await run(process.execPath, [bin, '--version'])).stdout).toBe('9.9.9\n');
    const out = join(work, 'out-bin');
    const { stdout } = await run(process.execPath, [bin, 'build-model', '--base', base.dir, '--quantization', 'q4f32_1', '--out', out, '--quiet']);
    expect(stdout).toMatch(/^Built .* \(q4f32_1\): 25 tensors in 1 shard, /);
    expect(readFileSync(join(out, 'mlc-chat-config.json'), 'utf8')).toContain('"sliding_window_size": -1');
    const failed = await run(process.execPath, [bin, 'build-model', '--bogus']).catch((e: { code: number; stderr: string }) => e);
    expect((failed as { code: number }).code).toBe(1);
    expect((failed as { stderr: string }).stderr).toBe('aegis-guard: unknown option --bogus\n');
  });
});
