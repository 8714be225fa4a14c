/**
 * `npm run bench:stream`: how many tokens the stream guard sends to the model for long replies, against
 * naive re-checking of the whole reply so far at every chunk.
 *
 * Method:
 * - Replies: XSTest model completions (../shared/datasets/xstest, both files), concatenated in dataset order
 *   and cut to exactly 500 / 1000 / 2000 / 4000 real tokens (the completions themselves are short). The
 *   prompt of a reply is the prompt of its first completion.
 * - Chunk plan: the shipped Chunker and prompt budget with the shipped defaults (STREAM_DEFAULTS), fed the
 *   reply word by word as a streaming model would deliver it.
 * - Cost of a check: the real Llama-3 token count of the full rendered check prompt (renderCheckPrompt:
 *   template + prompt + checked text), exactly what the engine prefills.
 *   Ours: chunk with its context. Naive: the whole reply up to the end of the same chunk.
 * - Goal: ours <= 1.5 x (reply tokens + one bare template per check), growing linearly.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { renderCheckPrompt } from '../src/core/prompt.js';
import { Chunker } from '../src/stream/chunker.js';
import { STREAM_DEFAULTS } from '../src/stream/guard-stream.js';
import { promptForChunkChecks } from '../src/windowing/prompt-budget.js';
import { loadLlama3Tokenizer } from '../test/node/core-llama3-tokenizer.js';
import { buildLongReplies, loadCompletions, XSTEST_FILES, type LongReply } from './stream-tokens-data.js';

const SIZES = [500, 1000, 2000, 4000];
const REPLIES_PER_FILE = 5;
const GOAL = 1.5;

const tokenizer = await loadLlama3Tokenizer();
const count = (text: string) => tokenizer.encode(text).length;
const templateTokens = count(renderCheckPrompt({ user: '', response: '' }).text);

interface ReplyResult {
  replyTokens: number;
  promptTokens: number;
  checks: number;
  ours: number;
  naive: number;
  baseline: number;
  /** Real tokens of each chunk's new text (the estimate sizes chunks; this is what they really hold). */
  chunkRealTokens: number[];
}

function measure({ prompt, reply }: LongReply, promptTokens: number = STREAM_DEFAULTS.promptTokens): ReplyResult {
  const chunker = new Chunker(STREAM_DEFAULTS);
  const chunks = [];
  for (const word of reply.match(/\s*\S+|\s+/g) ?? []) chunks.push(...chunker.push(word));
  chunks.push(...chunker.finish());
  const checkPrompt = promptForChunkChecks(prompt, promptTokens);
  let ours = 0;
  let naive = 0;
  let checks = 0;
  const chunkRealTokens: number[] = [];
  for (const chunk of chunks) {
    if (chunk.blank) continue;
    checks++;
    ours += count(renderCheckPrompt({ user: checkPrompt, response: chunk.checkText }).text);
    naive += count(renderCheckPrompt({ user: prompt, response: reply.slice(0, chunk.end) }).text);
    chunkRealTokens.push(count(chunk.text));
  }
  const replyTokens = count(reply);
  return { replyTokens, promptTokens: count(prompt), checks, ours, naive, baseline: replyTokens + checks * templateTokens, chunkRealTokens };
}

function sum(results: ReplyResult[], key: 'replyTokens' | 'checks' | 'ours' | 'naive' | 'baseline'): number {
  return results.reduce((n, r) => n + r[key], 0);
}

const completions = XSTEST_FILES.map(loadCompletions);
const rows = SIZES.map((size) => {
  const replies = completions.flatMap((c) => buildLongReplies(c, size, REPLIES_PER_FILE, tokenizer));
  const results = replies.map((r) => measure(r));
  const n = results.length;
  const chunkTokens = results.flatMap((r) => r.chunkRealTokens.slice(0, -1));
  return {
    replyTokens: size,
    replies: n,
    checksPerReply: sum(results, 'checks') / n,
    oursPerReply: sum(results, 'ours') / n,
    naivePerReply: sum(results, 'naive') / n,
    baselinePerReply: sum(results, 'baseline') / n,
    oursVsBaseline: sum(results, 'ours') / sum(results, 'baseline'),
    naiveVsBaseline: sum(results, 'naive') / sum(results, 'baseline'),
    naiveVsOurs: sum(results, 'naive') / sum(results, 'ours'),
    oursPerReplyToken: sum(results, 'ours') / sum(results, 'replyTokens'),
    worstReplyOursVsBaseline: Math.max(...results.map((r) => r.ours / r.baseline)),
    fullChunkRealTokens: {
      mean: chunkTokens.reduce((a, b) => a + b, 0) / chunkTokens.length,
      max: Math.max(...chunkTokens),
      min: Math.min(...chunkTokens),
    },
  };
});

