/**
 * build-model: base Llama checkpoint (+ optional PEFT LoRA adapter) -> a folder WebLLM loads with the stock
 * Llama model library: params_shard_*.bin, tensor-cache.json, mlc-chat-config.json and the tokenizer files.
 *
 * Everything is checked before the first byte is written (config, tensor names/shapes/dtypes, adapter fit,
 * tokenizer, free space). Weights then stream row block by row block: read -> f32 -> + LoRA delta ->
 * quantize -> shard, so memory stays bounded (about the shard cap plus one block) whatever the model size.
 */
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { buildChatConfig, CHAT_CONFIG_FILE, generationDefaults } from './chat-config.js';
import { Checkpoint, type CheckpointTensor } from './checkpoint.js';
import { convTemplate, defaultConvTemplate } from './conv-templates.js';
import { AdapterMismatchError, BuildArgumentError, CheckpointError, MissingFileError, rethrowDiskFull } from './errors.js';
import { encodeF16 } from './float16.js';
import type { HubOptions } from './hub.js';
import { RowKernels, type Slot } from './kernels.js';
import { parseLlamaConfig, type LlamaArchitecture } from './llama-config.js';
import { checkAdapterBase, LoraAdapter, parseAdapterConfig, type LoraFactors } from './lora.js';
import { adapterDifferences, architectureDifferences, manifestRef, type GuardManifest } from './manifest.js';
import { assertFreeSpace, assertOutputFree, writeAtomically, type FreeBytes } from './output-dir.js';
import {
  DTYPE_BYTES,
  expectedParams,
  GROUP_SIZE,
  paramBytes,
  paramsOfJob,
  planWeights,
  quantizationByName,
  type ParamRecord,
  type Quantization,
  type WeightJob,
} from './param-plan.js';
import { silentProgress, type Progress, type ProgressTask } from './progress.js';
import { DEFAULT_SHARD_CAP, ShardWriter } from './shard-writer.js';
import { localHint } from './local-layout.js';
import { prepareSources, type ResolvedSource } from './sources.js';
import { tensorCacheJson, writeTensorCache } from './tensor-cache.js';
import { copyTokenizerFiles, detectTokenizerInfo, findTokenizerFiles, tokenizerFilesBytes } from './tokenizer-files.js';

export interface BuildModelOptions {
  /** Local folder or Hugging Face id `owner/name[@revision][:subfolder]` of the base model (safetensors). */
  base: string;
  /** Local folder or Hugging Face id of a PEFT LoRA adapter; omitted for a plain conversion. */
  adapter?: string | undefined;
  /** Folder inside the base repo (or local folder) that holds the checkpoint; `owner/name:folder` says the same. */
  baseSubfolder?: string | undefined;
  /** Folder inside the adapter repo (or local folder), e.g. the NemoGuard repo's `...-lora-adapter`. */
  adapterSubfolder?: string | undefined;
  quantization: string;
  out: string;
  force?: boolean;
  /** Skip the adapter_config base_model_name_or_path check (shapes are still checked). */
  skipBaseCheck?: boolean;
  /** Written to mlc-chat-config.json (WebLLM allocates the KV cache for it). Default 4096. */
  contextWindowSize?: number;
  /** Must match the model library; the stock "cs1k" libraries use 1024 (the default). */
  prefillChunkSize?: number;
  /** mlc conversation template name; default from the vocabulary (llama-3_1 or llama-2) or the manifest. */
  convTemplate?: string | undefined;
  /** A guard manifest: its architecture is enforced and its chatConfig applied. */
  manifest?: GuardManifest | undefined;
  hub?: HubOptions;
  progress?: Progress;
  /** Called with the temporary output folder as soon as it exists (the CLI removes it on Ctrl-C). */
  onPartialDir?: (dir: string) => void;
  /** Test hooks. */
  freeBytes?: FreeBytes;
  shardCapBytes?: number;
  /** Values per processing block (default 256 Ki = 1 MB of f32, cache-friendly). */
  blockValues?: number;
}

export interface BuildModelResult {
  out: string;
  /** The base and adapter as the command line names them again (Hub sources in canonical spelling). */
  base: string;
  adapter: string | undefined;
  quantization: string;
  params: number;
  shards: number;
  inputBytes: number;
  outputBytes: number;
  seconds: number;
  peakRssBytes: number;
}

