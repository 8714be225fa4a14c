/**
 * `npm run bench:long`: long checks (10 kB, 100 kB and 1 MB of real text) through the shipped windowed
 * judge, on the fast path and the JSON path.
 *
 * Method:
 * - Text: the public sets in ../shared/datasets concatenated in file order (XSTest completions of both
 *   models, then the OpenAI moderation prompts; blank line between), cut to 10,000 / 100,000 / 1,000,000
 *   characters. When the folder is absent, the seeded mixed text of the tests (test/helpers/long-text.ts)
 *   stands in, and the output says so.
 * - Checks: a prompt check of the text and a reply check (the text as the reply to XSTest's first prompt)
 *   with `windowed(judgeFast)` over the scripted KV-cache model with the real Llama-3 tokenizer, and a
 *   prompt check with `windowed(judgeByJson)` over the scripted engine without token access. The scripted
 *   models answer "safe" everywhere, so every window is judged (the worst case for cost).
 * - Tokens sent: fast path, every id forwarded into the KV cache (prefix once, then per window the template
 *   tail, the carried prompt and the window text; plus decode steps); JSON path, the real token count of
 *   every prompt completed, plus the answer's tokens. Against the text's own tokens (real tokenizer, text as
 *   defused for the prompt) and the bound of the issue: 1.2 x text tokens + one whole template per window.
 * - Modelled GPU time: bench/webllm-throughput.ts (the same published WebLLM figures as bench:fast).
 * - Longest block: a setImmediate ticker runs during each check; its longest gap is the longest the thread
 *   went without serving its event loop. The scripted model's own forward (decoding its KV cache, work a
 *   GPU does in reality) is fenced by yields and subtracted, so the figure is the windowing, the judges and
 *   the tokenizer. Reported as wall time and as the process CPU time spent in that gap (on a shared machine
 *   the wall figure includes waiting for a core). After one warm-up check per path (JIT and the tokenizer's first calls, paid once per
 *   worker), 3 runs per row; the median of the runs' longest gaps is reported, and the max.
 * - BENCH_LONG_SIZES=10000,100000 runs a subset.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { renderCheckPrefix, renderCheckPrompt } from '../src/core/prompt.js';
import { defuseUntrustedText } from '../src/core/sanitize.js';
import type { CompleteOptions, Completion, TokenSession } from '../src/engine/engine.js';
import { yieldToEventLoop } from '../src/windowing/time-slicer.js';
import { fastPromptParts } from '../src/worker/fast-prompt.js';
import { judgeFast } from '../src/worker/fast-judge.js';
import { judgeByJson } from '../src/worker/json-judge.js';
import type { Judge } from '../src/worker/judge.js';
import { windowed } from '../src/worker/windowed-judge.js';
import { delegateSession } from '../test/helpers/long-check.js';
import { longText } from '../test/helpers/long-text.js';
import { NODE_SPEC, NodeFastEngine, checkRequest, judgeContext } from '../test/helpers/node-fast-engine.js';
import { ScriptedEngine } from '../test/helpers/scripted-engine.js';
import { loadLlama3Tokenizer } from '../test/node/core-llama3-tokenizer.js';
import { haveDatasets, openAiModerationPrompts, xsTestReplies } from './corpora.js';
import { median } from './stats.js';
import { modelledMs, referenceGpu } from './webllm-throughput.js';

const SIZES = (process.env.BENCH_LONG_SIZES ?? "10000,100000,1000000").split(",").map(Number);
const RUNS = 3;
const now = () => performance.now();

const realText = haveDatasets('xstest', 'openai-moderation');
const xs = realText ? xsTestReplies() : [];
const corpus = realText
  ? [...xs.map((r) => r.completion), ...openAiModerationPrompts().map((p) => p.prompt)].join('\n\n')
  : longText(SIZES.at(-1)!, 1);
const source = realText
  ? 'XSTest completions (gpt4, mistralinstruct) + OpenAI moderation prompts, ../shared/datasets, concatenated in file order'
  : 'ABSENT ../shared/datasets: seeded mixed text (test/helpers/long-text.ts) stands in; figures are not for real text';
if (!realText) console.error(`bench:long: ${source}`);
if (corpus.length < SIZES.at(-1)!) throw new Error(`The corpus has only ${corpus.length} characters.`);
const replyPrompt = xs[0]?.prompt ?? 'Please summarise this document.';
const textOf = (size: number) => {
  const cut = corpus.slice(0, size);
  return /[\ud800-\udbff]$/.test(cut) ? `${cut.slice(0, -1)} ` : cut;
};

const tk = await loadLlama3Tokenizer();
const gpu = referenceGpu();

/** Process CPU time so far, in ms (user + system). */
const cpuMs = () => {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
};

/** A stretch of time: wall clock and process CPU at both ends. */
interface Stretch {
  wall: [number, number];
  cpu: [number, number];
}

