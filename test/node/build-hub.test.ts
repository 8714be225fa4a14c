/**
 * Hugging Face downloads against a local hub stand-in (resolve/main URLs, Range, gated repos, redirects):
 * resume of partial files, automatic resume after a cut connection, HF_TOKEN, 404s, progress, and a full
 * build from hub ids that equals the build from local folders.
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import { buildModel } from '../../src/model-builder/convert.js';
import { DownloadError } from '../../src/model-builder/errors.js';
import { downloadBaseModel, downloadFile, hubFileUrl, repoCacheDir } from '../../src/model-builder/hub.js';
import { createProgress } from '../../src/model-builder/progress.js';
import { startFakeHub, type FakeHub } from '../helpers/build-hf-server.js';
import { writeTinyLlama, writeTinyLora } from '../helpers/build-tiny-llama.js';

let work: string;
let hub: FakeHub;
let cacheDir: string;
const TOKEN = 'hf_test_token';

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'aegis-hub-'));
  const base = await writeTinyLlama(join(work, 'repos/base'), { shards: 2, nameOrPath: 'meta-llama/Tiny-Instruct' });
  await writeTinyLora(join(work, 'repos/adapter'), base, { baseModel: 'meta-llama/Tiny-Instruct' });
  mkdirSync(join(work, 'repos/big'));
  writeFileSync(join(work, 'repos/big/blob.bin'), Buffer.from(Array.from({ length: 300_000 }, (_, i) => (i * 7) & 0xff)));
  hub = await startFakeHub({
    'meta-llama/Tiny-Instruct': { dir: join(work, 'repos/base'), token: TOKEN },
    'nvidia/tiny-guard': { dir: join(work, 'repos/adapter') },
    'test/big': { dir: join(work, 'repos/big') },
  });
});
afterAll(async () => {
  await hub.close();
  rmSync(work, { recursive: true, force: true });
});
beforeEach(() => {
  cacheDir = mkdtempSync(join(work, 'cache-'));
  hub.reset();
});

const opts = () => ({ endpoint: hub.endpoint, cacheDir, token: TOKEN, retries: 2 });
const blob = () => readFileSync(join(work, 'repos/big/blob.bin'));

describe('downloadFile', () => {
  test('fetches <endpoint>/<repo>/resolve/<revision>/<file> into the cache, once', async () => {
    expect(hubFileUrl('https://huggingface.co', 'a/b', 'main', 'x/y z.json')).toBe('https://huggingface.co/a/b/resolve/main/x/y%20z.json');
    const path = await downloadFile('test/big', 'blob.bin', opts());
    expect(path).toBe(join(repoCacheDir(cacheDir, 'test/big', 'main'), 'blob.bin'));
    expect(readFileSync(path!).equals(blob())).toBe(true);
    await downloadFile('test/big', 'blob.bin', opts());
    expect(hub.requests).toHaveLength(1);
    expect(hub.requests[0]!.authorization).toBe(`Bearer ${TOKEN}`);
  });

  test('resumes a partial download with a Range request', async () => {
    const dest = join(repoCacheDir(cacheDir, 'test/big', 'main'), 'blob.bin');
    mkdirSync(join(dest, '..'), { recursive: true });
    writeFileSync(`${dest}.incomplete`, blob().subarray(0, 123_456));
    await downloadFile('test/big', 'blob.bin', opts());
    expect(hub.requests.map((r) => [r.range, r.status])).toEqual([['bytes=123456-', 206]]);
    expect(readFileSync(dest).equals(blob())).toBe(true);
    expect(readdirSync(join(dest, '..'))).toEqual(['blob.bin']);
  });

  test('a connection cut mid-body is resumed automatically from where it stopped', async () => {
    hub.cutAfter('blob.bin', 100_000);
    const path = await downloadFile('test/big', 'blob.bin', opts());
    expect(readFileSync(path!).equals(blob())).toBe(true);
    expect(hub.requests).toHaveLength(2);
    expect(hub.requests[0]!.range).toBeUndefined();
    expect(Number(/bytes=(\d+)-/.exec(hub.requests[1]!.range ?? '')?.[1])).toBeGreaterThan(0);
    expect(hub.requests[1]!.status).toBe(206);
  });

  test('gives up after the retries with a DownloadError that says to run again', async () => {
    hub.cutAfter('blob.bin', 1000, 10);
    const error = await downloadFile('test/big', 'blob.bin', { ...opts(), retries: 1 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DownloadError);
    expect((error as Error).message).toMatch(/failed after 2 attempts.*run the command again to resume/);
    // What arrived is kept for the next run.
    const part = join(repoCacheDir(cacheDir, 'test/big', 'main'), 'blob.bin.incomplete');
    expect(readFileSync(part).length).toBeGreaterThan(0);
  });

  test('a server that ignores Range restarts the file from zero', async () => {
    const dest = join(repoCacheDir(cacheDir, 'test/big', 'main'), 'blob.bin');
    mkdirSync(join(dest, '..'), { recursive: true });
    writeFileSync(`${dest}.incomplete`, Buffer.alloc(5000, 0xee)); // wrong bytes: must not be kept
    hub.ignoreRange = true;
    await downloadFile('test/big', 'blob.bin', opts());
    expect(readFileSync(dest).equals(blob())).toBe(true);
  });

  test('a complete .incomplete file (416) is just renamed', async () => {
    const dest = join(repoCacheDir(cacheDir, 'test/big', 'main'), 'blob.bin');
    mkdirSync(join(dest, '..'), { recursive: true });
    writeFileSync(`${dest}.incomplete`, blob());
    await downloadFile('test/big', 'blob.bin', opts());
    expect(hub.requests.map((r) => r.status)).toEqual([416]);
    expect(readFileSync(dest).equals(blob())).toBe(true);
  });

  test('gated repo: 401 without HF_TOKEN explains what to do', async () => {
    const error = await downloadFile('meta-llama/Tiny-Instruct', 'config.json', { ...opts(), token: undefined }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DownloadError);
    expect((error as DownloadError).status).toBe(401);
    expect((error as Error).message).toMatch(/gated or private.*set HF_TOKEN.*no HF_TOKEN is set/);
    const refused = await downloadFile('meta-llama/Tiny-Instruct', 'config.json', { ...opts(), token: 'hf_wrong' }).catch((e: unknown) => e);
    expect((refused as Error).message).toMatch(/the HF_TOKEN given was refused/);
  });

  test('404: DownloadError for a required file, undefined for an optional one', async () => {
    await expect(downloadFile('test/big', 'nope.bin', opts())).rejects.toThrow(/test\/big has no file nope.bin \(404/);
    expect(await downloadFile('test/big', 'nope.bin', { ...opts(), optional: true })).toBeUndefined();
  });

  test('follows the hub redirect to the CDN and shows progress', async () => {
    hub.redirect = true;
    const lines: string[] = [];
    await downloadFile('test/big', 'blob.bin', { ...opts(), progress: createProgress({ write: (s: string) => lines.push(s), isTTY: false }) });
    expect(hub.requests.map((r) => r.status)).toEqual([302, 200]);
    expect(lines.at(-1)).toMatch(/^download test\/big\/blob.bin \[#+\] 100.0% 300.0 kB\/300.0 kB/);
    expect(lines.length).toBeGreaterThan(1);
  });
});

describe('build-model from Hugging Face ids', () => {
  test('downloads base (index + shards + tokenizer) and adapter, and builds the same bytes as from folders', async () => {
    const dir = await downloadBaseModel('meta-llama/Tiny-Instruct', opts());
    expect(readdirSync(dir).sort()).toEqual(
      [
        'config.json', 'generation_config.json', 'model-00001-of-00002.safetensors', 'model-00002-of-00002.safetensors',
        'model.safetensors.index.json', 'tokenizer.json', 'tokenizer_config.json',
      ].sort(),
    );
    const fromHub = join(work, 'out-hub');
    await buildModel({ base: 'meta-llama/Tiny-Instruct', adapter: 'nvidia/tiny-guard', quantization: 'q4f16_1', out: fromHub, hub: opts() });
    const fromDirs = join(work, 'out-dirs');
    await buildModel({ base: join(work, 'repos/base'), adapter: join(work, 'repos/adapter'), quantization: 'q4f16_1', out: fromDirs });
    for (const f of readdirSync(fromDirs)) expect(readFileSync(join(fromHub, f)).equals(readFileSync(join(fromDirs, f))), f).toBe(true);
  });

  test('a failed download leaves no output folder', async () => {
    const out = join(work, 'out-denied');
    await expect(buildModel({ base: 'meta-llama/Tiny-Instruct', quantization: 'q4f16_1', out, hub: { ...opts(), token: undefined } })).rejects.toBeInstanceOf(
      DownloadError,
    );
    expect(readdirSync(work).filter((f) => f.startsWith('out-denied'))).toEqual([]);
  });
});
