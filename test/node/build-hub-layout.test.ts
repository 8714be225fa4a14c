/**
 * Finding a checkpoint in a Hub repo: subfolders (NVIDIA's layout), the tree API and its pagination, the
 * errors that name the folders holding a checkpoint, checks that run before anything large downloads
 * (access, missing shards, PyTorch-only weights, disk space), the manifest's folder, a cache that needs no
 * network, and endpoints without a tree API.
 */
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import { main } from '../../src/model-builder/cli.js';
import { buildModel } from '../../src/model-builder/convert.js';
import { BuildArgumentError, DiskFullError, DownloadError, HubAccessError, HubLayoutError, HubNotFoundError, HubResponseError } from '../../src/model-builder/errors.js';
import { downloadAdapter, downloadBaseModel, planCheckpoint } from '../../src/model-builder/hub-checkpoint.js';
import { downloadFile, repoCacheDir, resolveHub } from '../../src/model-builder/hub.js';
import { MAX_RETRY_AFTER_MS } from '../../src/model-builder/hub-http.js';
import { foldersHolding, foldersOf, listRepoFiles, nextLink } from '../../src/model-builder/hub-tree.js';
import { loadManifest } from '../../src/model-builder/manifest.js';
import { silentProgress } from '../../src/model-builder/progress.js';
import { startFakeHub, type FakeHub } from '../helpers/build-hf-server.js';
import { between, pick, seededRandom } from '../helpers/prng.js';
import { ACCEPTED_TOKEN, ADAPTER_FOLDER, ADAPTER_ID, BASE_ID, writeRealLayout, type RealLayout } from '../helpers/build-hub-layout.js';

let work: string;
let hub: FakeHub;
let bareHub: FakeHub;
let layout: RealLayout;
let cacheDir: string;
const logs: string[] = [];

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'aegis-layout-'));
  layout = await writeRealLayout(join(work, 'hub'));
  // Two candidate folders; a repo with no adapter at all; an adapter with only a pickle; an index naming a missing shard.
  const two = join(work, 'two');
  cpSync(layout.adapterDir, join(two, 'checkpoint-500'), { recursive: true });
  cpSync(layout.adapterDir, join(two, 'final'), { recursive: true });
  writeFileSync(join(two, 'README.md'), '');
  const none = join(work, 'none');
  mkdirSync(join(none, 'docs'), { recursive: true });
  writeFileSync(join(none, 'README.md'), '');
  writeFileSync(join(none, 'docs/usage.md'), '');
  const pickle = join(work, 'pickle');
  mkdirSync(pickle);
  writeFileSync(join(pickle, 'adapter_config.json'), readFileSync(join(layout.adapterDir, 'adapter_config.json')));
  writeFileSync(join(pickle, 'adapter_model.bin'), Buffer.alloc(100));
  const holey = join(work, 'holey');
  cpSync(layout.base.dir, holey, { recursive: true, filter: (src) => !src.endsWith('model-00002-of-00002.safetensors') });
  const repos = {
    ...layout.repos,
    [ADAPTER_ID]: { ...layout.repos[ADAPTER_ID]!, revisions: { 'v1.1': layout.repos[ADAPTER_ID]!.dir } },
    'acme/two-checkpoints': { dir: two, revisions: { v2: two } },
    'acme/docs-only': { dir: none },
    'acme/pickle-adapter': { dir: pickle },
    'acme/holey-base': { dir: holey },
  };
  hub = await startFakeHub(repos, { pageSize: 3 });
  bareHub = await startFakeHub(repos, { noTreeApi: true });
});
afterAll(async () => {
  await hub.close();
  await bareHub.close();
  rmSync(work, { recursive: true, force: true });
});
beforeEach(() => {
  cacheDir = mkdtempSync(join(work, 'cache-'));
  hub.reset();
  bareHub.reset();
  logs.length = 0;
});

