/**
 * verify-model: re-reads a converted model folder and checks it against what the stock model library
 * expects: mlc-chat-config.json fields WebLLM needs, every tensor record against the expected parameter list
 * (names, order, shapes, dtypes, byte sizes), shard files (size, bounds, md5), optionally a model library's
 * own parameter list, and optionally a sample of dequantized rows against the merged source weights.
 */
import { createHash } from 'node:crypto';
import { createReadStream, existsSync, statSync } from 'node:fs';
import { open, readFile, stat, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { Checkpoint, type CheckpointTensor } from './checkpoint.js';
import { CHAT_CONFIG_FILE } from './chat-config.js';
import { CheckpointError, MissingFileError } from './errors.js';
import { decodeBf16, decodeF16, f16BitsToF32, f32ToF16Bits } from './float16.js';
import type { HubOptions } from './hub.js';
import { readLibMetadata } from './lib-metadata.js';
import { parseLlamaConfig, type LlamaArchitecture } from './llama-config.js';
import { checkAdapterBase, LoraAdapter, type LoraFactors } from './lora.js';
import {
  DTYPE_BYTES,
  expectedParams,
  GROUP_SIZE,
  paramsOfJob,
  planWeights,
  quantizationByName,
  type ParamRecord,
  type Quantization,
  type WeightJob,
} from './param-plan.js';
import { count } from './plural.js';
import { dequantizeRows, MAX_INT } from './quantize.js';
import type { TensorRecord } from './shard-writer.js';
import { prepareSources, type ResolvedSource } from './sources.js';
import { readTensorCache, tensorCacheProblems, type TensorCache } from './tensor-cache.js';

export interface VerifyOptions {
  /** Source base model (folder or HF id): enables the dequantization check. */
  base?: string | undefined;
  adapter?: string | undefined;
  /** Folder inside the base repo or folder (`owner/name:folder` says the same). */
  baseSubfolder?: string | undefined;
  adapterSubfolder?: string | undefined;
  skipBaseCheck?: boolean;
  /** Rows sampled per weight (default 4: first, last and two random). */
  samples?: number;
  /** A model library (.wasm) or its metadata JSON to compare the parameter list with. */
  modelLib?: string | undefined;
  /** Skip md5 checks of the shard files. */
  skipMd5?: boolean;
  hub?: HubOptions;
  seed?: number;
}

export interface VerifyReport {
  ok: boolean;
  dir: string;
  quantization: string;
  params: number;
  shards: number;
  bytes: number;
  sampledRows: number;
  /** Largest |dequantized - merged source| over the sampled rows (undefined without --base). */
  maxAbsError: number | undefined;
  /** The same error in quantization steps (|error| / scale); at most 0.5 when rounding is correct. */
  maxErrorInSteps: number | undefined;
  problems: string[];
}

const MAX_LISTED = 20;

export async function verifyModel(dir: string, options: VerifyOptions = {}): Promise<VerifyReport> {
  const problems: string[] = [];
  if (!existsSync(dir)) throw new MissingFileError(`model folder ${dir} does not exist`, [dir]);
  if (!statSync(dir).isDirectory()) throw new MissingFileError(`${dir} is a file, not a model folder (give the folder that holds ${CHAT_CONFIG_FILE})`, [dir]);
  const configPath = join(dir, CHAT_CONFIG_FILE);
  if (!existsSync(configPath)) throw new MissingFileError(`${dir} has no ${CHAT_CONFIG_FILE}`, [configPath]);
  const chatConfig = JSON.parse(await readFile(configPath, 'utf8')) as Record<string, unknown>;
  const quant = quantizationByName(String(chatConfig.quantization));
  problems.push(...chatConfigProblems(dir, chatConfig));
  const arch = archFromChatConfig(chatConfig, configPath);

  const cache = await readTensorCache(dir);
  problems.push(...tensorCacheProblems(cache));
  const records = cache.records.flatMap((s) => s.records);
  const expected = expectedParams(arch, quant);
  problems.push(...compareParams(records, expected, 'expected parameter list'));
  problems.push(...(await shardFileProblems(dir, cache, options.skipMd5 ?? false)));

  if (options.modelLib) {
    const meta = await readLibMetadata(options.modelLib);
    if (meta.quantization !== quant.name) problems.push(`model library is ${meta.quantization}, the model is ${quant.name}`);
    const libParams = meta.params.map((p) => ({
      name: p.name,
      shape: p.shape.map((d) => (d === 'vocab_size' ? arch.vocabSize : d)),
      dtype: p.dtype,
    })) as ParamRecord[];
    problems.push(...compareParams(records, libParams, `model library ${options.modelLib}`));
  }

  let sample: SampleResult = { rows: 0, maxAbsError: undefined, maxErrorInSteps: undefined };
  if (options.base && problems.length === 0) {
    sample = await sampleAgainstSource(dir, cache, arch, quant, options, problems);
  }
  return {
    ok: problems.length === 0,
    dir,
    quantization: quant.name,
    params: records.length,
    shards: cache.records.length,
    bytes: records.reduce((n, r) => n + r.nbytes, 0),
    sampledRows: sample.rows,
    maxAbsError: sample.maxAbsError,
    maxErrorInSteps: sample.maxErrorInSteps,
    problems,
  };
}

/** The fields WebLLM 0.2.86 reads from mlc-chat-config.json, with the traps it has (see chat-config.ts). */
export function chatConfigProblems(dir: string, c: Record<string, unknown>): string[] {
  const p: string[] = [];
  if (c.model_type !== 'llama') p.push(`mlc-chat-config.json: model_type ${JSON.stringify(c.model_type)}, expected "llama"`);
  if (c.sliding_window_size !== -1) p.push('mlc-chat-config.json: sliding_window_size must be -1 (WebLLM throws WindowSizeConfigurationError otherwise)');
  if (!Number.isInteger(c.context_window_size) || (c.context_window_size as number) <= 0) p.push('mlc-chat-config.json: context_window_size must be a positive integer');
  if (!Number.isInteger(c.vocab_size)) p.push('mlc-chat-config.json: vocab_size is missing');
  for (const key of ['temperature', 'top_p', 'repetition_penalty', 'frequency_penalty', 'presence_penalty']) {
    if (typeof c[key] !== 'number') p.push(`mlc-chat-config.json: ${key} is missing`);
  }
  const files = c.tokenizer_files;
  if (!Array.isArray(files) || !(files.includes('tokenizer.json') || files.includes('tokenizer.model'))) {
    p.push('mlc-chat-config.json: tokenizer_files must list tokenizer.json (or tokenizer.model)');
  } else {
    for (const f of files) if (!existsSync(join(dir, String(f)))) p.push(`tokenizer file ${String(f)} is listed but missing`);
  }
  const t = c.conv_template as Record<string, unknown> | undefined;
  if (!t || typeof t !== 'object') p.push('mlc-chat-config.json: conv_template is missing');
  else {
    if (!Array.isArray(t.seps) || t.seps.length === 0) p.push('conv_template.seps must not be empty');
    if (!Array.isArray(t.stop_token_ids)) p.push('conv_template.stop_token_ids is missing');
    if (!t.roles || typeof t.roles !== 'object') p.push('conv_template.roles is missing');
    if (typeof t.system_template !== 'string') p.push('conv_template.system_template is missing');
  }
  return p;
}

function archFromChatConfig(c: Record<string, unknown>, source: string): LlamaArchitecture {
  const m = (c.model_config ?? {}) as Record<string, unknown>;
  return parseLlamaConfig({ model_type: 'llama', ...m, rope_theta: m.position_embedding_base }, source);
}

function compareParams(records: TensorRecord[], expected: ParamRecord[], against: string): string[] {
  const p: string[] = [];
  const have = new Set(records.map((r) => r.name));
  const want = new Set(expected.map((e) => e.name));
  const missing = expected.filter((e) => !have.has(e.name)).map((e) => e.name);
  const extra = records.filter((r) => !want.has(r.name)).map((r) => r.name);
  if (missing.length > 0) p.push(`missing tensors (${against}): ${list(missing)}`);
  if (extra.length > 0) p.push(`unexpected tensors (${against}): ${list(extra)}`);
  const n = Math.min(records.length, expected.length);
  let orderReported = false;
  for (let i = 0; i < n; i++) {
    const r = records[i]!;
    const e = expected[i]!;
    if (r.name !== e.name) {
      if (!orderReported && missing.length === 0 && extra.length === 0) p.push(`tensor #${i} is ${r.name}, ${against} has ${e.name} there (order differs)`);
      orderReported = true;
      continue;
    }
    if (r.shape.join(',') !== e.shape.join(',')) p.push(`${r.name}: shape [${r.shape}], ${against} says [${e.shape}]`);
    if (r.dtype !== e.dtype) p.push(`${r.name}: dtype ${r.dtype}, ${against} says ${e.dtype}`);
    const bytes = e.shape.reduce<number>((a, b) => a * (b as number), 1) * DTYPE_BYTES[e.dtype];
    if (r.nbytes !== bytes) p.push(`${r.name}: ${r.nbytes} bytes, ${against} implies ${bytes}`);
  }
  return p;
}

const list = (names: string[]) => names.slice(0, MAX_LISTED).join(', ') + (names.length > MAX_LISTED ? ` and ${names.length - MAX_LISTED} more` : '');

async function shardFileProblems(dir: string, cache: TensorCache, skipMd5: boolean): Promise<string[]> {
  const p: string[] = [];
  for (const shard of cache.records) {
    const path = join(dir, shard.dataPath);
    if (!existsSync(path)) {
      p.push(`shard ${shard.dataPath} is missing`);
      continue;
    }
    const size = (await stat(path)).size;
    if (size !== shard.nbytes) p.push(`shard ${shard.dataPath} has ${count(size, 'byte')}, tensor-cache.json says ${shard.nbytes}`);
    else if (!skipMd5 && typeof shard.md5sum === 'string') {
      const md5 = await fileMd5(path);
      if (md5 !== shard.md5sum) p.push(`shard ${shard.dataPath}: md5 ${md5}, tensor-cache.json says ${shard.md5sum}`);
    }
  }
  return p;
}

function fileMd5(path: string): Promise<string> {
  return new Promise((resolveHash, reject) => {
    const hash = createHash('md5');
    createReadStream(path, { highWaterMark: 4 << 20 })
      .on('data', (chunk) => hash.update(chunk))
      .on('error', reject)
      .on('end', () => resolveHash(hash.digest('hex')));
  });
}

interface SampleResult {
  rows: number;
  maxAbsError: number | undefined;
  maxErrorInSteps: number | undefined;
}

/** Dequantizes sampled rows of every weight and compares them with the merged source rows. */
async function sampleAgainstSource(
  dir: string,
  cache: TensorCache,
  arch: LlamaArchitecture,
  quant: Quantization,
  options: VerifyOptions,
  problems: string[],
): Promise<SampleResult> {
  const prepared = await prepareSources(
    [
      { spec: options.base!, kind: 'base', subfolder: options.baseSubfolder },
      ...(options.adapter ? [{ spec: options.adapter, kind: 'adapter' as const, subfolder: options.adapterSubfolder }] : []),
    ],
    options.hub ?? {},
  );
  await prepared.fetch();
  const [base, adapterSource] = prepared.sources as [ResolvedSource, ResolvedSource | undefined];
  const checkpoint = await Checkpoint.open(base.dir);
  let adapter: LoraAdapter | undefined;
  const shards = new ShardReader(dir, cache);
  const result: SampleResult = { rows: 0, maxAbsError: 0, maxErrorInSteps: 0 };
  try {
    if (adapterSource) {
      adapter = await LoraAdapter.open(adapterSource.dir, checkpoint);
      if (!options.skipBaseCheck) checkAdapterBase(adapter.config.baseModel, base.hubId);
    }
    const rand = seeded(options.seed ?? 1);
    const samples = Math.max(1, options.samples ?? 4);
    for (const job of planWeights(arch)) {
      const rows = sampleRows(job.rows, samples, rand);
      const factorCache = new Map<string, LoraFactors>();
      for (const row of rows) {
        const { tensor, localRow } = sourceRow(job, row);
        const source = await mergedSourceRow(checkpoint, adapter, factorCache, tensor, localRow, job.cols);
        const error = await compareRow(shards, job, quant, row, source);
        result.rows++;
        result.maxAbsError = Math.max(result.maxAbsError!, error.abs);
        result.maxErrorInSteps = Math.max(result.maxErrorInSteps!, error.steps);
        if (error.problem) problems.push(error.problem);
        if (problems.length > MAX_LISTED) return result;
      }
    }
  } finally {
    await shards.close();
    await adapter?.close();
    await checkpoint.close();
  }
  return result;
}

function sampleRows(n: number, samples: number, rand: () => number): number[] {
  const rows = new Set<number>([0, n - 1]);
  while (rows.size < Math.min(n, samples)) rows.add(Math.floor(rand() * n));
  return [...rows].slice(0, Math.max(samples, 1)).sort((a, b) => a - b);
}

function sourceRow(job: WeightJob, row: number): { tensor: string; localRow: number } {
  let r = row;
  for (const s of job.sources) {
    if (r < s.rows) return { tensor: s.tensor, localRow: r };
    r -= s.rows;
  }
  throw new RangeError(`row ${row} outside ${job.target}`);
}

async function mergedSourceRow(
  checkpoint: Checkpoint,
  adapter: LoraAdapter | undefined,
  factorCache: Map<string, LoraFactors>,
  name: string,
  row: number,
  cols: number,
): Promise<Float64Array> {
  const t = checkpoint.get(name);
  const values = await readSourceRow(t, row, cols);
  const module = adapter?.forBaseTensor(name);
  if (module && adapter) {
    let f = factorCache.get(name);
    if (!f) {
      f = await adapter.factors(module);
      factorCache.set(name, f);
    }
    for (let j = 0; j < f.rank; j++) {
      const b = f.bScaled[row * f.rank + j]!;
      for (let k = 0; k < cols; k++) values[k]! += b * f.a[j * cols + k]!;
    }
  }
  return values;
}

async function readSourceRow(t: CheckpointTensor, row: number, cols: number): Promise<Float64Array> {
  const width = t.byteLength / (t.shape.length === 1 ? 1 : t.shape[0]!);
  const bytes = new Uint8Array(width);
  await t.file.read(t, row * width, bytes);
  const f32 = new Float32Array(cols);
  if (t.dtype === 'BF16') decodeBf16(new Uint16Array(bytes.buffer), f32);
  else if (t.dtype === 'F16') decodeF16(new Uint16Array(bytes.buffer), f32);
  else if (t.dtype === 'F32') f32.set(new Float32Array(bytes.buffer));
  else throw new CheckpointError(`${t.name}: unsupported dtype ${t.dtype}`);
  return Float64Array.from(f32);
}

async function compareRow(
  shards: ShardReader,
  job: WeightJob,
  quant: Quantization,
  row: number,
  source: Float64Array,
): Promise<{ abs: number; steps: number; problem?: string }> {
  const params = paramsOfJob(job, quant);
  const dtype = quant.modelDtype;
  let abs = 0;
  let steps = 0;
  if (params.length === 2) {
    const groups = job.cols / GROUP_SIZE;
    const qw = new Uint32Array((await shards.readRow(params[0]!.name, row, (job.cols / 8) * 4)).buffer);
    const rawScale = await shards.readRow(params[1]!.name, row, groups * DTYPE_BYTES[dtype]);
    const scales = dtype === 'float16' ? new Uint16Array(rawScale.buffer) : new Float32Array(rawScale.buffer);
    const deq = dequantizeRows(qw, scales, dtype, 1, job.cols);
    // A float16 scale below the smallest subnormal rounds to 0; the group's weights (< 7 * 2^-25) then read 0.
    const floor = dtype === 'float16' ? MAX_INT * 2 ** -25 : 0;
    for (let k = 0; k < job.cols; k++) {
      const err = Math.abs(deq[k]! - source[k]!);
      const raw = scales[Math.floor(k / GROUP_SIZE)]!;
      const scale = dtype === 'float16' ? f16BitsToF32(raw) : raw;
      abs = Math.max(abs, err);
      if (scale > 0) steps = Math.max(steps, err / scale);
      // Round-to-nearest keeps every value within half a step (slack for the f32 merge vs this f64 one).
      if (err > 0.5005 * scale + floor) {
        const s = scale > 0 ? `${(err / scale).toFixed(3)} steps` : 'scale 0';
        return { abs, steps, problem: `${params[0]!.name} row ${row} col ${k}: dequantized ${deq[k]} vs source ${source[k]} (${s})` };
      }
    }
    return { abs, steps };
  }
  const p = params[0]!;
  const raw = await shards.readRow(p.name, job.kind === 'norm' ? 0 : row, job.cols * DTYPE_BYTES[dtype]);
  const values = dtype === 'float16' ? Array.from(new Uint16Array(raw.buffer), f16BitsToF32) : Array.from(new Float32Array(raw.buffer));
  for (let k = 0; k < job.cols; k++) {
    const x = source[k]!;
    const err = Math.abs(values[k]! - x);
    abs = Math.max(abs, err);
    // Plain weights are the source rounded once to the model dtype (half an ulp, plus f32 merge slack).
    const nearest = dtype === 'float16' ? f16BitsToF32(f32ToF16Bits(x)) : Math.fround(x);
    const halfUlp = Math.max(Math.abs(nearest - x), dtype === 'float16' ? 2 ** -25 : 2 ** -150);
    if (err > 2 * halfUlp + 1e-6 * Math.abs(x)) {
      return { abs, steps, problem: `${p.name} row ${row} col ${k}: stored ${values[k]} vs source ${x}` };
    }
  }
  return { abs, steps };
}

class ShardReader {
  private readonly handles = new Map<string, FileHandle>();
  private readonly byName = new Map<string, { shard: string; record: TensorRecord }>();

  constructor(
    private readonly dir: string,
    cache: TensorCache,
  ) {
    for (const shard of cache.records) for (const record of shard.records) this.byName.set(record.name, { shard: shard.dataPath, record });
  }

  /** Bytes [row * rowBytes, (row + 1) * rowBytes) of a record. */
  async readRow(name: string, row: number, rowBytes: number): Promise<Uint8Array> {
    const entry = this.byName.get(name);
    if (!entry) throw new CheckpointError(`no record ${name}`);
    let handle = this.handles.get(entry.shard);
    if (!handle) {
      handle = await open(join(this.dir, entry.shard), 'r');
      this.handles.set(entry.shard, handle);
    }
    const out = new Uint8Array(rowBytes);
    const { bytesRead } = await handle.read(out, 0, rowBytes, entry.record.byteOffset + row * rowBytes);
    if (bytesRead !== rowBytes) throw new CheckpointError(`${entry.shard} is shorter than its records`);
    return out;
  }

  async close(): Promise<void> {
    await Promise.all([...this.handles.values()].map((h) => h.close()));
  }
}

function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
