/**
 * Hugging Face downloads against a local Hub stand-in shaped like the real one (resolve URLs, LFS files behind
 * a 302 to a CDN on another origin, Range, X-Error-Code answers): resume of partial files, automatic resume
 * after a cut connection, HF_TOKEN handling, every kind of bad answer as a typed error, and a full build
 * from hub ids that equals the build from local folders.
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import { buildModel } from '../../src/model-builder/convert.js';
import { BuildArgumentError, DownloadError, HubAccessError, HubNotFoundError, HubResponseError } from '../../src/model-builder/errors.js';
import { downloadBaseModel } from '../../src/model-builder/hub-checkpoint.js';
import { downloadFile, hubFileUrl, repoCacheDir } from '../../src/model-builder/hub.js';
import { createProgress } from '../../src/model-builder/progress.js';
import { downloadProbe, startFakeHub, type FakeHub } from '../helpers/build-hf-server.js';
import { writeTinyLlama, writeTinyLora } from '../helpers/build-tiny-llama.js';

let work: string;
let hub: FakeHub;
let cacheDir: string;
const TOKEN = 'hf_test_token';
const OTHER = 'hf_not_accepted';

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'aegis-hub-'));
  const base = await writeTinyLlama(join(work, 'repos/base'), { shards: 2, nameOrPath: 'meta-llama/Tiny-Instruct' });
  await writeTinyLora(join(work, 'repos/adapter'), base, { baseModel: 'meta-llama/Tiny-Instruct' });
  mkdirSync(join(work, 'repos/big'));
  writeFileSync(join(work, 'repos/big/blob.bin'), Buffer.from(Array.from({ length: 300_000 }, (_, i) => (i * 7) & 0xff)));
  writeFileSync(join(work, 'repos/big/notes.json'), JSON.stringify({ text: 'x'.repeat(20_000) }));
  mkdirSync(join(work, 'repos/escape'));
  writeFileSync(join(work, 'repos/escape/config.json'), '{}');
  writeFileSync(join(work, 'repos/escape/model.safetensors.index.json'), JSON.stringify({ weight_map: { a: '../../../evil.safetensors' } }));
  hub = await startFakeHub(
    {
      'meta-llama/Tiny-Instruct': { dir: join(work, 'repos/base'), gated: { accepted: [TOKEN], licence: 'llama3.1' } },
      'nvidia/tiny-guard': { dir: join(work, 'repos/adapter') },
      'test/big': { dir: join(work, 'repos/big'), revisions: { v2: join(work, 'repos/big') } },
      'test/escape': { dir: join(work, 'repos/escape') },
    },
    { tokens: [OTHER], renamed: { 'test/old-name': 'test/big' } },
  );
});
afterAll(async () => {
  await hub.close();
  rmSync(work, { recursive: true, force: true });
});
beforeEach(() => {
  cacheDir = mkdtempSync(join(work, 'cache-'));
  hub.reset();
});

const opts = () => ({ endpoint: hub.endpoint, cacheDir, token: TOKEN, retries: 2, retryDelayMs: () => 0 });
const blob = () => readFileSync(join(work, 'repos/big/blob.bin'));
const bigDest = () => join(repoCacheDir(cacheDir, 'test/big', 'main'), 'blob.bin');
const statuses = () => hub.requests.map((r) => `${r.server} ${r.status}`);

describe('downloadFile', () => {
  test('an LFS file: 302 from the Hub to the CDN, the token only to the Hub, stored once', async () => {
    expect(hubFileUrl('https://huggingface.co', 'a/b', 'refs/pr/1', 'x/y z.json')).toBe('https://huggingface.co/a/b/resolve/refs%2Fpr%2F1/x/y%20z.json');
    const path = await downloadFile('test/big', 'blob.bin', opts());
    expect(path).toBe(bigDest());
    expect(readFileSync(path!).equals(blob())).toBe(true);
    await downloadFile('test/big', 'blob.bin', opts());
    expect(statuses()).toEqual(['hub 302', 'cdn 200']);
    expect(hub.requests[0]!.authorization).toBe(`Bearer ${TOKEN}`);
    expect(hub.requests[1]!.authorization).toBeUndefined(); // the CDN refuses a second credential (400)
  });

  test('resumes a partial download with a Range request that survives the redirect', async () => {
    mkdirSync(join(bigDest(), '..'), { recursive: true });
    writeFileSync(`${bigDest()}.incomplete`, blob().subarray(0, 123_456));
    await downloadFile('test/big', 'blob.bin', opts());
    expect(hub.requests.map((r) => [r.server, r.range, r.status])).toEqual([
      ['hub', 'bytes=123456-', 302],
      ['cdn', 'bytes=123456-', 206],
    ]);
    expect(readFileSync(bigDest()).equals(blob())).toBe(true);
    expect(readdirSync(join(bigDest(), '..'))).toEqual(['blob.bin']);
  });

  test('a connection cut mid-body is resumed automatically from where it stopped', async () => {
    const probe = downloadProbe();
    hub.cutAfter('blob.bin', 100_000, 1, (sent) => probe.reached(sent.end));
    const path = await downloadFile('test/big', 'blob.bin', { ...opts(), progress: probe.progress });
    expect(readFileSync(path!).equals(blob())).toBe(true);
    const cdn = hub.requests.filter((r) => r.server === 'cdn');
    expect(cdn.map((r) => [r.range, r.status])).toEqual([
      [undefined, 200],
      ['bytes=100000-', 206],
    ]);
  });

  test('gives up after the retries with a DownloadError that says to run again, keeping what arrived', async () => {
    // The cut waits until the client has stored the bytes sent: without that, the client's body stream can be
    // errored before it reads the last chunk, and the partial file would hold a random amount (or nothing).
    const probe = downloadProbe();
    hub.cutAfter('blob.bin', 1000, 10, (sent) => probe.reached(sent.end));
    const error = await downloadFile('test/big', 'blob.bin', { ...opts(), retries: 1, progress: probe.progress }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DownloadError);
    expect((error as Error).message).toMatch(/failed after 2 attempts: connection lost.*run the command again to resume/);
    expect(readFileSync(`${bigDest()}.incomplete`).equals(blob().subarray(0, 2000))).toBe(true);
    expect(existsSync(bigDest())).toBe(false);
  });

  test('a body that ends early without a Content-Length is caught by the size from the file list', async () => {
    hub.endEarly('blob.bin', 5000);
    await downloadFile('test/big', 'blob.bin', { ...opts(), expectedSize: 300_000 });
    expect(readFileSync(bigDest()).equals(blob())).toBe(true);
    expect(hub.requests.filter((r) => r.server === 'cdn').map((r) => r.range)).toEqual([undefined, 'bytes=5000-']);
  });

  test('a size that disagrees with the file list is refused, not stored', async () => {
    const error = await downloadFile('test/big', 'blob.bin', { ...opts(), expectedSize: 123 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(HubResponseError);
    expect((error as Error).message).toMatch(/the file list says 123 bytes but .* serves 300000/);
    expect(existsSync(bigDest())).toBe(false);
  });

  test('a server that ignores Range restarts the file from zero', async () => {
    mkdirSync(join(bigDest(), '..'), { recursive: true });
    writeFileSync(`${bigDest()}.incomplete`, Buffer.alloc(5000, 0xee)); // wrong bytes: must not be kept
    hub.ignoreRange = true;
    await downloadFile('test/big', 'blob.bin', opts());
    expect(readFileSync(bigDest()).equals(blob())).toBe(true);
  });

  test('a complete .incomplete file (416) is just renamed', async () => {
    mkdirSync(join(bigDest(), '..'), { recursive: true });
    writeFileSync(`${bigDest()}.incomplete`, blob());
    await downloadFile('test/big', 'blob.bin', opts());
    expect(statuses()).toEqual(['hub 302', 'cdn 416']);
    expect(readFileSync(bigDest()).equals(blob())).toBe(true);
  });

  test('asks for identity encoding: a gzip-compressed JSON would not match its Content-Length', async () => {
    const path = await downloadFile('test/big', 'notes.json', opts());
    expect(readFileSync(path!, 'utf8')).toBe(readFileSync(join(work, 'repos/big/notes.json'), 'utf8'));
    expect(hub.requests.map((r) => r.acceptEncoding)).toEqual(['identity']);
  });

  test('5xx and 429 are retried; a 500 that persists ends in a DownloadError', async () => {
    hub.failNext('notes.json', 503, 1);
    hub.failNext('notes.json', 429, 1);
    await downloadFile('test/big', 'notes.json', opts());
    expect(statuses()).toEqual(['hub 503', 'hub 429', 'hub 200']);
    hub.failNext('blob.bin', 500, 10);
    await expect(downloadFile('test/big', 'blob.bin', opts())).rejects.toThrow(/failed after 3 attempts: HTTP 500/);
  });

  test('network errors are retried, then reported as a DownloadError', async () => {
    const error = await downloadFile('test/big', 'blob.bin', { ...opts(), endpoint: 'http://127.0.0.1:9' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DownloadError);
    expect((error as Error).message).toMatch(/failed after 3 attempts: network error from http:\/\/127\.0\.0\.1:9\//);
  });

  test('an HTML page instead of the file is refused and not stored', async () => {
    hub.htmlFor('notes.json');
    const error = await downloadFile('test/big', 'notes.json', opts()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(HubResponseError);
    expect((error as Error).message).toMatch(/answered an HTML page instead of the file: HF_ENDPOINT \(http:\/\/127\.0\.0\.1:\d+\) may point at/);
    expect(readdirSync(join(repoCacheDir(cacheDir, 'test/big', 'main')))).toEqual([]);
  });

  test('a JSON file that is not JSON is refused and not cached (a later run would trust it)', async () => {
    hub.htmlFor('notes.json', 'Service temporarily unavailable', 'application/json');
    await expect(downloadFile('test/big', 'notes.json', opts())).rejects.toThrow(/answered something that is not JSON/);
    expect(readdirSync(join(repoCacheDir(cacheDir, 'test/big', 'main')))).toEqual([]);
  });

  test('HF_ENDPOINT and HF_TOKEN are checked before any request', async () => {
    for (const endpoint of ['huggingface.co', 'ftp://mirror', 'https://']) {
      await expect(downloadFile('test/big', 'notes.json', { ...opts(), endpoint }), endpoint).rejects.toThrow(/^HF_ENDPOINT ".*" is not an http\(s\) URL/);
    }
    await expect(downloadFile('test/big', 'notes.json', { ...opts(), token: 'hf_a b' })).rejects.toBeInstanceOf(BuildArgumentError);
    // A token read from a file keeps its newline; it is trimmed rather than sent as an invalid header.
    await downloadFile('meta-llama/Tiny-Instruct', 'config.json', { ...opts(), token: `${TOKEN}\n` });
    expect(hub.requests.at(-1)!.authorization).toBe(`Bearer ${TOKEN}`);
  });

  test('gated repo: 401 says where to accept the licence and that HF_TOKEN is needed; 403 that it is not accepted yet', async () => {
    const anonymous = await downloadFile('meta-llama/Tiny-Instruct', 'config.json', { ...opts(), token: undefined }).catch((e: unknown) => e);
    expect(anonymous).toBeInstanceOf(HubAccessError);
    expect(anonymous).toMatchObject({ status: 401, gated: true, tokenGiven: false, modelPage: `${hub.endpoint}/meta-llama/Tiny-Instruct` });
    expect((anonymous as Error).message).toBe(
      `meta-llama/Tiny-Instruct is gated: accept its licence (llama3.1) at ${hub.endpoint}/meta-llama/Tiny-Instruct (logged in to the Hub), ` +
        `then set HF_TOKEN to a read token of that account (create one at ${hub.endpoint}/settings/tokens); no HF_TOKEN is set`,
    );
    const notAccepted = await downloadFile('meta-llama/Tiny-Instruct', 'config.json', { ...opts(), token: OTHER }).catch((e: unknown) => e);
    expect(notAccepted).toMatchObject({ status: 403, gated: true, tokenGiven: true });
    expect((notAccepted as Error).message).toMatch(/the account of HF_TOKEN has no access to the gated meta-llama\/Tiny-Instruct yet: accept its licence .* at http/);
    const bogus = await downloadFile('meta-llama/Tiny-Instruct', 'config.json', { ...opts(), token: 'hf_bogus' }).catch((e: unknown) => e);
    expect((bogus as Error).message).toMatch(/refused HF_TOKEN .*invalid or expired/);
  });

  test('404s: a missing file, revision or repo each say which; an optional file is just absent', async () => {
    const file = await downloadFile('test/big', 'nope.bin', opts()).catch((e: unknown) => e);
    expect(file).toBeInstanceOf(HubNotFoundError);
    expect(file).toMatchObject({ what: 'file', status: 404, message: 'test/big has no file nope.bin at revision main' });
    expect(await downloadFile('test/big', 'nope.bin', { ...opts(), optional: true })).toBeUndefined();
    await expect(downloadFile('test/big', 'blob.bin', { ...opts(), revision: 'v9' })).rejects.toMatchObject({ what: 'revision', message: 'test/big has no revision v9 (a branch, tag or commit of the repo)' });
    expect(await downloadFile('test/big', 'blob.bin', { ...opts(), revision: 'v2' })).toBe(join(repoCacheDir(cacheDir, 'test/big', 'v2'), 'blob.bin'));
    const repo = await downloadFile('test/nothing', 'config.json', { ...opts(), token: undefined }).catch((e: unknown) => e);
    expect(repo).toMatchObject({ what: 'repo', status: 401 });
    expect((repo as Error).message).toMatch(/^there is no model repo test\/nothing on .* \(or it is private: set HF_TOKEN/);
  });

  test('a renamed repo (relative 307) is followed', async () => {
    const path = await downloadFile('test/old-name', 'notes.json', opts());
    expect(readFileSync(path!, 'utf8')).toContain('xxxx');
    expect(statuses()).toEqual(['hub 307', 'hub 200']);
    expect(hub.requests[1]!.authorization).toBe(`Bearer ${TOKEN}`); // same origin: the token goes along
  });

  test('a captive portal (HTML for every URL) is a HubResponseError, not a broken cache', async () => {
    hub.portal = true;
    await expect(downloadBaseModel('meta-llama/Tiny-Instruct', opts())).rejects.toBeInstanceOf(HubResponseError);
    hub.portal = false;
    expect(readdirSync(cacheDir, { recursive: true }).filter((f) => String(f).endsWith('.json'))).toEqual([]);
  });

  test('an index that names a shard outside the repo folder is refused', async () => {
    await expect(downloadBaseModel('test/escape', opts())).rejects.toThrow(/refusing the file path "..\/..\/..\/evil.safetensors"/);
  });

  test('progress is shown per file', async () => {
    const lines: string[] = [];
    await downloadFile('test/big', 'blob.bin', { ...opts(), progress: createProgress({ write: (s: string) => lines.push(s), isTTY: false }) });
    expect(lines.at(-1)).toMatch(/^download test\/big\/blob.bin \[#+\] 100.0% 300.0 kB\/300.0 kB/);
    expect(lines.length).toBeGreaterThan(1);
  });
});

describe('build-model from Hugging Face ids', () => {
  test('downloads base (index + shards + tokenizer) and adapter, and builds the same bytes as from folders', async () => {
    const dir = await downloadBaseModel('meta-llama/Tiny-Instruct', opts());
    expect(readdirSync(dir).filter((f) => !f.startsWith('.')).sort()).toEqual(
      [
        'config.json', 'generation_config.json', 'model-00001-of-00002.safetensors', 'model-00002-of-00002.safetensors',
        'model.safetensors.index.json', 'tokenizer.json', 'tokenizer_config.json',
      ].sort(),
    );
    const fromHub = join(work, 'out-hub');
    const result = await buildModel({ base: 'meta-llama/Tiny-Instruct', adapter: 'nvidia/tiny-guard', quantization: 'q4f16_1', out: fromHub, hub: opts() });
    expect(result).toMatchObject({ base: 'meta-llama/Tiny-Instruct', adapter: 'nvidia/tiny-guard', shards: 1 });
    const fromDirs = join(work, 'out-dirs');
    await buildModel({ base: join(work, 'repos/base'), adapter: join(work, 'repos/adapter'), quantization: 'q4f16_1', out: fromDirs });
    for (const f of readdirSync(fromDirs)) expect(readFileSync(join(fromHub, f)).equals(readFileSync(join(fromDirs, f))), f).toBe(true);
  });

  test('a refused download leaves no output folder and fetched nothing large', async () => {
    const out = join(work, 'out-denied');
    await expect(
      buildModel({ base: 'meta-llama/Tiny-Instruct', adapter: 'nvidia/tiny-guard', quantization: 'q4f16_1', out, hub: { ...opts(), token: undefined } }),
    ).rejects.toBeInstanceOf(HubAccessError);
    expect(readdirSync(work).filter((f) => f.startsWith('out-denied'))).toEqual([]);
    expect(hub.downloads().filter((d) => d.endsWith('.safetensors'))).toEqual([]);
  });
});