const progress = { ...silentProgress, log: (line: string) => void logs.push(line) };
const opts = (over: Record<string, unknown> = {}) => ({ endpoint: hub.endpoint, cacheDir, token: ACCEPTED_TOKEN, retries: 1, retryDelayMs: () => 0, progress, ...over });
const ref = (repo: string, subfolder = '', revision = 'main') => ({ repo, revision, subfolder });
const large = (h = hub) => h.downloads().filter((d) => /\.(safetensors|bin|pth)$/.test(d));
const fail = (p: Promise<unknown>) => p.then(() => undefined, (e: unknown) => e);

describe("the tree API", () => {
  test('lists every entry across pages, following the Link header', async () => {
    const entries = await listRepoFiles({ ...resolveHub(opts()), fetch: globalThis.fetch, token: undefined }, BASE_ID, 'main');
    expect(entries.map((e) => e.path)).toContain('original/consolidated.00.pth');
    expect(entries.find((e) => e.path === 'model-00001-of-00002.safetensors')).toMatchObject({ type: 'file', lfsSha256: expect.stringMatching(/^[0-9a-f]{64}$/) });
    expect(entries.find((e) => e.path === 'original')).toMatchObject({ type: 'directory' });
    const pages = hub.requests.filter((r) => r.path.includes('/tree/'));
    expect(pages.length).toBe(Math.ceil(entries.length / 3));
    expect(pages.every((r) => r.status === 200)).toBe(true);
  });

  test('Link headers: next among other relations, quoted or not, relative or absolute', () => {
    expect(nextLink('<https://h/a?cursor=2>; rel="next"', 'https://h/x')).toBe('https://h/a?cursor=2');
    expect(nextLink('<https://h/p>; rel="prev", </b?c=3>; rel=next', 'https://h/x')).toBe('https://h/b?c=3');
    expect(nextLink('<https://h/p>; rel="prev last"', 'https://h/x')).toBeUndefined();
    expect(nextLink(null, 'https://h/x')).toBeUndefined();
  });

  test('a server whose pages never end, or answers something else, is a HubResponseError', async () => {
    const looping = (async (url: string) =>
      new Response('[]', { headers: { 'content-type': 'application/json', link: `<${url}>; rel="next"` } })) as unknown as typeof fetch;
    await expect(listRepoFiles({ ...resolveHub(opts()), fetch: looping, token: undefined }, 'a/b', 'main')).rejects.toThrow(/the file list of a\/b does not end/);
    const object = (async () => new Response('{"files": []}', { headers: { 'content-type': 'application/json' } })) as unknown as typeof fetch;
    await expect(listRepoFiles({ ...resolveHub(opts()), fetch: object, token: undefined }, 'a/b', 'main')).rejects.toThrow(/did not answer a JSON array of files/);
    const bad = (async () => new Response('[{"type":"file"}]', { headers: { 'content-type': 'application/json' } })) as unknown as typeof fetch;
    await expect(listRepoFiles({ ...resolveHub(opts()), fetch: bad, token: undefined }, 'a/b', 'main')).rejects.toBeInstanceOf(HubResponseError);
  });

  test('folders holding a file, shallowest first; every folder of a listing', () => {
    const entries = [
      { type: 'file' as const, path: 'README.md', size: 1 },
      { type: 'file' as const, path: 'b/deep/adapter_config.json', size: 1 },
      { type: 'file' as const, path: 'a/adapter_config.json', size: 1 },
      { type: 'file' as const, path: 'a/not_adapter_config.json', size: 1 },
      { type: 'directory' as const, path: 'empty', size: 0 },
    ];
    expect(foldersHolding(entries, 'adapter_config.json')).toEqual(['a', 'b/deep']);
    expect(foldersHolding(entries, 'README.md')).toEqual(['']);
    expect(foldersOf(entries)).toEqual(['a', 'b', 'b/deep', 'empty']);
  });
});

