/**
 * adapters/<model>/manifest.json: every manifest parses, its architecture yields the parameter count it
 * states, stock libraries exist in WebLLM 0.2.86's prebuilt list, and the builder enforces a manifest.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { buildModel } from '../../src/model-builder/convert.js';
import { AdapterMismatchError, BuildArgumentError } from '../../src/model-builder/errors.js';
import { ADAPTERS_DIR, loadManifest, parseManifest, type GuardManifest } from '../../src/model-builder/manifest.js';
import { expectedParams, quantizationByName } from '../../src/model-builder/param-plan.js';
import { writeTinyLlama, writeTinyLora } from '../helpers/build-tiny-llama.js';
import { referenceOrSkip } from '../helpers/reference-data.js';

const ids = readdirSync(ADAPTERS_DIR, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name);
const webllm = readFileSync('node_modules/@mlc-ai/web-llm/lib/index.js', 'utf8');
const LIB_PREFIX = 'https://raw.githubusercontent.com/mlc-ai/binary-mlc-llm-libs/main/web-llm-models/v0_2_86/base/';

const archOf = (m: GuardManifest) => ({
  ...m.architecture,
  rmsNormEps: 1e-5,
  ropeTheta: 500000,
  ropeScaling: null,
  maxPositionEmbeddings: 4096,
  bosTokenId: undefined,
  eosTokenId: undefined,
  nameOrPath: undefined,
});

describe('adapter manifests', () => {
  test('AegisGuard 2.0 is there and supported; Aegis 1.0 and Llama-Guard-3-1B are planned', () => {
    expect(ids).toEqual(expect.arrayContaining(['aegis-guard-2.0', 'aegis-1.0-defensive', 'aegis-1.0-permissive', 'llama-guard-3-1b']));
  });

  test.each(ids)('%s: parses, id matches its folder, variants and parameter counts are consistent', async (id) => {
    const m = await loadManifest(id);
    expect(m.id).toBe(id);
    for (const v of m.variants) {
      expect(v.requiredFeatures.includes('shader-f16')).toBe(v.quantization.includes('f16'));
      const count = expectedParams(archOf(m), quantizationByName(v.quantization)).length;
      expect(m.expectedParams.count[v.quantization]).toBe(count);
      if (v.stockLibrary) {
        // The stock library of WebLLM 0.2.86's prebuilt model list, at its usual URL.
        expect(webllm).toContain(`"/${v.modelLib}"`);
        expect(v.modelLibUrl).toBe(`${LIB_PREFIX}${v.modelLib}`);
      }
    }
  });

  test('AegisGuard 2.0 matches the model facts (LoRA r16/alpha32 on Llama-3.1-8B-Instruct, stock 8B libraries)', async () => {
    const m = await loadManifest('aegis-guard-2.0');
    expect(m.base.hfId).toBe('meta-llama/Llama-3.1-8B-Instruct');
    // NVIDIA's repo keeps the PEFT adapter in a folder; its root holds only README.md and .gitattributes.
    expect(m.adapter).toMatchObject({
      hfId: 'nvidia/llama-3.1-nemoguard-8b-content-safety',
      subfolder: 'llama-3.1-nemoguard-8b-content-safety-lora-adapter',
      rank: 16,
      alpha: 32,
    });
    expect(m.base.subfolder).toBeUndefined();
    expect(m.variants.map((v) => v.modelLib)).toEqual(['Llama-3_1-8B-Instruct-q4f16_1_cs1k-webgpu.wasm', 'Llama-3_1-8B-Instruct-q4f32_1_cs1k-webgpu.wasm']);
    expect(m.convTemplate).toBe('llama-3_1');
  });

  const libMetadata = referenceOrSkip('mlc-lib-metadata', 'the Aegis 1.0 manifest against real model-library metadata');
  test.skipIf(!libMetadata)('Aegis 1.0 (LlamaGuard-7b) yields exactly the Llama-2-7b library parameter list', async () => {
    const m = await loadManifest('aegis-1.0-defensive');
    for (const q of ['q4f16_1', 'q4f32_1']) {
      const meta = JSON.parse(readFileSync(`${libMetadata}/Llama-2-7b-chat-hf-${q}-ctx4k_cs1k-webgpu.metadata.json`, 'utf8'));
      const ours = expectedParams(archOf(m), quantizationByName(q), { symbolicVocab: true });
      expect(ours).toEqual(meta.params.map(({ name, shape, dtype }: { name: string; shape: unknown; dtype: string }) => ({ name, shape, dtype })));
    }
  });

  test('invalid manifests are refused with the field named', () => {
    const good = JSON.parse(readFileSync(join(ADAPTERS_DIR, 'aegis-guard-2.0', 'manifest.json'), 'utf8'));
    expect(() => parseManifest({ ...good, manifestVersion: 2 }, 'm')).toThrow(/manifestVersion/);
    expect(() => parseManifest({ ...good, architecture: { ...good.architecture, numKvHeads: 0 } }, 'm')).toThrow(/numKvHeads/);
    expect(() => parseManifest({ ...good, variants: [{ ...good.variants[0], modelLibUrl: 'https://x/other.wasm' }] }, 'm')).toThrow(/modelLibUrl/);
    expect(() => parseManifest({ ...good, status: 'maybe' }, 'm')).toThrow(/status/);
    for (const subfolder of ['', '/lora/', '../lora', 'a//b', 'a\\b', 7]) {
      expect(() => parseManifest({ ...good, adapter: { ...good.adapter, subfolder } }, 'm'), JSON.stringify(subfolder)).toThrow(/^m: adapter\.subfolder /);
    }
    expect(() => parseManifest({ ...good, base: { ...good.base, subfolder: 'x/..' } }, 'm')).toThrow(/^m: base\.subfolder /);
    expect(() => parseManifest({ ...good, adapter: { ...good.adapter, hfId: 'https://huggingface.co/nvidia/x' } }, 'm')).toThrow(/adapter must be null or \{hfId: "owner\/name"/);
    expect(parseManifest({ ...good, base: { ...good.base, subfolder: 'weights/hf' } }, 'm').base.subfolder).toBe('weights/hf');
  });
});

describe('build-model with a manifest', () => {
  let work: string;
  beforeAll(() => {
    work = mkdtempSync(join(tmpdir(), 'aegis-manifest-'));
  });
  afterAll(() => rmSync(work, { recursive: true, force: true }));

  const tinyManifest = (overrides: Partial<GuardManifest> = {}): GuardManifest =>
    parseManifest(
      {
        manifestVersion: 1,
        id: 'tiny-guard',
        name: 'tiny',
        status: 'planned',
        base: { hfId: 'test/tiny', revision: 'main', gated: false, license: 'x' },
        adapter: { hfId: 'test/tiny-lora', revision: 'main', kind: 'peft-lora', rank: 4, alpha: 8, license: 'x' },
        architecture: { family: 'llama', hiddenSize: 64, numLayers: 2, numHeads: 4, numKvHeads: 2, headDim: 16, intermediateSize: 128, vocabSize: 256, tieWordEmbeddings: false },
        prompt: { format: 'x', chatTemplate: 'x' },
        convTemplate: 'llama-3_1',
        chatConfig: { context_window_size: 2048, temperature: 0 },
        variants: [{ quantization: 'q4f32_1', modelLib: 'x.wasm', modelLibUrl: './x.wasm', stockLibrary: false, requiredFeatures: [] }],
        expectedParams: { derivation: 'x', count: { q4f32_1: 25 } },
        ...overrides,
      },
      'tiny',
    );

  test('applies the manifest template and chat config; explicit options win', async () => {
    const base = await writeTinyLlama(join(work, 'base'));
    const lora = await writeTinyLora(join(work, 'lora'), base, { r: 4, alpha: 8 });
    await buildModel({ base: base.dir, adapter: lora.dir, quantization: 'q4f32_1', out: join(work, 'o1'), manifest: tinyManifest(), skipBaseCheck: true });
    const c = JSON.parse(readFileSync(join(work, 'o1', 'mlc-chat-config.json'), 'utf8'));
    expect(c.conv_template.name).toBe('llama-3_1');
    expect(c.context_window_size).toBe(2048);
    expect(c.temperature).toBe(0);
    await buildModel({ base: base.dir, adapter: lora.dir, quantization: 'q4f32_1', out: join(work, 'o2'), manifest: tinyManifest(), skipBaseCheck: true, contextWindowSize: 1024 });
    expect(JSON.parse(readFileSync(join(work, 'o2', 'mlc-chat-config.json'), 'utf8')).context_window_size).toBe(1024);
  });

  test('refuses a base with another architecture, an adapter with another rank, a missing variant', async () => {
    const base = await writeTinyLlama(join(work, 'base2'), { intermediate: 96 });
    await expect(buildModel({ base: base.dir, quantization: 'q4f32_1', out: join(work, 'o3'), manifest: tinyManifest() })).rejects.toThrow(
      /not test\/tiny's architecture: intermediateSize 96 \(manifest: 128\)/,
    );
    const base3 = await writeTinyLlama(join(work, 'base3'));
    const lora = await writeTinyLora(join(work, 'lora8'), base3, { r: 8, alpha: 16 });
    await expect(
      buildModel({ base: base3.dir, adapter: lora.dir, quantization: 'q4f32_1', out: join(work, 'o4'), manifest: tinyManifest(), skipBaseCheck: true }),
    ).rejects.toBeInstanceOf(AdapterMismatchError);
    await expect(buildModel({ base: base3.dir, quantization: 'q4f16_1', out: join(work, 'o5'), manifest: tinyManifest() })).rejects.toBeInstanceOf(
      BuildArgumentError,
    );
  });
});
