/**
 * `npm run bench:fast`: GPU work per verdict, naive guard vs aegis-guard's fast path, over fixed public
 * corpora (OpenAI moderation prompts; XSTest replies judged as reply checks with their prompts).
 *
 * Counts are exact, with the real Llama-3 tokenizer:
 * - naive: what a developer writes in a few lines: the AegisGuard prompt in the Llama-3.1 chat template
 *   (the same text the JSON path sends), prefilled in full for every check, and the model's whole JSON
 *   answer decoded (one decode step per output token: the last one yields the end-of-turn token). The answer
 *   shape follows the dataset label (safe: `{"User Safety": "safe"}`; unsafe: with a category list).
 * - ours: the shipped fast judge itself (src/worker/fast-judge.ts), run against the scripted KV-cache model
 *   (test/helpers/scripted-token-session.ts) answering per the same label; its forwards are what is counted.
 *   The fallback row runs the same judge on a session without rollback.
 * Modelled times use bench/webllm-throughput.ts. Wall time needs a real model: see `wallTime()`.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { renderCheckPrefix, renderCheckPrompt } from '../src/core/prompt.js';
import type { Rating } from '../src/core/types.js';
import { judgeFast } from '../src/worker/fast-judge.js';
import type { Judgement } from '../src/worker/judge.js';
import { NODE_SPEC, NodeFastEngine, checkRequest, judgeContext } from '../test/helpers/node-fast-engine.js';
import type { ScriptedAnswer, WrittenRatings } from '../test/helpers/scripted-token-session.js';
import { loadLlama3Tokenizer } from '../test/node/core-llama3-tokenizer.js';
import { moderationCategories, openAiModerationPrompts, xsTestCategory, xsTestReplies } from './corpora.js';
import { modelledMs, referenceGpu } from './webllm-throughput.js';

/** One check with its labelled answer. */
interface Item {
  corpus: 'OpenAI moderation prompts' | 'XSTest replies';
  target: 'prompt' | 'response';
  user: string;
  response?: string;
  user_: { unsafe: boolean; categories: string[] };
  response_?: { unsafe: boolean; categories: string[] };
}

function items(): Item[] {
  const prompts: Item[] = openAiModerationPrompts().map(({ prompt, labels }) => {
    const categories = moderationCategories(labels);
    return { corpus: 'OpenAI moderation prompts', target: 'prompt', user: prompt, user_: { unsafe: categories.length > 0, categories } };
  });
  const replies: Item[] = xsTestReplies().map((r) => {
    const categories = [xsTestCategory(r.type)];
    return {
      corpus: 'XSTest replies',
      target: 'response',
      user: r.prompt,
      response: r.completion,
      user_: { unsafe: r.promptUnsafe, categories },
      response_: { unsafe: r.replyUnsafe, categories },
    };
  });
  return [...prompts, ...replies];
}

/** The model's answer for an item, in its output format, continuing any rating the judge wrote. */
function labelAnswer(item: Item, written: WrittenRatings = {}): ScriptedAnswer {
  const rate = (unsafe: boolean, forced?: Rating): Rating => forced ?? (unsafe ? 'unsafe' : 'safe');
  const user = rate(item.user_.unsafe, written.user);
  const response = item.response_ ? rate(item.response_.unsafe, written.response) : undefined;
  const categories = [
    ...(user === 'unsafe' ? item.user_.categories : []),
    ...(response === 'unsafe' ? item.response_!.categories : []),
  ];
  const parts = [`"User Safety": "${user}"`];
  if (response) parts.push(`"Response Safety": "${response}"`);
  if (categories.length > 0) parts.push(`"Safety Categories": "${[...new Set(categories)].join(', ')}"`);
  const p = (unsafe: boolean) => (unsafe ? 0.98 : 0.02);
  return { text: `{${parts.join(', ')}}`, p: { user: p(item.user_.unsafe), ...(item.response_ ? { response: p(item.response_.unsafe) } : {}) } };
}

interface Row {
  corpus: string;
  target: 'prompt' | 'response';
  /** The dataset says the judged text is unsafe. */
  unsafe: boolean;
  messageTokens: number;
  naive: { prefill: number; decode: number };
  ours: { prefill: number; decode: number };
  fallback: { prefill: number; decode: number };
  /** Our per-check prefill minus the judged texts' own tokens. */
  overhead: number;
  /** The previous check had the same user text: its user level was reused. */
  sameUserAsBefore: boolean;
}

const tk = await loadLlama3Tokenizer();
const gpu = referenceGpu();
const all = items();
let current: Item = all[0]!;
const answer = (_user: string, _response: string | undefined, written: WrittenRatings) => labelAnswer(current, written);

async function engine(rollback: boolean): Promise<NodeFastEngine> {
  const e = new NodeFastEngine(tk, { rollback, answer, contextWindow: 8192 });
  await e.load(NODE_SPEC);
  return e;
}
const fast = await engine(true);
const fallback = await engine(false);

/** Tokens forced after the reply rating's field name (`", "Response Safety": "`), in the reply check's first decode step. */
const bridgeTokens = tk.encode('", "Response Safety": "').length;

