/**
 * The `aegis-guard` command line (Node only): build-model and verify-model.
 * Errors print one line and exit with status 1; `--help` documents every option.
 */
import { readFileSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { formatOptions, integerOption, parseArgs, type OptionSpec } from './cli-args.js';
import { buildModel } from './convert.js';
import { BuildArgumentError, BuildError, VerifyError } from './errors.js';
import { loadManifest } from './manifest.js';
import { count } from './plural.js';
import { createProgress, formatBytes, silentProgress, type ProgressStream } from './progress.js';
import { verifyModel } from './verify.js';

export interface CliIO {
  stdout: { write(chunk: string): unknown };
  stderr: ProgressStream;
  /** Remove the partial output on Ctrl-C / SIGTERM (the real CLI only). */
  handleSignals?: boolean;
}

/** Where NVIDIA's repo keeps the AegisGuard 2.0 adapter (its root holds only README.md and .gitattributes). */
const AEGIS_ADAPTER = 'nvidia/llama-3.1-nemoguard-8b-content-safety:llama-3.1-nemoguard-8b-content-safety-lora-adapter';

const HUB_OPTIONS: OptionSpec[] = [
  { name: 'base-subfolder', type: 'string', valueName: 'folder', help: 'Folder of the --base repo (or local folder) that holds the checkpoint' },
  { name: 'adapter-subfolder', type: 'string', valueName: 'folder', help: 'Folder of the --adapter repo (or local folder) that holds adapter_config.json' },
  { name: 'cache-dir', type: 'string', valueName: 'dir', help: 'Download cache (default ~/.cache/aegis-guard/hub or $AEGIS_GUARD_CACHE)' },
  { name: 'revision', type: 'string', valueName: 'rev', help: 'Hugging Face revision of ids that do not name one with @rev (default main)' },
];

const SOURCE = 'dir | owner/name[@rev][:folder]';

const BUILD_OPTIONS: OptionSpec[] = [
  { name: 'base', type: 'string', valueName: SOURCE, help: 'Base Llama model in safetensors, e.g. meta-llama/Llama-3.1-8B-Instruct' },
  { name: 'adapter', type: 'string', valueName: SOURCE, help: `PEFT LoRA adapter, e.g. ${AEGIS_ADAPTER}` },
  { name: 'quantization', type: 'string', valueName: 'q4f16_1 | q4f32_1', help: 'Weight format (q4f16_1 needs shader-f16; q0f16/q0f32 also accepted)' },
  { name: 'out', type: 'string', valueName: 'dir', help: 'Output folder (written to <dir>.partial-* then renamed)' },
  { name: 'model', type: 'string', valueName: 'id | manifest', help: 'Guard manifest (e.g. aegis-guard-2.0): default --base/--adapter, checks the architecture' },
  { name: 'force', type: 'boolean', help: 'Replace an existing output folder' },
  { name: 'context-window', type: 'string', valueName: 'n', help: 'context_window_size in mlc-chat-config.json (default 4096)' },
  { name: 'prefill-chunk', type: 'string', valueName: 'n', help: 'prefill_chunk_size; must match the model library (default 1024)' },
  { name: 'conv-template', type: 'string', valueName: 'name', help: 'llama-3_1 | llama-2 (default: from the vocabulary or the manifest)' },
  { name: 'skip-base-check', type: 'boolean', help: "Accept an adapter whose base_model_name_or_path names another model" },
  ...HUB_OPTIONS,
  { name: 'json', type: 'boolean', help: 'Print a JSON summary on stdout' },
  { name: 'quiet', type: 'boolean', help: 'No progress output' },
  { name: 'help', type: 'boolean', help: 'Show this help' },
];

const VERIFY_OPTIONS: OptionSpec[] = [
  { name: 'base', type: 'string', valueName: SOURCE, help: 'Source base model: also compare dequantized rows with the merged source' },
  { name: 'adapter', type: 'string', valueName: SOURCE, help: 'The LoRA adapter the model was built with' },
  { name: 'samples', type: 'string', valueName: 'n', help: 'Rows sampled per weight with --base (default 4)' },
  { name: 'model-lib', type: 'string', valueName: 'file', help: 'A model library (.wasm) or its metadata JSON: compare the parameter list' },
  { name: 'skip-base-check', type: 'boolean', help: 'Accept an adapter trained on another base name' },
  { name: 'skip-md5', type: 'boolean', help: 'Do not hash the shard files' },
  ...HUB_OPTIONS,
  { name: 'json', type: 'boolean', help: 'Print the report as JSON on stdout' },
  { name: 'quiet', type: 'boolean', help: 'No progress output' },
  { name: 'help', type: 'boolean', help: 'Show this help' },
];

const SOURCES = `Sources (--base, --adapter):
  a local folder, or a Hugging Face checkpoint owner/name[@revision][:folder]: ':folder' names the folder of
  the repo that holds it (NVIDIA's NemoGuard repo keeps its adapter in one; --base-subfolder and
  --adapter-subfolder say the same). When a repo has no checkpoint where asked, the error lists the folders
  that hold one. Gated repos (meta-llama/*) need their licence accepted on the model page and HF_TOKEN.`;

const ENVIRONMENT = `Environment:
  HF_TOKEN            Hugging Face token (needed for gated models such as meta-llama/*)
  HF_ENDPOINT         Hugging Face endpoint or mirror (default https://huggingface.co)
  AEGIS_GUARD_CACHE   Download cache folder`;

const USAGE = `Usage: aegis-guard <command> [options]

Commands:
  build-model    Merge a LoRA adapter into a Llama base model and convert it for WebLLM (Node only, no Python)
  verify-model   Check a converted model folder

Run "aegis-guard <command> --help" for the options of a command.

Example (AegisGuard 2.0, from Hugging Face ids):
  HF_TOKEN=hf_... npx aegis-guard build-model --base meta-llama/Llama-3.1-8B-Instruct \\
      --adapter ${AEGIS_ADAPTER} \\
      --quantization q4f16_1 --out models/aegis-guard-2.0-q4f16_1
  npx aegis-guard verify-model models/aegis-guard-2.0-q4f16_1
(--model aegis-guard-2.0 fills in the same --base and --adapter.)`;

const BUILD_HELP = `Usage: aegis-guard build-model --base <source> [--adapter <source>] --quantization <q> --out <dir> [options]

Streams the base model's safetensors tensor by tensor, merges the LoRA adapter in f32
(W + lora_alpha/r * B @ A), fuses q/k/v and gate/up, quantizes to 4 bits in groups of 32 and writes
params_shard_*.bin, tensor-cache.json, mlc-chat-config.json and the tokenizer files for WebLLM 0.2.86's
stock Llama model library.

Options:
${formatOptions(BUILD_OPTIONS)}

${SOURCES}

${ENVIRONMENT}`;

const VERIFY_HELP = `Usage: aegis-guard verify-model <dir> [--base <source> [--adapter <source>]] [options]

Checks mlc-chat-config.json, every tensor record against the expected parameter list (names, order,
shapes, dtypes, byte sizes), the shard files (size, bounds, md5) and, with --base, a sample of
dequantized rows against the merged source weights (maximum absolute error reported).

Options:
${formatOptions(VERIFY_OPTIONS)}

${SOURCES}

${ENVIRONMENT}`;

function version(): string {
  try {
    const pkg = JSON.parse(readFileSync(join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'package.json'), 'utf8')) as { version?: string };
    return pkg.version ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

const str = (v: string | boolean | undefined) => (typeof v === 'string' ? v : undefined);

export async function main(argv: readonly string[], io: CliIO = { stdout: process.stdout, stderr: process.stderr, handleSignals: true }): Promise<number> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case undefined:
      case 'help':
      case '--help':
      case '-h':
        io.stdout.write(`${USAGE}\n`);
        return command === undefined ? 1 : 0;
      case '--version':
        io.stdout.write(`${version()}\n`);
        return 0;
      case 'build-model':
        return await buildCommand(rest, io);
      case 'verify-model':
        return await verifyCommand(rest, io);
      default:
        throw new BuildArgumentError(`unknown command ${JSON.stringify(command)}; use build-model or verify-model (see --help)`);
    }
  } catch (error) {
    io.stderr.write(`aegis-guard: ${describe(error)}\n`);
    if (process.env.AEGIS_GUARD_DEBUG && error instanceof Error && error.stack) io.stderr.write(`${error.stack}\n`);
    return 1;
  }
}