export async function buildModel(options: BuildModelOptions): Promise<BuildModelResult> {
  const started = performance.now();
  const quant = quantizationByName(options.quantization);
  const progress = options.progress ?? silentProgress;
  const force = options.force ?? false;
  const manifest = options.manifest;
  // Explicit options win over the manifest's chatConfig, which wins over the defaults.
  const { context_window_size: manifestContext, prefill_chunk_size: manifestPrefill, ...chatOverrides } = manifest?.chatConfig ?? {};
  const contextWindowSize = positive(options.contextWindowSize ?? (manifestContext as number | undefined) ?? 4096, 'context window size');
  const prefillChunkSize = positive(options.prefillChunkSize ?? (manifestPrefill as number | undefined) ?? 1024, 'prefill chunk size');
  if (manifest && !manifest.variants.some((v) => v.quantization === quant.name)) {
    throw new BuildArgumentError(`${manifest.id} has no ${quant.name} variant (it has ${manifest.variants.map((v) => v.quantization).join(', ')})`);
  }
  // Fail on an existing output before any download.
  assertOutputFree(options.out, force);

  const hub = { ...options.hub, progress: options.hub?.progress ?? progress };
  // Locate both checkpoints and fetch their small files first: everything checked below fails before the
  // large downloads start.
  let baseArch: LlamaArchitecture | undefined;
  const checkBase = async (source: ResolvedSource) => {
    const configPath = join(source.dir, 'config.json');
    if (!existsSync(configPath)) throw new MissingFileError(`${source.dir} has no config.json${localHint(source.dir, 'config.json', '--base')}`, [configPath]);
    const arch = (baseArch = parseLlamaConfig(await readJson(configPath), configPath));
    if (manifest) {
      const diffs = architectureDifferences(manifest.architecture, arch);
      if (diffs.length > 0) throw new BuildArgumentError(`the base model is not ${manifest.base.hfId}'s architecture: ${diffs.join('; ')}`);
    }
  };
  let baseName: string | undefined;
  const checkAdapter = async (source: ResolvedSource) => {
    const configPath = join(source.dir, 'adapter_config.json');
    if (!existsSync(configPath)) {
      throw new MissingFileError(`adapter folder ${source.dir} lacks adapter_config.json${localHint(source.dir, 'adapter_config.json', '--adapter')}`, [configPath]);
    }
    const config = parseAdapterConfig(await readJson(configPath), configPath);
    if (!options.skipBaseCheck) checkAdapterBase(config.baseModel, baseName);
    if (manifest?.adapter) {
      const diffs = adapterDifferences(manifest.adapter, config);
      if (diffs.length > 0) throw new AdapterMismatchError(`the adapter is not ${manifest.adapter.hfId} as ${manifest.id} describes it: ${diffs.join('; ')}`);
    }
  };
  const prepared = await prepareSources(
    [
      {
        spec: options.base,
        kind: 'base',
        subfolder: options.baseSubfolder,
        licence: manifest?.base.license,
        known: manifest ? manifestRef(manifest.base) : undefined,
        check: async (source) => {
          await checkBase(source);
          baseName = source.hubId ?? baseArch!.nameOrPath;
        },
      },
      ...(options.adapter
        ? [
            {
              spec: options.adapter,
              kind: 'adapter' as const,
              subfolder: options.adapterSubfolder,
              licence: manifest?.adapter?.license,
              known: manifest?.adapter ? manifestRef(manifest.adapter) : undefined,
              check: checkAdapter,
            },
          ]
        : []),
    ],
    hub,
  );
  const [base, adapterSource] = prepared.sources as [ResolvedSource, ResolvedSource | undefined];
  await prepared.fetch();
  const arch = baseArch!;
  const generationConfigPath = join(base.dir, 'generation_config.json');
  const generationConfig = existsSync(generationConfigPath) ? ((await readJson(generationConfigPath)) as Record<string, unknown>) : undefined;
  const tokenizerFiles = findTokenizerFiles(base.dir);

  const checkpoint = await Checkpoint.open(base.dir);
  let adapter: LoraAdapter | undefined;
  try {
    const jobs = planWeights(arch);
    checkSourceTensors(checkpoint, jobs);
    if (adapterSource) {
      adapter = await LoraAdapter.open(adapterSource.dir, checkpoint);
      const sources = new Set(jobs.flatMap((j) => j.sources.map((s) => s.tensor)));
      for (const m of adapter.modules.values()) {
        if (!sources.has(m.baseTensor)) {
          throw new CheckpointError(`the adapter changes ${m.baseTensor}, which the converted model does not contain`);
        }
      }
    }
    const params = expectedParams(arch, quant);
    const outputBytes = params.reduce((n, p) => n + paramBytes(p), 0);
    await assertFreeSpace(options.out, outputBytes + (await tokenizerFilesBytes(base.dir, tokenizerFiles)), options.freeBytes);

    const inputBytes = jobs.reduce((n, j) => n + j.sources.reduce((m, s) => m + checkpoint.get(s.tensor).byteLength, 0), 0);
    const convName = options.convTemplate ?? manifest?.convTemplate ?? defaultConvTemplate(arch.vocabSize);
    const template = convTemplate(convName);
    const tokenizerInfo = await detectTokenizerInfo(base.dir, tokenizerFiles);

    const shardCount = await writeAtomically(options.out, { force, onPartialDir: options.onPartialDir }, async (dir) => {
      const writer = new ShardWriter(dir, options.shardCapBytes ?? DEFAULT_SHARD_CAP);
      const task = progress.task(`convert ${quant.name}`, inputBytes);
      let shards;
      try {
        const converter = new JobConverter(checkpoint, adapter, quant, writer, task, options.blockValues ?? 256 * 1024);
        for (const job of jobs) await converter.run(job);
        shards = await writer.finish();
      } catch (error) {
        await writer.abort(); // closes open files and the md5 worker, which would keep the process alive
        throw error;
      }
      task.done();
      const sourceParams = jobs.reduce((n, j) => n + j.rows * j.cols, 0);
      await writeTensorCache(dir, tensorCacheJson(shards, sourceParams));
      await copyTokenizerFiles(base.dir, dir, tokenizerFiles);
      const chatConfig = buildChatConfig({
        arch,
        quant,
        convTemplate: template,
        tokenizerFiles,
        tokenizerInfo,
        contextWindowSize,
        prefillChunkSize,
        generation: generationDefaults(generationConfig),
        eosTokenId: eosFrom(generationConfig),
        overrides: chatOverrides,
      });
      const chatConfigPath = join(dir, CHAT_CONFIG_FILE);
      await writeFile(chatConfigPath, `${JSON.stringify(chatConfig, null, 2)}\n`).catch((e: unknown) => rethrowDiskFull(e, chatConfigPath));
      return shards.length;
    });
    return {
      out: options.out,
      base: base.spec,
      adapter: adapterSource?.spec,
      quantization: quant.name,
      params: params.length,
      shards: shardCount,
      inputBytes,
      outputBytes,
      seconds: (performance.now() - started) / 1000,
      peakRssBytes: process.resourceUsage().maxRSS * 1024,
    };
  } finally {
    await adapter?.close();
    await checkpoint.close();
  }
}