describe("a 429's Retry-After is waited for by every Hub request", () => {
  /** Hub options whose retries record the waits asked for instead of sleeping. */
  const recording = (over: Record<string, unknown> = {}) => {
    const waits: number[] = [];
    return { waits, options: opts({ retries: 2, retryDelayMs: (attempt: number) => attempt + 1, sleep: async (ms: number) => void waits.push(ms), ...over }) };
  };
  const answered = (suffix: string) => hub.requests.filter((r) => r.path.endsWith(suffix)).map((r) => r.status);

  // Each request the Hub may throttle, once and twice (within the retries), for a seeded number of seconds.
  const random = seededRandom(429);
  const cases = Array.from({ length: 6 }, (_, i) => ({ target: (['tree', 'file', 'head'] as const)[i % 3]!, seconds: between(random, 1, 90), times: 1 + Math.floor(i / 3) }));

  /** The listing and the access check run inside a plan; a file download on its own. */
  const throttled = (target: 'tree' | 'file' | 'head', options: Record<string, unknown>) =>
    target === 'file' ? downloadFile(BASE_ID, 'config.json', options) : planCheckpoint(ref(BASE_ID), 'base', options);
  const suffixOf = { tree: '/tree/main', file: '/config.json', head: '/model-00002-of-00002.safetensors' } as const;

  test.each(cases)('$target: 429 x$times with Retry-After $seconds s', async ({ target, seconds, times }) => {
    if (target === 'head') {
      // Small files cached and one shard gone: the plan asks the Hub (HEAD) before the large files.
      await buildModel({ base: BASE_ID, quantization: 'q4f32_1', out: join(work, `o-head-${seconds}`), hub: opts() });
      rmSync(join(repoCacheDir(cacheDir, BASE_ID, 'main'), 'model-00002-of-00002.safetensors'));
      hub.reset();
    }
    hub.failNext(suffixOf[target], 429, times, { 'retry-after': String(seconds) });
    const { waits, options } = recording();
    await throttled(target, options);
    const asked = Math.min(MAX_RETRY_AFTER_MS, seconds * 1000);
    expect(waits).toEqual(Array.from({ length: times }, () => asked));
    const statuses = target === 'head' ? hub.requests.filter((r) => r.method === 'HEAD').map((r) => r.status) : answered(suffixOf[target]).slice(0, times + 1);
    expect(statuses.slice(0, times + 1)).toEqual([...Array.from({ length: times }, () => 429), target === 'head' ? 302 : 200]);
  });

  test('the policy delay wins when it is longer; a Retry-After past the cap waits the cap', async () => {
    hub.failNext('/tree/main', 429, 1, { 'retry-after': '0' });
    hub.failNext('/tree/main', 503, 1);
    hub.failNext('/tree/main', 429, 1, { 'retry-after': '86400' });
    const { waits, options } = recording({ retries: 3, retryDelayMs: () => 250 });
    await listRepoFiles(resolveHub(options), BASE_ID, 'main');
    expect(waits).toEqual([250, 250, MAX_RETRY_AFTER_MS]);
  });

  test('throttled past the retries: the listing fails with a DownloadError, having waited each time', async () => {
    hub.failNext('/tree/main', 429, 3, { 'retry-after': '4' });
    const listing = recording();
    await expect(planCheckpoint(ref(BASE_ID), 'base', listing.options)).rejects.toBeInstanceOf(DownloadError);
    expect(listing.waits).toEqual([4000, 4000]);
    expect(large()).toEqual([]);
  });
});