async function judge(e: NodeFastEngine, item: Item): Promise<Judgement & { prefilled: number }> {
  current = item;
  const before = e.tokenStats.forwards.length;
  const request = checkRequest(item.target, item.user, item.response === undefined ? {} : { response: item.response });
  const j = await judgeFast(e, request, judgeContext());
  // The judgement's counts must be exactly the tokens the session was given.
  const forwards = e.tokenStats.forwards.slice(before);
  const forwarded = forwards.reduce((a, b) => a + b, 0);
  if (forwarded !== j.promptTokens + j.completionTokens) throw new Error(`count mismatch: ${forwarded} forwarded`);
  // The check's prefill: its forwards before the decode steps (the rest are decode steps with forced tokens).
  const prefilled = forwards.slice(0, forwards.length - j.completionTokens).reduce((a, b) => a + b, 0);
  const expected = (item.target === 'prompt' ? item.user_ : item.response_!).unsafe ? 'unsafe' : 'safe';
  if (j.failure || j.rating !== expected) throw new Error(`the fast judge misread a scripted answer: ${JSON.stringify(j.raw)}`);
  return { ...j, prefilled };
}

// Warm-up: the one-time prefix prefill (per model load and custom-category set).
const warm = await judge(fast, all[0]!);
const prefixTokens = tk.encode(renderCheckPrefix()).length;
if (warm.prefixReused || warm.promptTokens <= prefixTokens) throw new Error('warm-up did not prefill the prefix');

const started = performance.now();
const rows: Row[] = [];
let previousUser = all[0]!.user;
for (const item of all) {
  const input = { user: item.user, response: item.response };
  const messageTokens = tk.encode(item.user).length + (item.response === undefined ? 0 : tk.encode(item.response).length);
  const ours = await judge(fast, item);
  if (!ours.prefixReused) throw new Error('the prefix was not reused');
  const fb = await judge(fallback, item);
  rows.push({
    corpus: item.corpus,
    target: item.target,
    unsafe: (item.target === 'prompt' ? item.user_ : item.response_!).unsafe,
    messageTokens,
    naive: { prefill: tk.encode(renderCheckPrompt(input).text).length, decode: tk.encode(labelAnswer(item).text).length },
    ours: { prefill: ours.promptTokens, decode: ours.completionTokens },
    fallback: { prefill: fb.promptTokens, decode: fb.completionTokens },
    overhead: ours.prefilled + (item.target === 'response' ? bridgeTokens : 0) - messageTokens,
    sameUserAsBefore: item.user === previousUser,
  });
  previousUser = item.user;
}
const elapsedS = (performance.now() - started) / 1000;

type Way = 'naive' | 'ours' | 'fallback';
const mean = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : NaN);
const work = (r: Row, way: Way) => r[way].prefill + r[way].decode;
const ms = (r: Row, way: Way) => modelledMs(gpu, r[way].prefill, r[way].decode);
const quantile = (xs: number[], q: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(q * xs.length))]!;

function summarize(name: string, rs: Row[]) {
  const way = (w: Way) => ({
    prefillTokens: mean(rs.map((r) => r[w].prefill)),
    decodeSteps: mean(rs.map((r) => r[w].decode)),
    tokensOfWork: mean(rs.map((r) => work(r, w))),
    modelledMs: mean(rs.map((r) => ms(r, w))),
  });
  const ratio = (subset: Row[], w: Way, of: (r: Row, w: Way) => number) =>
    subset.reduce((a, r) => a + of(r, 'naive'), 0) / subset.reduce((a, r) => a + of(r, w), 0);
  const short = rs.filter((r) => r.messageTokens < 100);
  return {
    name,
    checks: rs.length,
    under100: short.length,
    medianMessageTokens: quantile(rs.map((r) => r.messageTokens), 0.5),
    naive: way('naive'),
    ours: way('ours'),
    fallback: way('fallback'),
    ratioTokens: ratio(rs, 'ours', work),
    ratioTokensUnder100: ratio(short, 'ours', work),
    ratioModelledMs: ratio(rs, 'ours', ms),
    ratioModelledMsUnder100: ratio(short, 'ours', ms),
    fallbackRatioTokensUnder100: ratio(short, 'fallback', work),
    zeroDecodeShare: rs.filter((r) => r.ours.decode === 0).length / rs.length,
    // Over checks whose user text differs from the previous check's (a repeat reuses its user level).
    overhead: (() => {
      const o = rs.filter((r) => !r.sameUserAsBefore).map((r) => r.overhead);
      return { min: Math.min(...o), median: quantile(o, 0.5), max: Math.max(...o) };
    })(),
    sameUserAsBefore: rs.filter((r) => r.sameUserAsBefore).length,
  };
}

const groups = [
  summarize('OpenAI moderation prompts', rows.filter((r) => r.corpus === 'OpenAI moderation prompts')),
  summarize('XSTest replies', rows.filter((r) => r.corpus === 'XSTest replies')),
  summarize('all', rows),
  summarize('safe prompts < 100 tokens', rows.filter((r) => r.target === 'prompt' && !r.unsafe && r.messageTokens < 100)),
];

