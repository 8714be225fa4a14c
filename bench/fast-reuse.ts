/**
 * `npm run bench:reuse`: the GPU work left after a check's first verdict, side by side in one run.
 *
 * 1. Tokens prefilled per reply check after its prompt check, with nested prefix levels (the reply check
 *    keeps the prompt check's [prefix + user text]) against the template prefix alone (what the cache holds
 *    after an unrelated check, which is all the previous judge kept): XSTest prompt/reply pairs, and the same
 *    replies after a 1,007-token prompt.
 * 2. A streamed 2,000-token reply with the 1,007-token prompt sent whole: tokens prefilled by its chunk
 *    checks, against bench:stream's floor (reply tokens + one bare 401-token template per check). Beside it,
 *    bench:stream's own accounting (the full rendered prompt per check) with and without the prompt budget.
 * 3. Decode steps per unsafe verdict: jump-forward category decoding against token-by-token greedy decoding
 *    (one step per answer token after the rating, what the judge did before), by number of categories.
 *
 * Everything is counted on the shipped fast judge (src/worker/fast-judge.ts) run against the scripted
 * KV-cache model (test/helpers/scripted-token-session.ts) with the real Llama-3 tokenizer, answering per the
 * dataset labels; its forwards are the figures. The judge's own counts are checked against the session's.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { renderCheckPrompt } from '../src/core/prompt.js';
import type { Rating } from '../src/core/types.js';
import { Chunker } from '../src/stream/chunker.js';
import { STREAM_DEFAULTS } from '../src/stream/guard-stream.js';
import { promptForChunkChecks } from '../src/windowing/prompt-budget.js';
import { judgeFast } from '../src/worker/fast-judge.js';
import type { Judgement } from '../src/worker/judge.js';
import { NODE_SPEC, NodeFastEngine, checkRequest, judgeContext } from '../test/helpers/node-fast-engine.js';
import type { ScriptedAnswer, WrittenRatings } from '../test/helpers/scripted-token-session.js';
import { loadLlama3Tokenizer } from '../test/node/core-llama3-tokenizer.js';
import { DATASETS, haveDatasets, moderationCategories, openAiModerationPrompts, xsTestCategory, xsTestReplies } from './corpora.js';
import { buildLongReplies, loadCompletions, XSTEST_FILES } from './stream-tokens-data.js';
import { modelledMs, referenceGpu } from './webllm-throughput.js';
import { median } from './stats.js';
import { VERDICT_TOKEN_IDS } from '../src/core/tokens.js';

if (!haveDatasets('xstest', 'openai-moderation')) {
  console.log(`bench:reuse skipped: the datasets (${DATASETS}xstest, openai-moderation) are absent on this machine.`);
  process.exit(0);
}

const tk = await loadLlama3Tokenizer();
const gpu = referenceGpu();
const count = (text: string) => tk.encode(text).length;

/** What the scripted model answers: the label of the current check's turns, with these categories. */
interface Label {
  user: boolean;
  response?: boolean;
  categories: string[];
}
let label: Label = { user: false, categories: [] };
function labelAnswer(_u: string, response: string | undefined, written: WrittenRatings): ScriptedAnswer {
  const rate = (unsafe: boolean, forced?: Rating): Rating => forced ?? (unsafe ? 'unsafe' : 'safe');
  const user = rate(label.user, written.user);
  const reply = response === undefined ? undefined : rate(label.response ?? false, written.response);
  const parts = [`"User Safety": "${user}"`];
  if (reply) parts.push(`"Response Safety": "${reply}"`);
  const unsafe = user === 'unsafe' || reply === 'unsafe';
  if (unsafe && label.categories.length > 0) parts.push(`"Safety Categories": "${label.categories.join(', ')}"`);
  const p = (u: boolean) => (u ? 0.98 : 0.02);
  return { text: `{${parts.join(', ')}}`, p: { user: p(label.user), ...(response === undefined ? {} : { response: p(label.response ?? false) }) } };
}

async function newEngine(): Promise<NodeFastEngine> {
  const engine = new NodeFastEngine(tk, { answer: labelAnswer, contextWindow: 16384 });
  await engine.load(NODE_SPEC);
  return engine;
}