/** Every source tensor exists with the shape the architecture implies and a float dtype. */
function checkSourceTensors(checkpoint: Checkpoint, jobs: WeightJob[]): void {
  const problems: string[] = [];
  for (const job of jobs) {
    for (const s of job.sources) {
      if (!checkpoint.has(s.tensor)) {
        problems.push(`${s.tensor} is missing`);
        continue;
      }
      const t = checkpoint.get(s.tensor);
      const expected = job.kind === 'norm' ? [job.cols] : [s.rows, job.cols];
      if (t.shape.join(',') !== expected.join(',')) problems.push(`${s.tensor} is [${t.shape}], config.json implies [${expected}]`);
      if (!['BF16', 'F16', 'F32'].includes(t.dtype)) problems.push(`${s.tensor} has dtype ${t.dtype}`);
    }
  }
  if (problems.length > 0) {
    const shown = problems.slice(0, 5).join('; ') + (problems.length > 5 ? `; and ${problems.length - 5} more` : '');
    throw new CheckpointError(`the checkpoint in ${checkpoint.dir} does not match its config.json: ${shown}`);
  }
}

/** Streams one output weight at a time through the kernels into the shard writer. */
class JobConverter {
  private readonly kernels = new RowKernels();

  constructor(
    private readonly checkpoint: Checkpoint,
    private readonly adapter: LoraAdapter | undefined,
    private readonly quant: Quantization,
    private readonly writer: ShardWriter,
    private readonly task: ProgressTask,
    private readonly blockValues: number,
  ) {}

  async run(job: WeightJob): Promise<void> {
    const rank = this.adapter?.maxRank ?? 0;
    const blockRows = Math.max(1, Math.floor(this.blockValues / job.cols));
    this.kernels.configure({ rows: blockRows, cols: job.cols, rank });
    if (job.quantizable && this.quant.bits === 4) await this.quantized(job, blockRows);
    else await this.plain(job, blockRows);
  }