describe('downloadBaseModel / downloadAdapter read a string as --base / --adapter do', () => {
  test("'owner/name:folder' is a folder of owner/name, '@rev' its revision; options.revision applies when the string names none", async () => {
    const dir = await downloadAdapter(`${ADAPTER_ID}:${ADAPTER_FOLDER}`, opts());
    expect(dir).toBe(join(repoCacheDir(cacheDir, ADAPTER_ID, 'main'), ADAPTER_FOLDER));
    expect(existsSync(join(dir, 'adapter_model.safetensors'))).toBe(true);
    expect(await downloadAdapter(`${ADAPTER_ID}@v1.1:${ADAPTER_FOLDER}`, opts())).toBe(join(repoCacheDir(cacheDir, ADAPTER_ID, 'v1.1'), ADAPTER_FOLDER));
    hub.reset();
    await downloadAdapter(`acme/two-checkpoints:final`, opts({ revision: 'v2' }));
    expect(hub.requests.map((r) => r.path)).toContain('/api/models/acme/two-checkpoints/tree/v2');
    expect(await downloadBaseModel(BASE_ID, opts())).toBe(repoCacheDir(cacheDir, BASE_ID, 'main'));
  });

  test('what is not a checkpoint id is a BuildArgumentError before any request (300 seeded strings and refs)', async () => {
    const random = seededRandom(4);
    const bad = [
      (id: string) => `${id}/extra`,
      (id: string) => `https://huggingface.co/${id}`,
      (id: string) => `${id}:`,
      (id: string) => `${id}:../up`,
      (id: string) => `${id}@`,
      (id: string) => `${id}@a b`,
      (id: string) => `${id.replace('/', '--')}`,
      (id: string) => `./${id}`,
      (id: string) => `${id}:a\\b`,
    ];
    const badRefs = [
      (id: string) => ({ repo: `${id}:folder`, revision: 'main', subfolder: '' }),
      (id: string) => ({ repo: `../../${id}`, revision: 'main', subfolder: '' }),
      (id: string) => ({ repo: id, revision: 'main', subfolder: '../x' }),
      (id: string) => ({ repo: id, revision: 'a..b', subfolder: '' }),
    ];
    const ids = [BASE_ID, ADAPTER_ID, 'acme/two-checkpoints'];
    for (let i = 0; i < 300; i++) {
      const id = pick(random, ids);
      const download = pick(random, [downloadAdapter, downloadBaseModel]);
      const arg = i % 3 === 0 ? pick(random, badRefs)(id) : pick(random, bad)(id);
      const error = await fail(download(arg, opts()));
      expect(error, JSON.stringify(arg)).toBeInstanceOf(BuildArgumentError);
    }
    expect(hub.requests).toEqual([]);
  });
});

