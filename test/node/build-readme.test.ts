/**
 * The build command the README documents, run word for word (read from README.md, so the two cannot drift)
 * against a local server that reproduces the Hub: NVIDIA's repo with only README.md and .gitattributes at
 * its root and the adapter in a subfolder, a gated meta-llama base (401 without a token, 403 with one that
 * has not accepted the licence), the paginated tree API and LFS redirects to a CDN. A tiny synthetic Llama
 * stands in for the 8B weights. The only substitution is the token placeholder `hf_...`.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import { buildModel } from '../../src/model-builder/convert.js';
import { startFakeHub, type FakeHub } from '../helpers/build-hf-server.js';
import { ACCEPTED_TOKEN, ADAPTER_FOLDER, ADAPTER_ID, BASE_ID, NOT_ACCEPTED_TOKEN, writeRealLayout } from '../helpers/build-hub-layout.js';

const ROOT = process.cwd();
const TOKEN_PLACEHOLDER = 'hf_...';

interface ShellCommand {
  env: Record<string, string>;
  /** The words after `npx aegis-guard`. */
  args: string[];
}

/** The first `npx aegis-guard build-model` command of the README's "Building the model" section. */
export function readmeBuildCommand(readme: string): ShellCommand {
  const section = /^## Building the model\n([\s\S]*?)(?=^## )/m.exec(readme)?.[1];
  if (!section) throw new Error('README.md has no "## Building the model" section');
  const block = /```sh\n([\s\S]*?)```/.exec(section)?.[1];
  if (!block) throw new Error('the build section has no ```sh block');
  const lines = block.replace(/\\\n/g, ' ').split('\n');
  const line = lines.find((l) => /(^|\s)npx aegis-guard build-model(\s|$)/.test(l));
  if (!line) throw new Error('the ```sh block has no npx aegis-guard build-model command');
  // This parser splits on blanks only: refuse what a shell would treat differently.
  if (/["'`$;&|<>*?#]/.test(line)) throw new Error(`the README command needs a real shell parser: ${line}`);
  const words = line.trim().split(/\s+/);
  const env: Record<string, string> = {};
  while (/^[A-Z_][A-Z0-9_]*=/.test(words[0]!)) {
    const [name, ...value] = words.shift()!.split('=');
    env[name!] = value.join('=');
  }
  if (words.shift() !== 'npx' || words.shift() !== 'aegis-guard') throw new Error(`not an npx aegis-guard command: ${line}`);
  return { env, args: words };
}

let work: string;
let hub: FakeHub;
let layout: Awaited<ReturnType<typeof writeRealLayout>>;
let command: ShellCommand;

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'aegis-readme-'));
  layout = await writeRealLayout(join(work, 'hub'));
  hub = await startFakeHub(layout.repos, { pageSize: 4, tokens: [NOT_ACCEPTED_TOKEN] });
  command = readmeBuildCommand(readFileSync(join(ROOT, 'README.md'), 'utf8'));
});
afterAll(async () => {
  await hub.close();
  rmSync(work, { recursive: true, force: true });
});
beforeEach(() => hub.reset());

/**
 * Runs `aegis-guard <args>` the way `npx aegis-guard` does (the same `main()`, from the TypeScript sources)
 * in a fresh folder, with HF_ENDPOINT at the local Hub and a fresh download cache.
 */
function aegisGuard(args: string[], env: Record<string, string | undefined>) {
  const cwd = mkdtempSync(join(work, 'project-'));
  const childEnv: Record<string, string | undefined> = { ...process.env, HF_TOKEN: undefined, HUGGING_FACE_HUB_TOKEN: undefined, ...env };
  childEnv.HF_ENDPOINT = hub.endpoint;
  childEnv.AEGIS_GUARD_CACHE = join(cwd, '.hub-cache');
  for (const k of Object.keys(childEnv)) if (childEnv[k] === undefined) delete childEnv[k];
  const loader = pathToFileURL(join(ROOT, 'node_modules/tsx/dist/loader.mjs')).href;
  return new Promise<{ code: number; stdout: string; stderr: string; cwd: string }>((resolve) => {
    execFile(
      process.execPath,
      ['--import', loader, join(ROOT, 'src/model-builder/cli.ts'), ...args],
      { cwd, env: childEnv as NodeJS.ProcessEnv, timeout: 120_000 },
      (error, stdout, stderr) => resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout, stderr, cwd }),
    );
  });
}

const withToken = (token: string | undefined) => ({ ...command.env, HF_TOKEN: token });
const large = () => hub.downloads().filter((d) => d.endsWith('.safetensors') || d.endsWith('.pth'));

