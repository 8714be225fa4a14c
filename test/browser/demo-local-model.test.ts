/**
 * A model folder picked in the demo is stored in Cache Storage under the URLs WebLLM will ask for. The proof
 * uses the engine's own pre-load check (checkModelFiles, which reads WebLLM's cache scopes first and only
 * downloads on a miss) on the WebLLM record the engine builds: with the files stored, it needs no network.
 */
import { afterEach, describe, expect, test } from 'vitest';
import { type DemoHandle, mountDemo } from '../../demo/demo-app.js';
import { type FolderFile, LocalModelError, filesFromInput, forgetLocalModel, localFolderUrl, planLocalModel, storeLocalModel } from '../../demo/local-model.js';
import { checkModelFiles } from '../../src/engine/model-files.js';
import { resolveModelSpec } from '../../src/engine/model-records.js';
import { preflight } from '../../src/engine/preflight.js';
import { buildModelRecord } from '../../src/engine/webllm-record.js';
import { createGuard } from '../../src/client/create-guard.js';
import type { Guard } from '../../src/client/types.js';
import { createTestGuard, type TestGuard } from '../helpers/test-guard.js';

const FIXTURE = '/__fixtures/models/aegis-fixture-q4f32_1/';
const FILES = ['mlc-chat-config.json', 'tensor-cache.json', 'params_shard_0.bin', 'tokenizer.json'];

async function fixtureFolder(extra: FolderFile[] = []): Promise<FolderFile[]> {
  const files = await Promise.all(FILES.map(async (path) => ({ path, file: await (await fetch(FIXTURE + path)).blob() })));
  return [...files, ...extra];
}

async function wasmFile(): Promise<FolderFile> {
  return { path: 'model-q4f32_1-webgpu.wasm', file: await (await fetch('/__fixtures/models/libs/empty-module.wasm')).blob() };
}

async function storedKeys(): Promise<Record<string, string[]>> {
  const out: Record<string, string[]> = {};
  for (const scope of ['webllm/config', 'webllm/model', 'webllm/wasm']) {
    out[scope] = (await (await caches.open(scope)).keys()).map((r) => r.url).filter((u) => u.includes('/local-models/')).sort();
  }
  return out;
}

afterEach(async () => {
  for (const scope of ['webllm/config', 'webllm/model', 'webllm/wasm']) {
    const cache = await caches.open(scope);
    for (const request of await cache.keys()) if (request.url.includes('/local-models/')) await cache.delete(request);
  }
});

describe('planning a picked folder', () => {
  test('a complete build: every file WebLLM reads, in its scope, and the variant from mlc-chat-config.json', async () => {
    const plan = await planLocalModel('aegis', await fixtureFolder([await wasmFile(), { path: 'README.md', file: new Blob(['x']) }]));
    expect(plan.variant).toBe('q4f32_1');
    expect(plan.entries.map((e) => [e.path, e.scope])).toEqual([
      ['mlc-chat-config.json', 'webllm/config'],
      ['tokenizer.json', 'webllm/model'],
      ['tensor-cache.json', 'webllm/model'],
      ['params_shard_0.bin', 'webllm/model'],
      ['model-q4f32_1-webgpu.wasm', 'webllm/wasm'],
    ]);
    expect(plan.totalBytes).toBe(plan.entries.reduce((s, e) => s + e.file.size, 0));
  });

  test.each([
    ['no mlc-chat-config.json', (f: FolderFile[]) => f.filter((x) => x.path !== 'mlc-chat-config.json'), 'no mlc-chat-config.json'],
    ['a missing shard', (f: FolderFile[]) => f.filter((x) => x.path !== 'params_shard_0.bin'), 'lacks 1 weight shard listed in tensor-cache.json (params_shard_0.bin)'],
    ['an old ndarray-cache.json', (f: FolderFile[]) => [...f.filter((x) => x.path !== 'tensor-cache.json'), { path: 'ndarray-cache.json', file: new Blob(['{}']) }], 'converted by an older mlc_llm'],
    ['no tokenizer', (f: FolderFile[]) => f.filter((x) => x.path !== 'tokenizer.json'), 'no tokenizer.json'],
    [
      'an unsupported quantization',
      (f: FolderFile[]) => [...f.filter((x) => x.path !== 'mlc-chat-config.json'), { path: 'mlc-chat-config.json', file: new Blob([JSON.stringify({ quantization: 'q0f32', tokenizer_files: ['tokenizer.json'] })]) }],
      'quantized as "q0f32"',
    ],
  ])('refuses a folder with %s, saying why', async (_, change, message) => {
    const error = await planLocalModel('x', change(await fixtureFolder())).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LocalModelError);
    expect((error as Error).message).toContain(message);
  });

  test('paths come from webkitRelativePath, without the folder name', () => {
    const file = (relative: string) => Object.defineProperty(new File(['x'], relative.split('/').at(-1)!), 'webkitRelativePath', { value: relative });
    const { name, files } = filesFromInput([file('aegis-q4/mlc-chat-config.json'), file('aegis-q4/sub/notes.txt')]);
    expect(name).toBe('aegis-q4');
    expect(files.map((f) => f.path)).toEqual(['mlc-chat-config.json', 'sub/notes.txt']);
  });
});