describe('where the checkpoint is', () => {
  test("NVIDIA's repo: the root has no adapter; the error names its folder and the argument to pass", async () => {
    const error = await fail(planCheckpoint(ref(ADAPTER_ID), 'adapter', opts()));
    expect(error).toBeInstanceOf(HubLayoutError);
    expect(error).toMatchObject({ code: 'hub-layout', file: 'adapter_config.json', subfolder: '', candidates: [ADAPTER_FOLDER] });
    expect((error as Error).message).toBe(`${ADAPTER_ID} has no adapter_config.json at its root; its folder ${ADAPTER_FOLDER}/ holds one: pass --adapter ${ADAPTER_ID}:${ADAPTER_FOLDER}`);
    expect(hub.downloads()).toEqual([]);
  });

  test('with the subfolder: small files now, the weights only when fetched', async () => {
    const plan = await planCheckpoint(ref(ADAPTER_ID, ADAPTER_FOLDER), 'adapter', opts());
    expect(plan.dir).toBe(join(repoCacheDir(cacheDir, ADAPTER_ID, 'main'), ADAPTER_FOLDER));
    expect(plan.files).toEqual([{ path: `${ADAPTER_FOLDER}/adapter_model.safetensors`, size: expect.any(Number) }]);
    expect(plan.bytesToFetch).toBe(plan.files[0]!.size);
    expect(hub.downloads()).toEqual([`${ADAPTER_ID}/${ADAPTER_FOLDER}/adapter_config.json`]);
  });

  test('a revision with @ and a folder with :', async () => {
    const plan = await planCheckpoint(ref(ADAPTER_ID, ADAPTER_FOLDER, 'v1.1'), 'adapter', opts());
    expect(plan.dir).toBe(join(repoCacheDir(cacheDir, ADAPTER_ID, 'v1.1'), ADAPTER_FOLDER));
    expect(hub.requests.some((r) => r.path === `/api/models/${ADAPTER_ID}/tree/v1.1`)).toBe(true);
    await expect(planCheckpoint(ref(ADAPTER_ID, ADAPTER_FOLDER, 'v9'), 'adapter', opts())).rejects.toMatchObject({ what: 'revision' });
  });

  test('a folder that does not exist', async () => {
    await expect(planCheckpoint(ref(ADAPTER_ID, 'lora'), 'adapter', opts())).rejects.toThrow(
      `${ADAPTER_ID} has no folder lora/; its folder ${ADAPTER_FOLDER}/ holds one: pass --adapter ${ADAPTER_ID}:${ADAPTER_FOLDER}`,
    );
  });

  test('two candidate folders: both named, and how to choose', async () => {
    const error = await fail(planCheckpoint(ref('acme/two-checkpoints'), 'adapter', opts()));
    expect(error).toMatchObject({ candidates: ['checkpoint-500', 'final'] });
    expect((error as Error).message).toBe(
      'acme/two-checkpoints has no adapter_config.json at its root; 2 folders hold one (checkpoint-500/, final/): ' +
        'choose one with --adapter acme/two-checkpoints:checkpoint-500 (or acme/two-checkpoints:final, ...)',
    );
  });

  test('no folder holds one: not an adapter (or not a model) at all', async () => {
    await expect(planCheckpoint(ref('acme/docs-only'), 'adapter', opts())).rejects.toThrow(
      'acme/docs-only has no adapter_config.json at its root; no folder of the repo holds one, so it is not a PEFT adapter (it holds docs, README.md)',
    );
    // The adapter repo given as the base: no config.json anywhere.
    await expect(planCheckpoint(ref(ADAPTER_ID), 'base', opts())).rejects.toThrow(/has no config.json at its root; no folder of the repo holds one, so it is not a model checkpoint/);
  });

  test('an adapter with only PyTorch weights, a base index naming a missing shard: refused before any large download', async () => {
    await expect(planCheckpoint(ref('acme/pickle-adapter'), 'adapter', opts())).rejects.toThrow(
      'acme/pickle-adapter has no adapter_model.safetensors: it has only PyTorch pickle weights (adapter_model.bin); use a repo or revision with safetensors weights, or convert them first',
    );
    const holey = await fail(planCheckpoint(ref('acme/holey-base'), 'base', opts()));
    expect(holey).toBeInstanceOf(HubNotFoundError);
    expect((holey as Error).message).toBe('acme/holey-base has no model-00002-of-00002.safetensors that model.safetensors.index.json names');
    expect(large()).toEqual([]);
  });

  test('the gated base: the file list is public, the files are not; nothing large is fetched', async () => {
    const error = await fail(planCheckpoint(ref(BASE_ID), 'base', opts({ token: undefined })));
    expect(error).toBeInstanceOf(HubAccessError);
    expect(hub.requests.find((r) => r.path.includes('/tree/'))?.status).toBe(200);
    expect(large()).toEqual([]);
  });

  test('small files already cached: access is still checked (HEAD) before the first large file', async () => {
    await buildModel({ base: BASE_ID, quantization: 'q4f32_1', out: join(work, 'o-first'), hub: opts() });
    const dir = repoCacheDir(cacheDir, BASE_ID, 'main');
    rmSync(join(dir, 'model-00002-of-00002.safetensors'));
    hub.reset();
    const error = await fail(buildModel({ base: BASE_ID, quantization: 'q4f32_1', out: join(work, 'o-second'), hub: opts({ token: undefined }) }));
    expect(error).toBeInstanceOf(HubAccessError);
    expect(hub.requests.filter((r) => r.method === 'HEAD').map((r) => `${r.path} ${r.status}`)).toEqual([`/${BASE_ID}/resolve/main/model-00002-of-00002.safetensors 401`]);
    expect(large()).toEqual([]);
  });

  test('a complete cache rebuilds without the network', async () => {
    await buildModel({ base: BASE_ID, adapter: `${ADAPTER_ID}:${ADAPTER_FOLDER}`, quantization: 'q4f16_1', out: join(work, 'o-net'), hub: opts() });
    hub.reset();
    await buildModel({ base: BASE_ID, adapter: `${ADAPTER_ID}:${ADAPTER_FOLDER}`, quantization: 'q4f16_1', out: join(work, 'o-offline'), hub: opts({ endpoint: 'http://127.0.0.1:9' }) });
    expect(hub.requests).toEqual([]);
    expect(readFileSync(join(work, 'o-offline/params_shard_0.bin')).equals(readFileSync(join(work, 'o-net/params_shard_0.bin')))).toBe(true);
  });

  test('not enough room in the download cache: DiskFullError naming the cache, before the weights', async () => {
    const error = await fail(
      buildModel({ base: BASE_ID, adapter: `${ADAPTER_ID}:${ADAPTER_FOLDER}`, quantization: 'q4f16_1', out: join(work, 'o-full'), hub: opts({ freeBytes: async () => 1000 }) }),
    );
    expect(error).toBeInstanceOf(DiskFullError);
    expect((error as Error).message).toMatch(new RegExp(`^not enough disk space for the download cache ${cacheDir}: needs .* GB, 0.00 GB free; set AEGIS_GUARD_CACHE`));
    expect(large()).toEqual([]);
    expect(existsSync(join(work, 'o-full'))).toBe(false);
  });

  test('an endpoint without a tree API: a folder given works, a wrong one says the list is unavailable', async () => {
    const bare = () => opts({ endpoint: bareHub.endpoint });
    const plan = await planCheckpoint(ref(ADAPTER_ID, ADAPTER_FOLDER), 'adapter', bare());
    expect(plan.files).toEqual([{ path: `${ADAPTER_FOLDER}/adapter_model.safetensors`, size: undefined }]);
    expect(logs.some((l) => /could not list the files of nvidia\/.*asking for each file instead/.test(l))).toBe(true);
    await expect(planCheckpoint(ref(ADAPTER_ID), 'adapter', bare())).rejects.toThrow(
      `${ADAPTER_ID} has no adapter_config.json at its root, so it is not a PEFT adapter there (${bareHub.endpoint} offers no file list to say where one is)`,
    );
    await buildModel({ base: BASE_ID, adapter: `${ADAPTER_ID}:${ADAPTER_FOLDER}`, quantization: 'q4f16_1', out: join(work, 'o-bare'), hub: bare() });
    expect(large(bareHub).length).toBe(3);
  });
});