describe("the README's build command against the Hub's real layout", () => {
  test('is the documented AegisGuard 2.0 command, with the token as its only placeholder', () => {
    expect(command.env).toEqual({ HF_TOKEN: TOKEN_PLACEHOLDER });
    expect(command.args.slice(0, 1)).toEqual(['build-model']);
    expect(command.args).toContain(BASE_ID);
    expect(command.args.some((a) => a.startsWith(ADAPTER_ID))).toBe(true);
  });

  test('word for word, it builds the same model as the local folders give', { timeout: 180_000 }, async () => {
    const run = await aegisGuard(command.args, withToken(ACCEPTED_TOKEN));
    expect(run.stderr.split('\n').filter((l) => /^aegis-guard:/.test(l))).toEqual([]);
    expect(run.code).toBe(0);
    const out = command.args[command.args.indexOf('--out') + 1]!;
    const quantization = command.args[command.args.indexOf('--quantization') + 1]!;
    expect(run.stdout).toMatch(new RegExp(`^Built ${out} \\(${quantization}\\): 25 tensors in 1 shard, `));
    // The adapter came from its subfolder; Meta's original/ checkpoint and the READMEs were not downloaded.
    expect(large().sort()).toEqual(
      [`${ADAPTER_ID}/${ADAPTER_FOLDER}/adapter_model.safetensors`, `${BASE_ID}/model-00001-of-00002.safetensors`, `${BASE_ID}/model-00002-of-00002.safetensors`].sort(),
    );
    expect(hub.downloads().filter((d) => /original\/|README|LICENSE/.test(d))).toEqual([]);
    // The file lists were read page by page (4 entries a page).
    expect(hub.requests.filter((r) => r.path.startsWith(`/api/models/${BASE_ID}/tree/`) && r.url.includes('cursor=')).length).toBeGreaterThan(1);

    const reference = join(work, 'reference');
    await buildModel({ base: layout.base.dir, adapter: layout.adapterDir, quantization, out: reference });
    const built = join(run.cwd, out);
    expect(readdirSync(built).sort()).toEqual(readdirSync(reference).sort());
    for (const f of readdirSync(reference)) expect(readFileSync(join(built, f)).equals(readFileSync(join(reference, f))), f).toBe(true);

    // The check it prints runs as printed.
    const check = /^Check it with: aegis-guard (.*)$/m.exec(run.stdout)?.[1];
    expect(check).toBe(`verify-model ${out} --base ${BASE_ID} --adapter ${ADAPTER_ID}:${ADAPTER_FOLDER}`);
    const verify = await aegisGuard([...check!.split(' ').map((w) => (w === out ? built : w)), '--quiet'], withToken(ACCEPTED_TOKEN));
    expect(verify.stdout).toMatch(/25 tensors in 1 shard.*\n.*sampled \d+ rows: max abs error .*\nOK\n$/);
    expect(verify.code).toBe(0);
  });

  test('without HF_TOKEN it names the licence page and HF_TOKEN, before anything large downloads', { timeout: 120_000 }, async () => {
    const run = await aegisGuard(command.args, withToken(undefined));
    expect(run.code).toBe(1);
    expect(run.stderr.trim().split('\n').at(-1)).toBe(
      `aegis-guard: ${BASE_ID} is gated: accept its licence (llama3.1) at ${hub.endpoint}/${BASE_ID} (logged in to the Hub), ` +
        `then set HF_TOKEN to a read token of that account (create one at ${hub.endpoint}/settings/tokens); no HF_TOKEN is set`,
    );
    expect(large()).toEqual([]);
    expect(hub.requests.filter((r) => r.server === 'cdn')).toEqual([]);
    expect(existsSync(join(run.cwd, 'public'))).toBe(false);
  });

  test('with a token whose account has not accepted the licence it says so (403)', { timeout: 120_000 }, async () => {
    const run = await aegisGuard(command.args, withToken(NOT_ACCEPTED_TOKEN));
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(new RegExp(`aegis-guard: the account of HF_TOKEN has no access to the gated ${BASE_ID} yet: accept its licence \\(llama3.1\\) at ${hub.endpoint}/${BASE_ID}`));
    expect(large()).toEqual([]);
  });

  test('the command as it was documented before (no adapter folder) says which folder to pass', { timeout: 120_000 }, async () => {
    const args = command.args.map((a) => (a.startsWith(`${ADAPTER_ID}:`) ? ADAPTER_ID : a));
    expect(args).toContain(ADAPTER_ID);
    const run = await aegisGuard(args, withToken(ACCEPTED_TOKEN));
    expect(run.code).toBe(1);
    expect(run.stderr.trim().split('\n').at(-1)).toBe(
      `aegis-guard: ${ADAPTER_ID} has no adapter_config.json at its root; its folder ${ADAPTER_FOLDER}/ holds one: pass --adapter ${ADAPTER_ID}:${ADAPTER_FOLDER}`,
    );
    expect(large()).toEqual([]);
  });
});
