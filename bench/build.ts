/**
 * `npm run bench:build`: throughput and peak memory of `aegis-guard build-model` on a synthetic checkpoint
 * with the shapes of a 1B Llama (Llama-3.2-1B: hidden 2048, 16 layers, 32 heads, 8 KV heads, intermediate
 * 8192, vocab 128256, tied embeddings; bf16, about 2.5 GB) plus a rank-16 LoRA on q/k/v/o/gate/up/down.
 *
 * The conversion runs in a child process (the real CLI, through tsx) so its peak RSS is its own; the child
 * reports process.resourceUsage().maxRSS in its --json summary. Goals: peak RSS <= 1.5 GB whatever the model
 * size, >= 150 MB/s of input. The input was just written, so it is read from the page cache: the figure is
 * the converter's own speed, not the disk's.
 *
 * Prints a human summary on stderr and the results as JSON on stdout (also saved to bench-results/build.json).
 * Options: --keep (keep the temp folder), --quant q4f16_1,q4f32_1, --layers N (fewer layers for a quick run),
 * --shape 8b (Llama-3.1-8B widths, untied lm_head, 2 layers by default).
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, statfsSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hfConfig, llamaTensorShapes, tinyTokenizerJson, type TinyLlamaSpec } from '../test/helpers/build-tiny-llama.js';
import { seededRandom } from '../test/helpers/prng.js';
import type { BuildModelResult } from '../src/model-builder/convert.js';
import { count } from '../src/model-builder/plural.js';
import { f32ToBf16Bits, writeSafetensors, type TensorToWrite } from '../test/helpers/safetensors-writer.js';

const args = process.argv.slice(2);
const flag = (name: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? (args[i + 1] ?? '') : undefined;
};
const keep = args.includes('--keep');
const quants = (flag('quant') ?? 'q4f16_1,q4f32_1').split(',');

// --shape 8b: Llama-3.1-8B's widths and untied lm_head (use --layers 2 or so): the largest tensors of the real
// AegisGuard build (1 GB embedding and lm_head) in a checkpoint that fits the benchmark's disk budget.
const EIGHT_B = flag('shape') === '8b';
const SPEC: TinyLlamaSpec = {
  hidden: EIGHT_B ? 4096 : 2048,
  layers: Number(flag('layers') ?? (EIGHT_B ? 2 : 16)),
  heads: 32,
  kvHeads: 8,
  intermediate: EIGHT_B ? 14336 : 8192,
  vocab: 128256,
  tie: !EIGHT_B,
  dtype: 'BF16',
  seed: 7,
  shards: 2,
};
const RANK = 16;

function log(line: string) {
  process.stderr.write(`${line}\n`);
}

/** Small pseudo-random weights (one PRNG draw per value); for the small LoRA tensors. */
function filler(seed: number, scale: number, offset = 0) {
  const rand = seededRandom(seed);
  return (_start: number, out: Float32Array) => {
    for (let i = 0; i < out.length; i++) out[i] = offset + (rand() - 0.5) * scale;
  };
}

/**
 * bf16 bytes for the 2.5 GB of base weights: a 4 MB block of random values, read at a per-tensor offset
 * (encoding 1.2 billion values one by one would make writing the checkpoint take minutes).
 */
function bf16Pattern(seed: number, scale: number, offset = 0): Uint8Array {
  const rand = seededRandom(seed);
  const bits = new Uint16Array(2 * 1024 * 1024 + 7);
  for (let i = 0; i < bits.length; i++) bits[i] = f32ToBf16Bits(offset + (rand() - 0.5) * scale);
  return new Uint8Array(bits.buffer);
}
const WEIGHTS = bf16Pattern(1, 0.04);
const NORMS = bf16Pattern(2, 0.2, 1);
function patternBytes(pattern: Uint8Array, shift: number) {
  const period = pattern.length - 14;
  return {
    bytes: (start: number, out: Uint8Array) => {
      for (let done = 0; done < out.length; ) {
        const at = (start + done + shift) % period;
        const n = Math.min(out.length - done, period - at);
        out.set(pattern.subarray(at, at + n), done);
        done += n;
      }
    },
  };
}

async function writeCheckpoint(dir: string): Promise<number> {
  mkdirSync(dir, { recursive: true });
  const shapes = llamaTensorShapes(SPEC);
  const tensors: TensorToWrite[] = shapes.map(([name, shape], i) => ({
    name,
    dtype: 'BF16',
    shape,
    data: name.endsWith('norm.weight') ? patternBytes(NORMS, 2 * i) : patternBytes(WEIGHTS, 2 * 4099 * i),
  }));
  const half = Math.ceil(tensors.length / 2);
  const files = ['model-00001-of-00002.safetensors', 'model-00002-of-00002.safetensors'];
  const weightMap: Record<string, string> = {};
  let bytes = 0;
  for (const [i, part] of [tensors.slice(0, half), tensors.slice(half)].entries()) {
    for (const t of part) weightMap[t.name] = files[i]!;
    bytes += await writeSafetensors(join(dir, files[i]!), part);
  }
  writeFileSync(join(dir, 'model.safetensors.index.json'), JSON.stringify({ metadata: {}, weight_map: weightMap }));
  writeFileSync(join(dir, 'config.json'), JSON.stringify(hfConfig(SPEC)));
  writeFileSync(join(dir, 'tokenizer.json'), JSON.stringify(tinyTokenizerJson()));
  return bytes;
}