describe('storing it', () => {
  test('files land under <page>/local-models/<name>/ in WebLLM scopes; the engine pre-load check finds all of them there', async () => {
    // 127.0.0.1, not localhost: WebLLM reads a model library from its cache only when the URL has no "localhost".
    const pageUrl = location.href.replace('localhost', '127.0.0.1');
    const plan = await planLocalModel('my model', await fixtureFolder([await wasmFile()]));
    const progress: number[] = [];
    const stored = await storeLocalModel(plan, pageUrl, (p) => progress.push(p.storedBytes));
    const folder = localFolderUrl('my model', pageUrl);
    expect(stored).toEqual({ weightsUrl: folder, modelLibUrl: `${folder}model-q4f32_1-webgpu.wasm` });
    expect(folder).toBe(new URL('local-models/my-model/', pageUrl).href);
    expect(progress.at(-1)).toBe(plan.totalBytes);
    expect(await storedKeys()).toEqual({
      'webllm/config': [`${folder}mlc-chat-config.json`],
      'webllm/model': [`${folder}params_shard_0.bin`, `${folder}tensor-cache.json`, `${folder}tokenizer.json`],
      'webllm/wasm': [`${folder}model-q4f32_1-webgpu.wasm`],
    });

    // The record the engine would hand to WebLLM, and its own file check: every file must come from the cache
    // (the folder URL exists on no server, and 127.0.0.1 is cross-origin here, so any download would fail).
    const spec = resolveModelSpec({ kind: 'aegis', weightsUrl: stored.weightsUrl, variant: plan.variant, modelLibUrl: stored.modelLibUrl }, await preflight());
    const record = buildModelRecord(spec);
    const checked = await checkModelFiles(record);
    expect(checked.folderUrl).toBe(folder);
    expect(checked.totalBytes).toBe(16);

    expect(await forgetLocalModel(folder)).toBe(5);
    expect(await storedKeys()).toEqual({ 'webllm/config': [], 'webllm/model': [], 'webllm/wasm': [] });
  });
});