/**
 * Measured wall time needs a real model in a WebGPU browser. "Reachable" means AEGIS_MODEL_URL names a
 * built aegis-guard model folder (weights + model library) served over HTTP; this Node benchmark never
 * loads one itself.
 */
function wallTime(): { measured: false; reason: string } {
  const url = process.env.AEGIS_MODEL_URL;
  return {
    measured: false,
    reason: url
      ? `AEGIS_MODEL_URL=${url} is set, but this Node run cannot drive WebGPU: measure wall time in a browser with the real worker (Verdict.timings.prefillMs/decodeMs/totalMs, prefixReused) on a GPU machine.`
      : 'no model reachable (AEGIS_MODEL_URL is not set; no model weights or model library can be fetched here). Wall time was not measured.',
  };
}
const wall = wallTime();

const f0 = (n: number) => n.toFixed(0);
const f1 = (n: number) => n.toFixed(1);
const pad = (s: string, n: number) => s.padEnd(n);
const lpad = (s: string, n: number) => s.padStart(n);
console.log(`
Fast verdicts: GPU work per verdict, naive guard vs aegis-guard (real Llama-3 tokenizer; ${rows.length} checks in ${f1(elapsedS)} s)
One-time: the template prefix, ${prefixTokens} tokens, is prefilled once per model load (and per custom-category set).

${pad('corpus', 27)}${lpad('n', 5)} | ${lpad('naive prefill', 13)} ${lpad('decode', 6)} | ${lpad('ours prefill', 12)} ${lpad('decode', 6)} | ${lpad('fewer tokens', 12)} ${lpad('(<100 tok)', 10)} | ${lpad('modelled ms naive', 17)} ${lpad('ours', 6)} ${lpad('x', 5)} | ${lpad('no rollback', 11)}`);
for (const g of groups) {
  console.log(
    `${pad(g.name, 27)}${lpad(String(g.checks), 5)} | ${lpad(f1(g.naive.prefillTokens), 13)} ${lpad(f1(g.naive.decodeSteps), 6)} | ${lpad(f1(g.ours.prefillTokens), 12)} ${lpad(f1(g.ours.decodeSteps), 6)} | ${lpad(`${g.ratioTokens.toFixed(2)}x`, 12)} ${lpad(`${g.ratioTokensUnder100.toFixed(2)}x`, 10)} | ${lpad(f0(g.naive.modelledMs), 17)} ${lpad(f0(g.ours.modelledMs), 6)} ${lpad(g.ratioModelledMs.toFixed(1), 5)} | ${lpad(`${g.fallbackRatioTokensUnder100.toFixed(2)}x`, 11)}`,
  );
}
const [prompts, replies, total] = groups as [ReturnType<typeof summarize>, ReturnType<typeof summarize>, ReturnType<typeof summarize>];
const safeShort = groups[3]!;
console.log(`
Per-check prefill (ours) = the judged text's tokens + template overhead:
  prompt checks: + ${prompts.overhead.min}..${prompts.overhead.max} tokens (median ${prompts.overhead.median}); reply checks: + ${replies.overhead.min}..${replies.overhead.max} (median ${replies.overhead.median}, incl. the 6-token "Response Safety" bridge)
  (over checks whose user text differs from the check before; ${prompts.sameUserAsBefore} prompt and ${replies.sameUserAsBefore} reply checks repeat it and prefill less: the user level stays cached)
  goal "<= text + 40": ${prompts.overhead.max <= 40 ? 'met' : 'NOT met'}: the Aegis template puts ~100 tokens of instructions after the conversation; causal attention makes their KV depend on the text, so they are prefilled per check unless the prompt changes (it must stay byte-identical to the training format).
Safe prompt verdicts with zero decode steps: ${(prompts.zeroDecodeShare * 100).toFixed(1)}% of prompt checks (all safe ones); a safe prompt under 100 tokens costs ${f1(safeShort.ours.prefillTokens)} prefilled tokens and ${f1(safeShort.ours.decodeSteps)} decode steps on average, against ${f1(safeShort.naive.prefillTokens)} + ${f1(safeShort.naive.decodeSteps)} naive (${safeShort.ratioTokens.toFixed(2)}x fewer tokens, ${safeShort.ratioModelledMs.toFixed(2)}x less modelled time).
Goal ">= 5x fewer tokens of GPU work for messages under 100 tokens": ${total.ratioTokensUnder100 >= 5 ? 'met' : 'NOT met'} (${total.ratioTokensUnder100.toFixed(2)}x tokens; ${total.ratioModelledMsUnder100.toFixed(2)}x modelled time; ${total.under100} of ${total.checks} checks).
Modelled time on the reference GPU (${gpu.name}):
${gpu.sources.map((s) => `  - ${s}`).join('\n')}
Measured wall time: skipped: ${wall.reason}
`);

mkdirSync('bench-results', { recursive: true });
writeFileSync(
  'bench-results/fast-verdicts.json',
  JSON.stringify({ date: new Date().toISOString(), prefixTokens, referenceGpu: gpu, groups, wallTime: wall }, null, 2),
);
console.log('Saved bench-results/fast-verdicts.json');