function describe(error: unknown): string {
  const oneLine = (s: string) => s.replace(/\s*\n\s*/g, ' ');
  if (error instanceof BuildError) return oneLine(error.message);
  if (error instanceof Error) return oneLine(`unexpected ${error.name}: ${error.message} (set AEGIS_GUARD_DEBUG=1 for the stack)`);
  return oneLine(String(error));
}

async function buildCommand(argv: readonly string[], io: CliIO): Promise<number> {
  const { options: o, positionals } = parseArgs(argv, BUILD_OPTIONS);
  if (o.help) {
    io.stdout.write(`${BUILD_HELP}\n`);
    return 0;
  }
  if (positionals.length > 0) throw new BuildArgumentError(`unexpected argument ${positionals[0]}; build-model takes only options (see --help)`);
  const manifest = str(o.model) ? await loadManifest(str(o.model)!) : undefined;
  // The manifest's repo ids: buildModel takes their folders and revisions from the manifest too, so that
  // --base-subfolder, --adapter-subfolder and --revision can still override them.
  const base = str(o.base) ?? manifest?.base.hfId;
  const adapter = str(o.adapter) ?? manifest?.adapter?.hfId;
  if (o['adapter-subfolder'] && !adapter) throw new BuildArgumentError('--adapter-subfolder needs --adapter (or a --model with an adapter)');
  const missing = [!base && '--base', !str(o.quantization) && '--quantization', !str(o.out) && '--out'].filter(Boolean);
  if (missing.length > 0) throw new BuildArgumentError(`build-model needs ${missing.join(', ')} (see --help)`);
  const progress = o.quiet ? silentProgress : createProgress(io.stderr);
  let partial: string | undefined;
  const cleanup = () => {
    if (partial) rmSync(partial, { recursive: true, force: true });
    process.exit(130);
  };
  if (io.handleSignals) {
    process.once('SIGINT', cleanup);
    process.once('SIGTERM', cleanup);
  }
  try {
    const result = await buildModel({
      base: base!,
      adapter,
      baseSubfolder: str(o['base-subfolder']),
      adapterSubfolder: str(o['adapter-subfolder']),
      quantization: str(o.quantization)!,
      out: str(o.out)!,
      force: o.force === true,
      skipBaseCheck: o['skip-base-check'] === true,
      contextWindowSize: integerOption(o['context-window'], 'context-window'),
      prefillChunkSize: integerOption(o['prefill-chunk'], 'prefill-chunk'),
      convTemplate: str(o['conv-template']),
      manifest,
      hub: { cacheDir: str(o['cache-dir']), revision: str(o.revision) },
      progress,
      onPartialDir: (dir) => (partial = dir),
    });
    if (o.json) {
      io.stdout.write(`${JSON.stringify({ ...result, inputMBps: result.inputBytes / 1e6 / result.seconds })}\n`);
    } else {
      const rate = result.inputBytes / 1e6 / result.seconds;
      io.stdout.write(
        `Built ${result.out} (${result.quantization}): ${count(result.params, 'tensor')} in ${count(result.shards, 'shard')}, ${formatBytes(result.outputBytes)} ` +
          `from ${formatBytes(result.inputBytes)} in ${result.seconds.toFixed(1)} s (${rate.toFixed(0)} MB/s), peak RSS ${formatBytes(result.peakRssBytes)}\n` +
          `Check it with: aegis-guard verify-model ${result.out} --base ${result.base}${result.adapter ? ` --adapter ${result.adapter}` : ''}\n`,
      );
    }
    return 0;
  } finally {
    if (io.handleSignals) {
      process.off('SIGINT', cleanup);
      process.off('SIGTERM', cleanup);
    }
  }
}