async function judge(engine: NodeFastEngine, target: 'prompt' | 'response', user: string, response?: string): Promise<Judgement> {
  const before = engine.tokenStats.forwards.length;
  const j = await judgeFast(engine, checkRequest(target, user, response === undefined ? {} : { response }), judgeContext());
  const forwarded = engine.tokenStats.forwards.slice(before).reduce((a, b) => a + b, 0);
  if (forwarded !== j.promptTokens + j.completionTokens) throw new Error(`count mismatch: ${forwarded} forwarded`);
  if (j.failure) throw new Error(`the judge could not read a scripted answer: ${j.raw}`);
  return j;
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const started = performance.now();

// ---- 1. Reply checks after their prompt check ------------------------------------------------------------
const completions = XSTEST_FILES.map(loadCompletions);
let longPrompt = '';
for (const { prompt } of completions[0]!) {
  if (count(longPrompt) >= 1000) break;
  longPrompt += (longPrompt ? '\n' : '') + prompt;
}
const longPromptTokens = count(longPrompt);

interface ReplyRow {
  replyTokens: number;
  userTokens: number;
  levels: number;
  prefixOnly: number;
}
async function replyRows(pairs: Array<{ prompt: string; reply: string }>): Promise<ReplyRow[]> {
  const nested = await newEngine();
  const prefixOnly = await newEngine();
  const rows: ReplyRow[] = [];
  label = { user: false, response: false, categories: [] };
  await judge(prefixOnly, 'prompt', 'warm-up');
  for (const { prompt, reply } of pairs) {
    label = { user: false, response: false, categories: [] };
    await judge(nested, 'prompt', prompt);
    // After an unrelated check the cache shares only the template prefix with the reply check.
    await judge(prefixOnly, 'prompt', 'an unrelated message');
    const a = await judge(nested, 'response', prompt, reply);
    const b = await judge(prefixOnly, 'response', prompt, reply);
    if (!a.prefixReused || !b.prefixReused) throw new Error('the template prefix was not reused');
    rows.push({ replyTokens: count(reply), userTokens: count(prompt), levels: a.promptTokens, prefixOnly: b.promptTokens });
  }
  return rows;
}
const xsPairs = xsTestReplies().map((r) => ({ prompt: r.prompt, reply: r.completion }));
const xsRows = await replyRows(xsPairs);
const longRows = await replyRows(xsPairs.slice(0, 200).map((p) => ({ prompt: longPrompt, reply: p.reply })));
const replySummary = (name: string, rows: ReplyRow[]) => ({
  name,
  checks: rows.length,
  medianUserTokens: median(rows.map((r) => r.userTokens)),
  medianReplyTokens: median(rows.map((r) => r.replyTokens)),
  prefixOnly: { mean: mean(rows.map((r) => r.prefixOnly)), median: median(rows.map((r) => r.prefixOnly)) },
  levels: { mean: mean(rows.map((r) => r.levels)), median: median(rows.map((r) => r.levels)) },
  fewer: mean(rows.map((r) => r.prefixOnly)) / mean(rows.map((r) => r.levels)),
  modelledMs: { prefixOnly: modelledMs(gpu, mean(rows.map((r) => r.prefixOnly)), 1), levels: modelledMs(gpu, mean(rows.map((r) => r.levels)), 1) },
});
const replies = [replySummary('XSTest prompt/reply pairs', xsRows), replySummary(`XSTest replies after a ${longPromptTokens}-token prompt`, longRows)];

// ---- 2. A streamed reply with the long prompt sent whole --------------------------------------------------
const templateTokens = count(renderCheckPrompt({ user: '', response: '' }).text);
const longReplies = completions.flatMap((c) => buildLongReplies(c, 2000, 5, tk));
interface StreamRow {
  replyTokens: number;
  checks: number;
  levels: number;
  levelsNoPromptCheck: number;
  renderedWhole: number;
  renderedBudget: number;
}
const prefixTokens = count(renderCheckPrompt({ user: '' }).prefix);
const streamRows: StreamRow[] = [];
for (const { reply } of longReplies) {
  const chunker = new Chunker(STREAM_DEFAULTS);
  const chunks = [];
  for (const word of reply.match(/\s*\S+|\s+/g) ?? []) chunks.push(...chunker.push(word));
  chunks.push(...chunker.finish());
  const texts = chunks.filter((c) => !c.blank).map((c) => c.checkText);
  label = { user: false, response: false, categories: [] };
  const afterPrompt = await newEngine();
  await judge(afterPrompt, 'prompt', longPrompt);
  const alone = await newEngine();
  await judge(alone, 'prompt', 'warm-up');
  let levels = 0;
  let levelsNoPromptCheck = 0;
  for (const text of texts) {
    levels += (await judge(afterPrompt, 'response', longPrompt, text)).promptTokens;
    levelsNoPromptCheck += (await judge(alone, 'response', longPrompt, text)).promptTokens;
  }
  const budgeted = promptForChunkChecks(longPrompt, STREAM_DEFAULTS.promptTokens);
  streamRows.push({
    replyTokens: count(reply),
    checks: texts.length,
    levels,
    levelsNoPromptCheck,
    renderedWhole: texts.reduce((n, t) => n + count(renderCheckPrompt({ user: longPrompt, response: t }).text), 0),
    renderedBudget: texts.reduce((n, t) => n + count(renderCheckPrompt({ user: budgeted, response: t }).text), 0),
  });
}
const floor = streamRows.reduce((n, r) => n + r.replyTokens + r.checks * templateTokens, 0);
const total = (key: keyof StreamRow) => streamRows.reduce((n, r) => n + r[key], 0);
const stream = {
  promptTokens: longPromptTokens,
  replies: streamRows.length,
  checksPerReply: total('checks') / streamRows.length,
  floorPerReply: floor / streamRows.length,
  levelsPerReply: total('levels') / streamRows.length,
  ratio: {
    levels: total('levels') / floor,
    levelsWithoutPromptCheck: total('levelsNoPromptCheck') / floor,
    // bench:stream counts every check's whole rendered prompt: the cached template prefix counted per check.
    levelsCountedLikeBenchStream: (total('levels') + total('checks') * prefixTokens) / floor,
    renderedWholePrompt: total('renderedWhole') / floor,
    renderedPromptBudget: total('renderedBudget') / floor,
  },
  worstReplyLevels: Math.max(...streamRows.map((r) => r.levels / (r.replyTokens + r.checks * templateTokens))),
};

// ---- 3. Decode steps per unsafe verdict -------------------------------------------------------------------
/** One step per answer token after the target's rating word (the `}` token ends decoding unforwarded). */
function greedySteps(answer: string, target: 'prompt' | 'response'): number {
  const ids = tk.encode(answer);
  const ratings = ids.flatMap((id, i) => (id === VERDICT_TOKEN_IDS.safe || id === VERDICT_TOKEN_IDS.unsafe ? [i] : []));
  const at = ratings[target === 'prompt' ? 0 : 1]!;
  return ids.length - at - 1 + (target === 'response' ? 1 : 0);
}
interface StepRow {
  target: 'prompt' | 'response';
  categories: number;
  greedy: number;
  jump: number;
}
const stepRows: StepRow[] = [];
const stepEngine = await newEngine();
for (const { prompt, labels } of openAiModerationPrompts()) {
  const categories = moderationCategories(labels);
  if (categories.length === 0) continue;
  label = { user: true, categories };
  const j = await judge(stepEngine, 'prompt', prompt);
  if (j.rating !== 'unsafe' || j.categories.length !== categories.length) throw new Error(`misread: ${j.raw}`);
  stepRows.push({ target: 'prompt', categories: categories.length, greedy: greedySteps(labelAnswer('', undefined, {}).text, 'prompt'), jump: j.completionTokens });
}
for (const r of xsTestReplies()) {
  if (!r.replyUnsafe) continue;
  label = { user: r.promptUnsafe, response: true, categories: [xsTestCategory(r.type)] };
  const j = await judge(stepEngine, 'response', r.prompt, r.completion);
  if (j.rating !== 'unsafe') throw new Error(`misread: ${j.raw}`);
  stepRows.push({ target: 'response', categories: 1, greedy: greedySteps(labelAnswer('', r.completion, {}).text, 'response'), jump: j.completionTokens });
}
const stepGroups = [...new Set(stepRows.map((r) => `${r.target}:${r.categories}`))].sort().map((key) => {
  const rows = stepRows.filter((r) => `${r.target}:${r.categories}` === key);
  const k = rows[0]!.categories;
  return {
    target: rows[0]!.target,
    categories: k,
    verdicts: rows.length,
    greedy: mean(rows.map((r) => r.greedy)),
    jump: mean(rows.map((r) => r.jump)),
    maxJump: Math.max(...rows.map((r) => r.jump)),
    // A reply check's first step reads the reply rating (the bridge), not categories.
    categorySteps: mean(rows.map((r) => r.jump - (r.target === 'response' ? 1 : 0))),
    goal: k + 2,
  };
});
const steps = {
  verdicts: stepRows.length,
  greedy: mean(stepRows.map((r) => r.greedy)),
  jump: mean(stepRows.map((r) => r.jump)),
  withinGoal: stepRows.filter((r) => r.jump <= r.categories + 2).length / stepRows.length,
  categoryStepsWithinGoal:
    stepRows.filter((r) => r.jump - (r.target === 'response' ? 1 : 0) <= r.categories + 2).length / stepRows.length,
  groups: stepGroups,
};
const elapsedS = (performance.now() - started) / 1000;

// ---- Report -------------------------------------------------------------------------------------------------
const f1 = (n: number) => n.toFixed(1);
const f2 = (n: number) => n.toFixed(2);
console.log(`
Reuse after the first verdict (shipped fast judge on the scripted KV-cache model, real Llama-3 tokenizer; ${f1(elapsedS)} s)

1. Tokens prefilled per reply check after its prompt check (incl. the 6-token reply bridge)
${replies
  .map(
    (r) =>
      `   ${r.name.padEnd(46)} n=${String(r.checks).padStart(4)}  prefix only: mean ${f1(r.prefixOnly.mean)} (median ${r.prefixOnly.median})  nested levels: mean ${f1(r.levels.mean)} (median ${r.levels.median})  ${f2(r.fewer)}x fewer; modelled ${r.modelledMs.prefixOnly.toFixed(0)} -> ${r.modelledMs.levels.toFixed(0)} ms`,
  )
  .join('\n')}

2. Streamed ${2000}-token replies with the ${stream.promptTokens}-token prompt (${stream.replies} replies, ${f1(stream.checksPerReply)} chunk checks each; floor = reply + ${templateTokens} per check)
   nested levels, prompt sent whole, after the prompt check:  ${f2(stream.ratio.levels)} x floor (worst reply ${f2(stream.worstReplyLevels)})   goal <= 1.12: ${stream.ratio.levels <= 1.12 ? 'met' : 'NOT met'}
   nested levels, prompt sent whole, no prompt check before:  ${f2(stream.ratio.levelsWithoutPromptCheck)} x floor
   nested levels, the cached ${prefixTokens}-token template prefix counted per check:  ${f2(stream.ratio.levelsCountedLikeBenchStream)} x floor
   bench:stream accounting (full rendered prompt per check):  ${f2(stream.ratio.renderedPromptBudget)} x with the prompt budget, ${f2(stream.ratio.renderedWholePrompt)} x sending the prompt whole

3. Decode steps per unsafe verdict (${steps.verdicts} verdicts: OpenAI moderation unsafe prompts, XSTest harmful replies)
   all: greedy ${f1(steps.greedy)} -> jump-forward ${f1(steps.jump)}; within "categories + 2": ${(steps.withinGoal * 100).toFixed(1)}% of verdicts (${(steps.categoryStepsWithinGoal * 100).toFixed(1)}% not counting a reply's rating step)
${steps.groups.map((g) => `   ${g.target.padEnd(8)} ${g.categories} categor${g.categories === 1 ? 'y  ' : 'ies'}  n=${String(g.verdicts).padStart(4)}  greedy ${f1(g.greedy).padStart(5)}  jump-forward ${f1(g.jump)} (max ${g.maxJump}; category decoding ${f1(g.categorySteps)})  goal ${g.goal}`).join('\n')}
   Floor for exact decoding: 2 steps per category (which one; another or close) + 1 (close or list), as one forward yields one set of logits.
`);

mkdirSync('bench-results', { recursive: true });
writeFileSync('bench-results/fast-reuse.json', JSON.stringify({ date: new Date().toISOString(), replies, stream, steps, referenceGpu: gpu }, null, 2));
console.log('Saved bench-results/fast-reuse.json');
