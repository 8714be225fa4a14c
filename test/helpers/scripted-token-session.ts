/**
 * A scripted model behind the TokenSession port, for the fast path. It runs anywhere (browser worker, Node)
 * given a real tokenizer.
 *
 * The KV cache is modelled as the list of token ids forwarded so far. Every forward appends, then computes
 * the next-token logits from the cache's *content*: it decodes the ids, finds the conversation block and the
 * assistant header, asks the script for the answer to that conversation, and puts the logit peak on the next
 * token of the encoded answer after what is already written past the header. At a rating position (the
 * written text ends with `Safety": "`) the two rating tokens get logits ln(p) and ln(1 - p), so the scripted
 * P(unsafe) is exactly what a two-way softmax reads back (p is the script's per-turn P(unsafe) when it agrees
 * with the answer's word, else 0.98 or 0.02).
 *
 * So the cache has to be right: a previous check's text left in, part of the prefix rolled away, or a
 * written part the script never produced (a forced rating aside, see `ScriptedAnswerFn`) makes forward()
 * throw or the answer change, and the check fails. Nothing here knows what the judge intended to send.
 *
 * `cacheEpoch()` follows the engine's cache-identity contract: it changes on every reset and on a forward
 * that fails after appending; truncation and successful forwards keep it.
 */
import type { TokenSession } from '../../src/engine/engine.js';
import type { Rating } from '../../src/core/types.js';

export const LLAMA3_VOCAB_SIZE = 128256;
const SAFE_ID = 19193;
const UNSAFE_ID = 39257;
const EOT_ID = 128009;
/** `<|start_header_id|>assistant<|end_header_id|>` followed by `\n\n`. */
const ASSISTANT_HEADER_IDS = [128006, 78191, 128007, 271];

const CONVERSATION = /<BEGIN CONVERSATION>\n\nuser: ([\s\S]*?)\n\n(?:response: agent: ([\s\S]*?)\n\n)?<END CONVERSATION>/;
const RATING_POSITION = /"(User|Response) Safety": "$/;
const WRITTEN_RATING = /"(User|Response) Safety": "(safe|unsafe)\b/g;

export interface TextTokenizer {
  encode(text: string): number[];
  decode(ids: number[]): string;
}

/** The ratings already in the written answer (the judge may force one the script would not choose). */
export interface WrittenRatings {
  user?: Rating;
  response?: Rating;
}

/** What the script says for a conversation: the answer text and P(unsafe) per turn. */
export interface ScriptedAnswer {
  text: string;
  p: { user: number; response?: number };
}

/**
 * Answers a conversation, honouring ratings already written (so a forced rating is continued sensibly).
 * `writtenText` is the whole answer written so far, for scripts that continue text the judge forced.
 */
export type ScriptedAnswerFn = (
  user: string,
  response: string | undefined,
  written: WrittenRatings,
  writtenText: string,
) => ScriptedAnswer;

/** Where a forward sits, for delays and faults. */
export interface ForwardContext {
  /** Text of the ids being forwarded. */
  chunk: string;
  /** Whole cache text after this forward (decoded on demand: it is long). */
  cache: () => string;
  /** True when the cache already held the assistant header before this forward (a decode step). */
  decoding: boolean;
  signal?: AbortSignal;
}

export interface ScriptedTokenSessionOptions {
  tokenizer: TextTokenizer;
  contextWindow: number;
  /** Offer `truncate` (false: the model library cannot roll back). */
  rollback: boolean;
  answer: ScriptedAnswerFn;
  /** Runs before each forward is applied (delays, faults); may throw or wait on the signal. */
  beforeForward?: (context: ForwardContext) => Promise<void>;
  /** Counters to update (shared with the engine's stats). */
  stats?: TokenSessionStats;
}

export interface TokenSessionStats {
  /** Token count of every forward call, in order. */
  forwards: number[];
  /** Forward calls that started on an empty cache (full prefills). */
  prefillsFromEmpty: number;
  truncates: number[];
  resets: number;
  /** The user text of the conversation at every rating position, in order. */
  judgedUsers: string[];
}

export function emptyTokenSessionStats(): TokenSessionStats {
  return { forwards: [], prefillsFromEmpty: 0, truncates: [], resets: 0, judgedUsers: [] };
}

function indexOfSequence(haystack: readonly number[], needle: readonly number[]): number {
  outer: for (let i = 0; i + needle.length <= haystack.length; i++) {
    for (let j = 0; j < needle.length; j++) if (haystack[i + j] !== needle[j]) continue outer;
    return i;
  }
  return -1;
}

function writtenRatings(text: string): WrittenRatings {
  const out: WrittenRatings = {};
  for (const m of text.matchAll(WRITTEN_RATING)) out[m[1] === 'User' ? 'user' : 'response'] = m[2] as Rating;
  return out;
}

const clampP = (p: number) => Math.min(1 - 1e-6, Math.max(1e-6, p));

export class ScriptedTokenSession implements TokenSession {
  private kv: number[] = [];
  /** The engine's cache-identity contract (engine.ts): see cacheEpoch(). */
  private epoch = 0;
  readonly contextWindow: number;
  readonly truncate?: (length: number) => Promise<void>;
  private readonly stats: TokenSessionStats;

  constructor(private readonly options: ScriptedTokenSessionOptions) {
    this.contextWindow = options.contextWindow;
    this.stats = options.stats ?? emptyTokenSessionStats();
    if (options.rollback) {
      this.truncate = async (length: number) => {
        if (!Number.isInteger(length) || length < 0 || length > this.kv.length) {
          throw new Error(`Scripted KV cache: cannot truncate ${this.kv.length} entries to ${length}.`);
        }
        this.stats.truncates.push(length);
        this.kv.length = length;
      };
    }
  }

