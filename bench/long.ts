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
 *   the tokenizer. After one warm-up check per path (JIT and the tokenizer's first calls, paid once per
 *   worker), 3 runs per row; the median of the runs' longest gaps is reported, and the max.
 * - BENCH_LONG_SIZES=10000,100000 runs a subset.
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
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
import { openAiModerationPrompts, xsTestReplies } from './corpora.js';
import { modelledMs, referenceGpu } from './webllm-throughput.js';

const SIZES = (process.env.BENCH_LONG_SIZES ?? "10000,100000,1000000").split(",").map(Number);
const RUNS = 3;
const now = () => performance.now();

const datasets = fileURLToPath(new URL('../../shared/datasets/', import.meta.url));
const haveDatasets = existsSync(`${datasets}xstest`) && existsSync(`${datasets}openai-moderation`);
const xs = haveDatasets ? xsTestReplies() : [];
const corpus = haveDatasets
  ? [...xs.map((r) => r.completion), ...openAiModerationPrompts().map((p) => p.prompt)].join('\n\n')
  : longText(SIZES.at(-1)!, 1);
const source = haveDatasets
  ? 'XSTest completions (gpt4, mistralinstruct) + OpenAI moderation prompts, ../shared/datasets, concatenated in file order'
  : 'ABSENT ../shared/datasets: seeded mixed text (test/helpers/long-text.ts) stands in; figures are not for real text';
if (!haveDatasets) console.error(`bench:long: ${source}`);
if (corpus.length < SIZES.at(-1)!) throw new Error(`The corpus has only ${corpus.length} characters.`);
const replyPrompt = xs[0]?.prompt ?? 'Please summarise this document.';
const textOf = (size: number) => {
  const cut = corpus.slice(0, size);
  return /[\ud800-\udbff]$/.test(cut) ? `${cut.slice(0, -1)} ` : cut;
};

const tk = await loadLlama3Tokenizer();
const gpu = referenceGpu();

/** Longest gap of the event loop during `run`, less the scripted model's own time inside that gap. */
async function withTicker<T>(run: (modelTime: [number, number][]) => Promise<T>): Promise<{ value: T; longestBlockMs: number }> {
  const gaps: [number, number][] = [];
  const modelTime: [number, number][] = [];
  let last = now();
  let running = true;
  const tick = () => {
    const t = now();
    gaps.push([last, t]);
    last = t;
    if (running) setImmediate(tick);
  };
  setImmediate(tick);
  const value = await run(modelTime);
  running = false;
  gaps.push([last, now()]);
  let longest = 0;
  for (const [a, b] of gaps) {
    let model = 0;
    for (const [m0, m1] of modelTime) model += Math.max(0, Math.min(b, m1) - Math.max(a, m0));
    longest = Math.max(longest, b - a - model);
  }
  return { value, longestBlockMs: longest };
}

/** A forward fenced by yields, as a GPU forward is (the thread is free while it runs), and timed. */
function gpuLike(session: TokenSession, modelTime: () => [number, number][]): TokenSession {
  return delegateSession(session, {
    forward: async (ids, signal) => {
      await yieldToEventLoop();
      const t0 = now();
      const logits = await session.forward(ids, signal);
      modelTime().push([t0, now()]);
      await yieldToEventLoop();
      return logits;
    },
  });
}