describe('in the demo', () => {
  let handle: DemoHandle | undefined;
  let current: TestGuard | undefined;
  afterEach(() => {
    handle?.dispose();
    current?.guard.dispose();
    document.querySelector('#local-root')?.remove();
  });

  test('picking a folder stores it and reloads the guard from it; "Forget it" removes it', async () => {
    const root = document.createElement('div');
    root.id = 'local-root';
    document.body.append(root);
    current = createTestGuard({ model: '/__fixtures/fail-load/' });
    const chosen: unknown[] = [];
    handle = mountDemo(root, { guard: current.guard, model: { kind: 'url', url: '/__fixtures/fail-load/' }, onModelChosen: (c) => chosen.push(c) });
    await expect.poll(() => root.querySelector('.model-status')?.textContent ?? '').toContain('No model is loaded.');

    // What <input webkitdirectory> would hand over (DataTransfer files carry no folder path: the name is "model").
    const transfer = new DataTransfer();
    const folderFiles = await fixtureFolder();
    for (const { path, file } of folderFiles) transfer.items.add(new File([file], path));
    const bytes = folderFiles.reduce((sum, f) => sum + f.file.size, 0);
    const input = root.querySelector<HTMLInputElement>('#model-folder')!;
    input.files = transfer.files;
    input.dispatchEvent(new Event('change', { bubbles: true }));

    await expect.poll(() => root.querySelector('.model-status')?.textContent ?? '', { timeout: 20_000 }).toContain('Ready');
    const folder = localFolderUrl('model', document.baseURI);
    expect(root.querySelector('.model-source')!.textContent).toBe('local folder "model" (stored in this browser)');
    expect(root.querySelector('.model-info')!.textContent).toContain(folder);
    expect(chosen).toEqual([{ kind: 'local', name: 'model', variant: 'q4f32_1', bytes, weightsUrl: folder }]);
    expect((await storedKeys())['webllm/model']).toHaveLength(3);
    expect(bytes).toBeGreaterThan(0);

    [...root.querySelectorAll('button')].find((b) => b.textContent === 'Forget it')!.click();
    await expect.poll(async () => (await storedKeys())['webllm/model']!.length).toBe(0);
    await expect.poll(() => root.querySelector('.model-source')!.textContent).toBe('./models/aegis-guard-2.0-{variant}/');
  });

  test('a folder that is not a model build is refused with the reason, and nothing is stored', async () => {
    const root = document.createElement('div');
    root.id = 'local-root';
    document.body.append(root);
    current = createTestGuard();
    handle = mountDemo(root, { guard: current.guard });
    const transfer = new DataTransfer();
    transfer.items.add(new File(['hello'], 'notes.txt'));
    const input = root.querySelector<HTMLInputElement>('#model-folder')!;
    input.files = transfer.files;
    input.dispatchEvent(new Event('change', { bubbles: true }));
    await expect.poll(() => root.querySelector('.store-error')?.textContent ?? '').toContain('no mlc-chat-config.json');
    expect(await storedKeys()).toEqual({ 'webllm/config': [], 'webllm/model': [], 'webllm/wasm': [] });
  });

  /** Mounts the demo over a real guard (the shipped worker, WebLLM engine) for a stored folder. */
  async function mountOverStoredFolder(modelLibUrl: string, variant: 'q4f16_1' | 'q4f32_1' = 'q4f32_1'): Promise<{ root: HTMLElement; guard: Guard }> {
    const root = document.createElement('div');
    root.id = 'local-root';
    document.body.append(root);
    const plan = await planLocalModel('stored', await fixtureFolder());
    const stored = await storeLocalModel({ ...plan, variant }, document.baseURI, () => undefined);
    const guard = createGuard({ model: { weightsUrl: stored.weightsUrl, variant, modelLibUrl } });
    real.push(guard);
    const choice = { kind: 'local' as const, name: 'stored', variant, bytes: plan.totalBytes, weightsUrl: stored.weightsUrl };
    handle = mountDemo(root, { guard, model: choice });
    return { root, guard };
  }
  const real: Guard[] = [];
  afterEach(() => {
    for (const g of real.splice(0)) g.dispose();
  });
  const panelText = (root: HTMLElement) => (root.querySelector('.model-panel')?.textContent ?? '').replace(/\s+/g, ' ');

  test('stored weights whose model library cannot be downloaded: the panel says so, and does not say to build the model', async () => {
    // What an offline page gets for the stock library: the library URL fails (here with HTTP 404).
    const lib = new URL('/__fixtures/__status/404/libs/Llama-3_1-8B-Instruct-q4f32_1_cs1k-webgpu.wasm', location.href).href;
    const { root, guard } = await mountOverStoredFolder(lib);
    await guard.ready.catch(() => undefined);
    await expect.poll(() => root.querySelector('.model-status')?.getAttribute('data-cause')).toBe('no-library');
    const text = panelText(root);
    expect(text).toContain('The model library could not be downloaded.');
    expect(text).toContain('The weights are stored in this browser; only the model library');
    expect(text).toContain(lib);
    expect(text).not.toContain('How to get a model');
    expect(text).not.toContain('build-model');
    expect(root.querySelector('.how-to')).toBeNull();
  });

  test('a q4f16_1 folder on a GPU without shader-f16: one message, naming the build this GPU needs', async () => {
    const lib = new URL('/__fixtures/models/libs/empty-module.wasm', location.href).href;
    const { root, guard } = await mountOverStoredFolder(lib, 'q4f16_1');
    const error = await guard.ready.catch((e: unknown) => e);
    expect((error as { reason?: string }).reason).toBe('feature:shader-f16');
    await expect.poll(() => root.querySelector('.model-status')?.getAttribute('data-cause')).toBe('needs-f32-variant');
    const text = panelText(root);
    expect(text).toContain('This build needs a GPU feature this GPU lacks.');
    expect(text).toContain('Use the q4f32_1 build on this GPU');
    expect(text).toContain('--quantization q4f32_1');
    // Nothing says the browser cannot run WebGPU: the GPU report beside it shows an adapter.
    expect(text).not.toContain('cannot run the model');
    expect(text).not.toContain('needs WebGPU with a real GPU adapter');
    expect(text).toMatch(/q4f32_1 for this GPU: it has no shader-f16/);
  });

  test('picking a q4f16_1 folder on a GPU without shader-f16 is refused before anything is stored', async () => {
    const root = document.createElement('div');
    root.id = 'local-root';
    document.body.append(root);
    current = createTestGuard();
    handle = mountDemo(root, { guard: current.guard });
    await expect.poll(() => root.querySelector('.facts.gpu')).not.toBeNull();
    const transfer = new DataTransfer();
    for (const { path, file } of await fixtureFolder()) {
      const body = path === 'mlc-chat-config.json' ? new Blob([JSON.stringify({ ...JSON.parse(await file.text()), quantization: 'q4f16_1' })]) : file;
      transfer.items.add(new File([body], path));
    }
    const input = root.querySelector<HTMLInputElement>('#model-folder')!;
    input.files = transfer.files;
    input.dispatchEvent(new Event('change', { bubbles: true }));
    await expect.poll(() => root.querySelector('.store-error')?.textContent ?? '').toContain('needs the WebGPU feature shader-f16');
    // Backticks in the message are rendered as code, not shown as backticks.
    expect(root.querySelector('.store-error')!.textContent).not.toContain('`');
    expect([...root.querySelectorAll('.store-error code')].map((c) => c.textContent)).toContain('q4f16_1');
    expect(await storedKeys()).toEqual({ 'webllm/config': [], 'webllm/model': [], 'webllm/wasm': [] });
  });
});