  private async quantized(job: WeightJob, blockRows: number): Promise<void> {
    const [qWeight, qScale] = paramsOfJob(job, this.quant).map(concrete) as [ConcreteParam, ConcreteParam];
    const groupsPerRow = job.cols / GROUP_SIZE;
    const dtype = this.quant.modelDtype;
    const scales = dtype === 'float16' ? new Uint16Array(job.rows * groupsPerRow) : new Float32Array(job.rows * groupsPerRow);
    const sink = await this.writer.begin(qWeight.name, qWeight.shape, 'uint32', (job.rows * job.cols) / 2);
    let outRow = 0;
    await this.eachBlock(job, blockRows, async (rows, tensorName) => {
      const packed = this.kernels.quantize(rows, dtype, scales, outRow * groupsPerRow, tensorName);
      await sink.write(packed);
      outRow += rows;
    });
    await sink.end();
    await this.writer.writeTensor(qScale.name, qScale.shape, dtype, new Uint8Array(scales.buffer));
  }

  private async plain(job: WeightJob, blockRows: number): Promise<void> {
    const [param] = paramsOfJob(job, this.quant).map(concrete) as [ConcreteParam];
    const dtype = this.quant.modelDtype;
    const sink = await this.writer.begin(param.name, param.shape, dtype, job.rows * job.cols * DTYPE_BYTES[dtype]);
    const f16 = dtype === 'float16' ? new Uint16Array(blockRows * job.cols) : undefined;
    await this.eachBlock(job, blockRows, async (rows) => {
      const w = this.kernels.weights(rows);
      if (f16) {
        const out = f16.subarray(0, rows * job.cols);
        encodeF16(w, out);
        await sink.write(new Uint8Array(out.buffer, 0, out.byteLength));
      } else {
        await sink.write(new Uint8Array(w.buffer, w.byteOffset, w.byteLength));
      }
    });
    await sink.end();
  }

  /**
   * Loads each block of source rows (fused sources in order), applies the LoRA delta, then calls `emit`.
   * The next block is read while the current one is computed (two read buffers).
   */
  private async eachBlock(job: WeightJob, blockRows: number, emit: (rows: number, tensorName: string) => Promise<void>): Promise<void> {
    const blocks: Array<{ tensor: CheckpointTensor; row0: number; rows: number }> = [];
    for (const source of job.sources) {
      const tensor = this.checkpoint.get(source.tensor);
      for (let row0 = 0; row0 < source.rows; row0 += blockRows) blocks.push({ tensor, row0, rows: Math.min(blockRows, source.rows - row0) });
    }
    let reading = this.kernels.read(0, blocks[0]!.tensor, blocks[0]!.row0, blocks[0]!.rows);
    let factors: LoraFactors | undefined;
    let factorsFor: string | undefined;
    for (let i = 0; i < blocks.length; i++) {
      const { tensor, row0, rows } = blocks[i]!;
      const slot = (i % 2) as Slot;
      await reading;
      const next = blocks[i + 1];
      if (next) {
        reading = this.kernels.read((1 - slot) as Slot, next.tensor, next.row0, next.rows);
        reading.catch(() => undefined); // handled when awaited; no unhandled rejection while this block computes
      }
      try {
        this.kernels.decode(slot, tensor.dtype, rows * job.cols);
        if (factorsFor !== tensor.name) {
          const module = this.adapter?.forBaseTensor(tensor.name);
          factors = module && this.adapter ? await this.adapter.factors(module) : undefined;
          factorsFor = tensor.name;
          if (factors) this.kernels.setLoraA(factors.a);
        }
        if (factors) this.kernels.addLora(rows, factors.rank, factors.bScaled.subarray(row0 * factors.rank, (row0 + rows) * factors.rank));
        await emit(rows, tensor.name);
      } catch (error) {
        await reading.catch(() => undefined); // never leave a read into wasm memory running
        throw error;
      }
      const bytesPerRow = tensor.shape.length === 1 ? tensor.byteLength : tensor.byteLength / tensor.shape[0]!;
      this.task.advance(rows * bytesPerRow);
    }
  }
}

interface ConcreteParam {
  name: string;
  shape: number[];
}

function concrete(p: ParamRecord): ConcreteParam {
  return { name: p.name, shape: p.shape.map((d) => (typeof d === 'number' ? d : Number.NaN)) };
}

function positive(n: number, what: string): number {
  if (!Number.isInteger(n) || n <= 0) throw new BuildArgumentError(`${what} must be a positive integer, got ${n}`);
  return n;
}

async function readJson(path: string): Promise<unknown> {
  try {
    return JSON.parse(await readFile(path, 'utf8'));
  } catch (error) {
    throw new CheckpointError(`${path} is not valid JSON`, { cause: error });
  }
}

function eosFrom(generationConfig: Record<string, unknown> | undefined): number | number[] | undefined {
  const eos = generationConfig?.eos_token_id;
  if (typeof eos === 'number') return eos;
  if (Array.isArray(eos) && eos.every((e) => typeof e === 'number')) return eos as number[];
  return undefined;
}