/**
 * The longest gap of the event loop during `run`, less the scripted model's own forwards (each fenced by
 * yields, so each is a gap of its own): as wall time, and as the process CPU time spent in the gap. On a
 * busy machine the wall figure includes waiting for a core; the CPU figure does not (it includes V8's
 * helper threads, so it is an upper bound of the thread's own work).
 */
async function withTicker<T>(run: (model: Stretch[]) => Promise<T>): Promise<{ value: T; wallMs: number; cpuMs: number }> {
  const gaps: Stretch[] = [];
  const model: Stretch[] = [];
  let last = { wall: now(), cpu: cpuMs() };
  let running = true;
  const mark = () => {
    const t = { wall: now(), cpu: cpuMs() };
    gaps.push({ wall: [last.wall, t.wall], cpu: [last.cpu, t.cpu] });
    last = t;
  };
  const tick = () => {
    mark();
    if (running) setImmediate(tick);
  };
  setImmediate(tick);
  const value = await run(model);
  running = false;
  mark();
  let wallMs = 0;
  let cpu = 0;
  for (const g of gaps) {
    let modelWall = 0;
    let modelCpu = 0;
    for (const m of model) {
      if (m.wall[0] >= g.wall[0] && m.wall[1] <= g.wall[1]) {
        modelWall += m.wall[1] - m.wall[0];
        modelCpu += m.cpu[1] - m.cpu[0];
      }
    }
    wallMs = Math.max(wallMs, g.wall[1] - g.wall[0] - modelWall);
    cpu = Math.max(cpu, g.cpu[1] - g.cpu[0] - modelCpu);
  }
  return { value, wallMs, cpuMs: cpu };
}

/** A forward fenced by yields, as a GPU forward is (the thread is free while it runs), and timed. */
function gpuLike(session: TokenSession, model: () => Stretch[]): TokenSession {
  return delegateSession(session, {
    forward: async (ids, signal) => {
      await yieldToEventLoop();
      const w0 = now();
      const c0 = cpuMs();
      const logits = await session.forward(ids, signal);
      model().push({ wall: [w0, now()], cpu: [c0, cpuMs()] });
      await yieldToEventLoop();
      return logits;
    },
  });
}

class GpuLikeScriptedEngine extends ScriptedEngine {
  model: Stretch[] = [];
  override async complete(prompt: string, options: CompleteOptions): Promise<Completion> {
    await yieldToEventLoop();
    const w0 = now();
    const c0 = cpuMs();
    const out = await super.complete(prompt, options);
    this.model.push({ wall: [w0, now()], cpu: [c0, cpuMs()] });
    await yieldToEventLoop();
    return out;
  }
}

interface Row {
  path: 'fast' | 'json';
  target: 'prompt' | 'response';
  chars: number;
  textTokens: number;
  windows: number;
  prefillTokens: number;
  decodeSteps: number;
  sentVsText: number;
  bound: number;
  withinBound: boolean;
  modelledGpuS: number;
  /** The longest block of each run, summarised over the runs: CPU time (contention-free) and wall time. */
  longestBlockMs: { cpuMedian: number; cpuMax: number; wallMedian: number; wallMax: number };
  cpuWallS: number;
}

const fastTemplate = tk.encode(renderCheckPrefix()).length + tk.encode(fastPromptParts({ user: '' }).suffix).length;
const fastReplyTemplate = tk.encode(renderCheckPrefix()).length + tk.encode(fastPromptParts({ user: '', response: '' }).suffix).length;
const jsonTemplate = tk.encode(renderCheckPrompt({ user: '' }).text).length;