async function writeAdapter(dir: string): Promise<void> {
  mkdirSync(dir, { recursive: true });
  const targets = ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'];
  const tensors: TensorToWrite[] = [];
  let seed = 1000;
  for (const [name, shape] of llamaTensorShapes(SPEC)) {
    const module = name.replace(/\.weight$/, '');
    if (!targets.includes(module.split('.').at(-1)!)) continue;
    const [out, inp] = shape as [number, number];
    tensors.push(
      { name: `base_model.model.${module}.lora_A.weight`, dtype: 'F32', shape: [RANK, inp], data: filler(seed++, 0.02) },
      { name: `base_model.model.${module}.lora_B.weight`, dtype: 'F32', shape: [out, RANK], data: filler(seed++, 0.02) },
    );
  }
  await writeSafetensors(join(dir, 'adapter_model.safetensors'), tensors);
  writeFileSync(
    join(dir, 'adapter_config.json'),
    JSON.stringify({ peft_type: 'LORA', base_model_name_or_path: 'bench/synthetic-1b', r: RANK, lora_alpha: 32, target_modules: targets, bias: 'none' }),
  );
}

/** What `build-model --json` prints: the builder's own result plus its input throughput. */
type CliSummary = BuildModelResult & { inputMBps: number };

function runBuild(base: string, adapter: string, quant: string, out: string): Promise<CliSummary & { wallSeconds: number }> {
  return new Promise((resolveRun, reject) => {
    const started = performance.now();
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', 'src/model-builder/cli.ts', 'build-model', '--base', base, '--adapter', adapter, '--quantization', quant, '--out', out, '--json', '--quiet', '--skip-base-check'],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    let stdout = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) return reject(new Error(`build-model exited with ${code}`));
      resolveRun({ ...(JSON.parse(stdout.trim().split('\n').at(-1)!) as CliSummary), wallSeconds: (performance.now() - started) / 1000 });
    });
  });
}

const work = mkdtempSync(join(tmpdir(), 'aegis-bench-build-'));
try {
  const free = statfsSync(work);
  const freeGB = (free.bavail * free.bsize) / 1e9;
  if (freeGB < 4.5) throw new Error(`bench:build needs about 4.5 GB free in ${tmpdir()}, found ${freeGB.toFixed(1)} GB`);
  log(`writing a synthetic ${EIGHT_B ? '8B' : '1B'}-shaped checkpoint (${SPEC.layers} layers) to ${work} ...`);
  const t0 = performance.now();
  const checkpointBytes = await writeCheckpoint(join(work, 'base'));
  await writeAdapter(join(work, 'adapter'));
  log(`  ${(checkpointBytes / 1e9).toFixed(2)} GB in ${((performance.now() - t0) / 1000).toFixed(1)} s`);

  const runs = [];
  for (const quant of quants) {
    const out = join(work, `out-${quant}`);
    log(`converting (${quant}) ...`);
    const r = await runBuild(join(work, 'base'), join(work, 'adapter'), quant, out);
    runs.push(r);
    rmSync(out, { recursive: true, force: true });
  }
  const cpu = execFileSync('sh', ['-c', "grep -m1 'model name' /proc/cpuinfo | cut -d: -f2"]).toString().trim();
  const result = {
    benchmark: 'build-model',
    model: { shape: EIGHT_B ? '8b' : '1b', ...SPEC, loraRank: RANK, checkpointBytes },
    machine: { cpu, cores: (await import('node:os')).cpus().length, node: process.version },
    goals: { peakRssBytesMax: 1.5e9, inputMBpsMin: 150 },
    runs: runs.map((r) => ({
      quantization: r.quantization,
      inputMBps: Number(r.inputMBps.toFixed(1)),
      seconds: Number(r.seconds.toFixed(2)),
      wallSeconds: Number(r.wallSeconds.toFixed(2)),
      peakRssMB: Number((r.peakRssBytes / 1e6).toFixed(0)),
      inputBytes: r.inputBytes,
      outputBytes: r.outputBytes,
      params: r.params,
      shards: r.shards,
    })),
  };
  for (const r of result.runs) {
    log(
      `${r.quantization}: ${r.inputMBps} MB/s of input (${(r.inputBytes / 1e9).toFixed(2)} GB in ${r.seconds} s; goal >= 150), ` +
        `peak RSS ${r.peakRssMB} MB (goal <= 1500), ${count(r.params, 'tensor')} in ${count(r.shards, 'shard')}, ${(r.outputBytes / 1e9).toFixed(2)} GB out`,
    );
  }
  mkdirSync('bench-results', { recursive: true });
  writeFileSync('bench-results/build.json', JSON.stringify(result, null, 2));
  process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
} finally {
  if (keep) log(`kept ${work}`);
  else rmSync(work, { recursive: true, force: true });
}