  async encode(text: string): Promise<number[]> {
    return this.options.tokenizer.encode(text);
  }

  async decode(ids: number[]): Promise<string> {
    return this.options.tokenizer.decode(ids);
  }

  kvLength(): number {
    return this.kv.length;
  }

  /**
   * Changes on reset(), overwrite(), and a forward that fails after appending (the scripted model refusing
   * what the cache holds); a forward refused before appending (abort, fault markers) keeps it.
   */
  cacheEpoch(): number {
    return this.epoch;
  }

  async reset(): Promise<void> {
    this.stats.resets++;
    this.kv = [];
    this.epoch++;
  }

  /**
   * Models the engine using the cache for something else (a completion, a reload): afterwards it holds
   * `ids` (e.g. as many tokens as a prefix had, so only the epoch tells the difference).
   */
  overwrite(ids: readonly number[] = []): void {
    this.kv = [...ids];
    this.epoch++;
  }

  /** The cache's ids (tests and benchmarks read it; the judge never does). */
  contents(): readonly number[] {
    return this.kv;
  }

  /**
   * Overwrites one cached id without changing the length, as a cache written behind the judge's back would
   * look (tests of stale levels). `newEpoch`: the engine noticed and changed its epoch, as it must.
   */
  replaceAt(index: number, id: number, newEpoch = false): void {
    if (!Number.isInteger(index) || index < 0 || index >= this.kv.length) throw new Error(`Scripted KV cache: no entry ${index}.`);
    this.kv[index] = id;
    if (newEpoch) this.epoch++;
  }

  async forward(ids: number[], signal?: AbortSignal): Promise<Float32Array> {
    if (ids.length === 0) throw new Error('Scripted KV cache: forward() needs at least one token.');
    const { tokenizer } = this.options;
    const decoding = indexOfSequence(this.kv, ASSISTANT_HEADER_IDS) >= 0;
    const next = [...this.kv, ...ids];
    await this.options.beforeForward?.({ chunk: tokenizer.decode(ids), cache: () => tokenizer.decode(next), decoding, signal });
    signal?.throwIfAborted();
    // Like the real cache, which is allocated for the context window and cannot hold more.
    if (next.length > this.contextWindow) {
      throw new Error(`Scripted KV cache overflow: ${next.length} tokens in a ${this.contextWindow}-token cache.`);
    }
    if (this.kv.length === 0) this.stats.prefillsFromEmpty++;
    this.stats.forwards.push(ids.length);
    this.kv = next;
    try {
      return this.logits();
    } catch (error) {
      // A forward that fails after appending leaves a cache nobody should trust: a new epoch.
      this.epoch++;
      throw error;
    }
  }

  private promptMemo?: { ids: number[]; text: string };
  private answerMemo?: { text: string; ids: number[] };

  /** Text of the cache before the assistant header; decode steps share it, so it is decoded once. */
  private promptText(header: number): string {
    const memo = this.promptMemo;
    if (memo && memo.ids.length === header && memo.ids.every((id, i) => this.kv[i] === id)) return memo.text;
    const ids = this.kv.slice(0, header);
    const text = this.options.tokenizer.decode(ids);
    this.promptMemo = { ids, text };
    return text;
  }

  private encodeAnswer(text: string): number[] {
    if (this.answerMemo?.text !== text) this.answerMemo = { text, ids: this.options.tokenizer.encode(text) };
    return this.answerMemo.ids;
  }

  /** Next-token logits for the cache content (see the header). */
  private logits(): Float32Array {
    const { tokenizer } = this.options;
    const logits = new Float32Array(LLAMA3_VOCAB_SIZE);
    const header = indexOfSequence(this.kv, ASSISTANT_HEADER_IDS);
    // Still reading the prompt (e.g. the prefix alone): nothing to answer yet.
    if (header < 0) return logits;
    const promptText = this.promptText(header);
    const conversation = CONVERSATION.exec(promptText);
    if (!conversation) throw new Error('Scripted model: the KV cache holds no well-formed conversation block.');
    const user = conversation[1]!;
    const response = conversation[2];
    const written = this.kv.slice(header + ASSISTANT_HEADER_IDS.length);
    const writtenText = tokenizer.decode(written);
    const answer = this.options.answer(user, response, writtenRatings(writtenText), writtenText);
    const answerIds = this.encodeAnswer(answer.text);
    const diverges = written.some((id, i) => answerIds[i] !== id);
    if (diverges) {
      throw new Error(
        `Scripted model: the KV cache holds output the model would not write (${JSON.stringify(writtenText)} vs ${JSON.stringify(answer.text)}).`,
      );
    }
    const nextId = answerIds[written.length] ?? EOT_ID;
    const position = RATING_POSITION.exec(writtenText);
    if (position && (nextId === SAFE_ID || nextId === UNSAFE_ID)) {
      this.stats.judgedUsers.push(user);
      // The answer's word is the model's greedy choice: a scripted p that disagrees (a [[raw:]] answer) yields.
      const scripted = position[1] === 'User' ? answer.p.user : answer.p.response;
      const agrees = scripted !== undefined && scripted >= 0.5 === (nextId === UNSAFE_ID);
      const p = clampP(agrees ? scripted : nextId === UNSAFE_ID ? 0.98 : 0.02);
      logits.fill(-30);
      logits[UNSAFE_ID] = Math.log(p);
      logits[SAFE_ID] = Math.log(1 - p);
      return logits;
    }
    logits[nextId] = 20;
    return logits;
  }
}