async function measure(path: 'fast' | 'json', target: 'prompt' | 'response', text: string, runs = RUNS): Promise<Row> {
  const textTokens = tk.encode(defuseUntrustedText(text)).length;
  const blocks: { wall: number; cpu: number }[] = [];
  let result: { windows: number; prefill: number; decode: number; wallS: number } | undefined;
  for (let run = 0; run < runs; run++) {
    const request =
      target === 'prompt' ? checkRequest('prompt', text) : checkRequest('response', replyPrompt, { response: text });
    let judge: Judge;
    let engine: NodeFastEngine | GpuLikeScriptedEngine;
    let model: Stretch[] = [];
    if (path === 'fast') {
      engine = new NodeFastEngine(tk, { wrap: (s) => gpuLike(s, () => model) });
      judge = windowed(judgeFast);
    } else {
      engine = new GpuLikeScriptedEngine();
      judge = windowed(judgeByJson);
    }
    await engine.load(NODE_SPEC);
    const started = now();
    const { value: judgement, wallMs, cpuMs: cpu } = await withTicker(async (stretches) => {
      model = stretches;
      if (engine instanceof GpuLikeScriptedEngine) engine.model = stretches;
      return judge(engine, request, judgeContext());
    });
    const wallS = (now() - started) / 1000;
    blocks.push({ wall: wallMs, cpu });
    if (judgement.rating !== 'safe') throw new Error(`unexpected verdict ${judgement.raw}`);
    const windows = judgement.windows?.length ?? 1;
    let prefill: number;
    let decode: number;
    if (engine instanceof NodeFastEngine) {
      prefill = judgement.promptTokens;
      decode = judgement.completionTokens;
      const forwarded = engine.tokenStats.forwards.reduce((a, b) => a + b, 0);
      if (forwarded !== prefill + decode) throw new Error('token accounting mismatch');
    } else {
      const prompts = engine.stats.prompts;
      prefill = prompts.reduce((n, p) => n + tk.encode(p).length, 0);
      // The answer `{"User Safety": "safe"}`: its tokens are the decode steps (the last one yields `}`).
      decode = prompts.length * tk.encode('{"User Safety": "safe"}').length;
    }
    result ??= { windows, prefill, decode, wallS };
  }
  const r = result!;
  const template = path === 'json' ? jsonTemplate : target === 'response' ? fastReplyTemplate : fastTemplate;
  const bound = 1.2 * textTokens + r.windows * template;
  return {
    path,
    target,
    chars: text.length,
    textTokens,
    windows: r.windows,
    prefillTokens: r.prefill,
    decodeSteps: r.decode,
    sentVsText: (r.prefill + r.decode) / textTokens,
    bound,
    withinBound: r.prefill + r.decode <= bound,
    modelledGpuS: modelledMs(gpu, r.prefill, r.decode) / 1000,
    longestBlockMs: {
      cpuMedian: median(blocks.map((b) => b.cpu)),
      cpuMax: Math.max(...blocks.map((b) => b.cpu)),
      wallMedian: median(blocks.map((b) => b.wall)),
      wallMax: Math.max(...blocks.map((b) => b.wall)),
    },
    cpuWallS: r.wallS,
  };
}

// Warm-up (JIT, the tokenizer's first calls): a worker pays it once, on its first check; not measured.
for (const [path, target] of [['fast', 'prompt'], ['fast', 'response'], ['json', 'prompt']] as const) await measure(path, target, textOf(50_000), 1);

const loadBefore = loadavg()[0]!;
const rows: Row[] = [];
for (const size of SIZES) {
  const text = textOf(size);
  for (const [path, target] of [['fast', 'prompt'], ['fast', 'response'], ['json', 'prompt']] as const) {
    const row = await measure(path, target, text);
    rows.push(row);
    console.error(`${size} ${path} ${target}: ${row.windows} windows, block cpu ${row.longestBlockMs.cpuMedian.toFixed(1)} / wall ${row.longestBlockMs.wallMedian.toFixed(1)} ms`);
  }
}

const loadAfter = loadavg()[0]!;
const machine = `${cpus().length} CPUs, 1-min load average ${loadBefore.toFixed(1)} before, ${loadAfter.toFixed(1)} after`;
const pad = (s: string | number, n: number) => String(s).padStart(n);
console.log(`
Long checks (${source}); template: fast ${fastTemplate} / reply ${fastReplyTemplate}, JSON ${jsonTemplate} tokens
Machine: ${machine}
Modelled GPU: ${gpu.name} (prefill ${gpu.prefillTokensPerSecond} tok/s, decode ${gpu.decodeTokensPerSecond} tok/s)

    chars | path | target   | text tok | windows |   sent tok | sent/text | bound (1.2 T + n tpl) | GPU s (model) | longest block ms, CPU med/max | wall med/max (${RUNS} runs)
${rows
  .map(
    (r) =>
      `${pad(r.chars, 9)} | ${r.path.padEnd(4)} | ${r.target.padEnd(8)} | ${pad(r.textTokens, 8)} | ${pad(r.windows, 7)} | ${pad(r.prefillTokens + r.decodeSteps, 10)} | ${pad(r.sentVsText.toFixed(3), 9)} | ${pad(Math.round(r.bound), 10)} ${r.withinBound ? 'within' : 'OVER  '} | ${pad(r.modelledGpuS.toFixed(1), 13)} | ${pad(`${r.longestBlockMs.cpuMedian.toFixed(0)} / ${r.longestBlockMs.cpuMax.toFixed(0)}`, 12)} | ${r.longestBlockMs.wallMedian.toFixed(0)} / ${r.longestBlockMs.wallMax.toFixed(0)}`,
  )
  .join('\n')}
`);

mkdirSync('bench-results', { recursive: true });
writeFileSync(
  'bench-results/long.json',
  JSON.stringify({ source, datasetsPresent: realText, machine, gpu, templates: { fast: fastTemplate, fastReply: fastReplyTemplate, json: jsonTemplate }, rows }, null, 2),
);