async function verifyCommand(argv: readonly string[], io: CliIO): Promise<number> {
  const { options: o, positionals } = parseArgs(argv, VERIFY_OPTIONS);
  if (o.help) {
    io.stdout.write(`${VERIFY_HELP}\n`);
    return 0;
  }
  if (positionals.length !== 1) throw new BuildArgumentError('verify-model needs exactly one model folder (see --help)');
  if (o.adapter && !o.base) throw new BuildArgumentError('--adapter needs --base');
  if (o['adapter-subfolder'] && !o.adapter) throw new BuildArgumentError('--adapter-subfolder needs --adapter');
  if (o['base-subfolder'] && !o.base) throw new BuildArgumentError('--base-subfolder needs --base');
  const dir = positionals[0]!;
  const report = await verifyModel(dir, {
    base: str(o.base),
    adapter: str(o.adapter),
    baseSubfolder: str(o['base-subfolder']),
    adapterSubfolder: str(o['adapter-subfolder']),
    skipBaseCheck: o['skip-base-check'] === true,
    samples: integerOption(o.samples, 'samples'),
    modelLib: str(o['model-lib']),
    skipMd5: o['skip-md5'] === true,
    hub: { cacheDir: str(o['cache-dir']), revision: str(o.revision), progress: o.quiet ? silentProgress : createProgress(io.stderr) },
  });
  if (o.json) io.stdout.write(`${JSON.stringify(report)}\n`);
  else {
    const lines = [
      `${dir}: ${report.quantization}, ${count(report.params, 'tensor')} in ${count(report.shards, 'shard')}, ${formatBytes(report.bytes)}`,
      ...(report.maxAbsError !== undefined
        ? [`sampled ${count(report.sampledRows, 'row')}: max abs error ${report.maxAbsError.toExponential(3)} (${report.maxErrorInSteps?.toFixed(3)} quantization steps)`]
        : []),
      ...report.problems.map((p) => `  problem: ${p}`),
      report.ok ? 'OK' : '',
    ].filter(Boolean);
    io.stdout.write(`${lines.join('\n')}\n`);
  }
  if (!report.ok) throw new VerifyError(`${dir} failed verification: ${count(report.problems.length, 'problem')}, first: ${report.problems[0]}`, report.problems);
  return 0;
}

// Run when executed directly (node dist/model-builder/cli.js, tsx src/model-builder/cli.ts, or the bin wrapper's import).
const entry = process.argv[1];
if (entry && import.meta.url === pathToFileURL(entry).href) {
  void main(process.argv.slice(2)).then((code) => (process.exitCode = code));
}