describe('the manifest knows the folder', () => {
  test('aegis-guard-2.0 records the adapter subfolder; --model fills in --base and --adapter with it', async () => {
    const real = await loadManifest('aegis-guard-2.0');
    expect(real.adapter).toMatchObject({ hfId: ADAPTER_ID, subfolder: ADAPTER_FOLDER });
    // The same manifest with the tiny model's shapes, so the build can run.
    const arch = { family: 'llama', hiddenSize: 64, numLayers: 2, numHeads: 4, numKvHeads: 2, headDim: 16, intermediateSize: 128, vocabSize: 256, tieWordEmbeddings: false };
    const manifestPath = join(work, 'tiny-manifest.json');
    writeFileSync(manifestPath, JSON.stringify({ ...real, architecture: arch }));
    const saved = { ...process.env };
    Object.assign(process.env, { HF_ENDPOINT: hub.endpoint, HF_TOKEN: ACCEPTED_TOKEN, AEGIS_GUARD_CACHE: cacheDir });
    try {
      const out: string[] = [];
      const err: string[] = [];
      const io = { stdout: { write: (s: string) => out.push(s) }, stderr: { write: (s: string) => err.push(s), isTTY: false } };
      const code = await main(['build-model', '--model', manifestPath, '--quantization', 'q4f16_1', '--out', join(work, 'o-manifest'), '--quiet'], io);
      expect(err.join('')).toBe('');
      expect(code).toBe(0);
      expect(out.join('')).toContain(`--adapter ${ADAPTER_ID}:${ADAPTER_FOLDER}\n`);
      // The repo id alone, with --model: the manifest's folder is used, and said.
      const logged: string[] = [];
      await buildModel({
        base: BASE_ID,
        adapter: ADAPTER_ID,
        quantization: 'q4f16_1',
        out: join(work, 'o-manifest-id'),
        manifest: { ...real, architecture: arch } as typeof real,
        hub: opts({ progress: { ...silentProgress, log: (l: string) => void logged.push(l) } }),
      });
      expect(logged).toContain(`${ADAPTER_ID}: using its folder ${ADAPTER_FOLDER}/ (where the manifest says the adapter is)`);
    } finally {
      for (const k of ['HF_ENDPOINT', 'HF_TOKEN', 'AEGIS_GUARD_CACHE']) if (saved[k] === undefined) delete process.env[k];
      Object.assign(process.env, saved);
    }
  });

  describe("the manifest's folder and revision, each overridden by its own option", () => {
    // A manifest whose adapter is in acme/two-checkpoints@v2:checkpoint-500 (the repo also has final/ and main).
    let manifestPath: string;
    beforeAll(async () => {
      const real = await loadManifest('aegis-guard-2.0');
      const arch = { family: 'llama', hiddenSize: 64, numLayers: 2, numHeads: 4, numKvHeads: 2, headDim: 16, intermediateSize: 128, vocabSize: 256, tieWordEmbeddings: false };
      manifestPath = join(work, 'two-manifest.json');
      const adapter = { ...real.adapter, hfId: 'acme/two-checkpoints', revision: 'v2', subfolder: 'checkpoint-500' };
      writeFileSync(manifestPath, JSON.stringify({ ...real, architecture: arch, adapter }));
    });
    const build = async (name: string, ...extra: string[]) => {
      const saved = { ...process.env };
      Object.assign(process.env, { HF_ENDPOINT: hub.endpoint, HF_TOKEN: ACCEPTED_TOKEN, AEGIS_GUARD_CACHE: cacheDir });
      const out: string[] = [];
      const err: string[] = [];
      try {
        const io = { stdout: { write: (s: string) => out.push(s) }, stderr: { write: (s: string) => err.push(s), isTTY: false } };
        const code = await main(['build-model', '--model', manifestPath, '--quantization', 'q4f32_1', '--out', join(work, `o-two-${name}`), ...extra], io);
        const trees = hub.requests.filter((r) => r.path.startsWith('/api/models/acme/two-checkpoints/tree/')).map((r) => r.path.split('/tree/')[1]);
        return { code, stdout: out.join(''), stderr: err.join(''), trees: [...new Set(trees)] };
      } finally {
        for (const k of ['HF_ENDPOINT', 'HF_TOKEN', 'AEGIS_GUARD_CACHE']) if (saved[k] === undefined) delete process.env[k];
        Object.assign(process.env, saved);
      }
    };
    const adapterOf = (stdout: string) => / --adapter (\S+)\n/.exec(stdout)?.[1];

    test('--model alone: the manifest folder at the manifest revision', async () => {
      const r = await build('manifest');
      expect(r.stderr).toContain('acme/two-checkpoints: using its folder checkpoint-500/ at revision v2 (where the manifest says the adapter is)');
      expect([r.code, adapterOf(r.stdout), r.trees]).toEqual([0, 'acme/two-checkpoints@v2:checkpoint-500', ['v2']]);
    });

    test('--adapter-subfolder replaces the folder and keeps the revision', async () => {
      const r = await build('subfolder', '--adapter-subfolder', 'final', '--quiet');
      expect(r.stderr).toBe('');
      expect([r.code, adapterOf(r.stdout), r.trees]).toEqual([0, 'acme/two-checkpoints@v2:final', ['v2']]);
    });

    test('--revision replaces the revision and keeps the folder', async () => {
      const r = await build('revision', '--revision', 'main', '--quiet');
      expect(r.stderr).toBe('');
      expect([r.code, adapterOf(r.stdout), r.trees]).toEqual([0, 'acme/two-checkpoints:checkpoint-500', ['main']]);
    });

    test('--adapter naming the manifest repo without folder or revision takes both from the manifest', async () => {
      const r = await build('bare-id', '--adapter', 'acme/two-checkpoints', '--quiet');
      expect(r.stderr).toBe('');
      expect([r.code, adapterOf(r.stdout), r.trees]).toEqual([0, 'acme/two-checkpoints@v2:checkpoint-500', ['v2']]);
    });

    test('a folder named both in --adapter and --adapter-subfolder is still refused, naming what was typed', async () => {
      const r = await build('twice', '--adapter', 'acme/two-checkpoints:final', '--adapter-subfolder', 'checkpoint-500', '--quiet');
      expect(r.code).toBe(1);
      expect(r.stderr).toBe('aegis-guard: --adapter acme/two-checkpoints:final names a subfolder and --adapter-subfolder gives another; give it once\n');
      expect(r.trees).toEqual([]);
    });
  });
});