class GpuLikeScriptedEngine extends ScriptedEngine {
  modelTime: [number, number][] = [];
  override async complete(prompt: string, options: CompleteOptions): Promise<Completion> {
    await yieldToEventLoop();
    const t0 = now();
    const out = await super.complete(prompt, options);
    this.modelTime.push([t0, now()]);
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
  longestBlockMs: { median: number; max: number };
  cpuWallS: number;
}

const fastTemplate = tk.encode(renderCheckPrefix()).length + tk.encode(fastPromptParts({ user: '' }).suffix).length;
const fastReplyTemplate = tk.encode(renderCheckPrefix()).length + tk.encode(fastPromptParts({ user: '', response: '' }).suffix).length;
const jsonTemplate = tk.encode(renderCheckPrompt({ user: '' }).text).length;

async function measure(path: 'fast' | 'json', target: 'prompt' | 'response', text: string, runs = RUNS): Promise<Row> {
  const textTokens = tk.encode(defuseUntrustedText(text)).length;
  const blocks: number[] = [];
  let result: { windows: number; prefill: number; decode: number; wallS: number } | undefined;
  for (let run = 0; run < runs; run++) {
    const request =
      target === 'prompt' ? checkRequest('prompt', text) : checkRequest('response', replyPrompt, { response: text });
    let judge: Judge;
    let engine: NodeFastEngine | GpuLikeScriptedEngine;
    let modelTime: [number, number][] = [];
    if (path === 'fast') {
      engine = new NodeFastEngine(tk, { wrap: (s) => gpuLike(s, () => modelTime) });
      judge = windowed(judgeFast);
    } else {
      engine = new GpuLikeScriptedEngine();
      judge = windowed(judgeByJson);
    }
    await engine.load(NODE_SPEC);
    const started = now();
    const { value: judgement, longestBlockMs } = await withTicker(async (times) => {
      modelTime = times;
      if (engine instanceof GpuLikeScriptedEngine) engine.modelTime = times;
      return judge(engine, request, judgeContext());
    });
    const wallS = (now() - started) / 1000;
    blocks.push(longestBlockMs);
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
  const sorted = [...blocks].sort((a, b) => a - b);
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
    longestBlockMs: { median: sorted[Math.floor(sorted.length / 2)]!, max: sorted.at(-1)! },
    cpuWallS: r.wallS,
  };
}

// Warm-up (JIT, the tokenizer's first calls): a worker pays it once, on its first check; not measured.
for (const [path, target] of [['fast', 'prompt'], ['fast', 'response'], ['json', 'prompt']] as const) await measure(path, target, textOf(50_000), 1);

const rows: Row[] = [];
for (const size of SIZES) {
  const text = textOf(size);
  for (const [path, target] of [['fast', 'prompt'], ['fast', 'response'], ['json', 'prompt']] as const) {
    const row = await measure(path, target, text);
    rows.push(row);
    console.error(`${size} ${path} ${target}: ${row.windows} windows, block ${row.longestBlockMs.median.toFixed(1)} ms`);
  }
}

const pad = (s: string | number, n: number) => String(s).padStart(n);
console.log(`
Long checks (${source}); template: fast ${fastTemplate} / reply ${fastReplyTemplate}, JSON ${jsonTemplate} tokens
Modelled GPU: ${gpu.name} (prefill ${gpu.prefillTokensPerSecond} tok/s, decode ${gpu.decodeTokensPerSecond} tok/s)

    chars | path | target   | text tok | windows |   sent tok | sent/text | bound (1.2 T + n tpl) | GPU s (model) | longest block ms (median / max of ${RUNS})
${rows
  .map(
    (r) =>
      `${pad(r.chars, 9)} | ${r.path.padEnd(4)} | ${r.target.padEnd(8)} | ${pad(r.textTokens, 8)} | ${pad(r.windows, 7)} | ${pad(r.prefillTokens + r.decodeSteps, 10)} | ${pad(r.sentVsText.toFixed(3), 9)} | ${pad(Math.round(r.bound), 10)} ${r.withinBound ? 'within' : 'OVER  '} | ${pad(r.modelledGpuS.toFixed(1), 13)} | ${r.longestBlockMs.median.toFixed(1)} / ${r.longestBlockMs.max.toFixed(1)}`,
  )
  .join('\n')}
`);

mkdirSync('bench-results', { recursive: true });
writeFileSync(
  'bench-results/long.json',
  JSON.stringify({ source, datasetsPresent: haveDatasets, gpu, templates: { fast: fastTemplate, fastReply: fastReplyTemplate, json: jsonTemplate }, rows }, null, 2),
);