// A long user prompt (XSTest prompts joined up to ~1,000 tokens) with 2,000-token replies: the prompt budget
// (default 200 estimated tokens per check) against sending the whole prompt with every chunk.
const allPrompts = completions[0]!.map((c) => c.prompt);
let longPrompt = '';
for (const p of allPrompts) {
  if (count(longPrompt) >= 1000) break;
  longPrompt += (longPrompt ? '\n' : '') + p;
}
const longPromptReplies = completions.flatMap((c) => buildLongReplies(c, 2000, REPLIES_PER_FILE, tokenizer)).map((r) => ({ ...r, prompt: longPrompt }));
const budgeted = longPromptReplies.map((r) => measure(r));
const whole = longPromptReplies.map((r) => measure(r, Infinity));
const longPromptRow = {
  promptTokens: count(longPrompt),
  replyTokens: 2000,
  replies: longPromptReplies.length,
  budgetedVsBaseline: sum(budgeted, 'ours') / sum(budgeted, 'baseline'),
  wholePromptVsBaseline: sum(whole, 'ours') / sum(whole, 'baseline'),
  naiveVsBaseline: sum(whole, 'naive') / sum(whole, 'baseline'),
};

const f0 = (n: number) => n.toFixed(0).padStart(8);
const f2 = (n: number) => n.toFixed(2).padStart(6);
console.log(`
Tokens sent to the model per reply (real Llama-3 counts of full check prompts; template = ${templateTokens} tokens;
chunk ${STREAM_DEFAULTS.chunkTokens} / context ${STREAM_DEFAULTS.contextTokens} / prompt budget ${STREAM_DEFAULTS.promptTokens} estimated tokens; XSTest completions, ${REPLIES_PER_FILE} replies per file and size)

 reply | checks |     ours |    naive | baseline | ours/base | naive/base | naive/ours | ours per reply token | chunk real tokens mean/max
${rows
  .map(
    (r) =>
      `${String(r.replyTokens).padStart(6)} | ${r.checksPerReply.toFixed(1).padStart(6)} |${f0(r.oursPerReply)} |${f0(r.naivePerReply)} |${f0(r.baselinePerReply)} |    ${f2(r.oursVsBaseline)} |     ${f2(r.naiveVsBaseline)} |     ${f2(r.naiveVsOurs)} |               ${f2(r.oursPerReplyToken)} | ${r.fullChunkRealTokens.mean.toFixed(0)}/${r.fullChunkRealTokens.max}`,
  )
  .join('\n')}

baseline = reply tokens + one bare template per check; goal ours/base <= ${GOAL}.
Long prompt (${longPromptRow.promptTokens} tokens) with 2000-token replies: ours/base ${longPromptRow.budgetedVsBaseline.toFixed(2)} with the prompt budget, ${longPromptRow.wholePromptVsBaseline.toFixed(2)} sending the whole prompt per check, naive ${longPromptRow.naiveVsBaseline.toFixed(2)}.`);

const worst = Math.max(...rows.map((r) => r.oursVsBaseline));
const result = {
  method: 'XSTest completions concatenated in dataset order to N real tokens; shipped Chunker + prompt budget with STREAM_DEFAULTS; real Llama-3 token counts of full rendered check prompts.',
  templateTokens,
  defaults: STREAM_DEFAULTS,
  goal: GOAL,
  goalMet: worst <= GOAL,
  sizes: rows,
  longPrompt: longPromptRow,
};
mkdirSync('bench-results', { recursive: true });
writeFileSync('bench-results/stream-tokens.json', JSON.stringify(result, null, 2) + '\n');
console.log(`\nGoal ${worst <= GOAL ? 'met' : 'MISSED'} (worst ours/base ${worst.toFixed(2)}). Wrote bench-results/stream-tokens.json`);
if (worst > GOAL) process.exitCode = 1;
