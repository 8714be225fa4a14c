/**
 * A scripted stand-in for the model, behind the real Engine port. Only the forward pass is replaced: the
 * guard still renders the real prompt, and this engine reads the conversation back out of that prompt, so a
 * malformed prompt changes what it answers.
 *
 * What it answers is driven by markers inside the judged texts (user message or reply):
 *   [[unsafe]] / [[unsafe:Violence, Fraud/Deception]]  that turn is unsafe (default category: Violence)
 *   [[raw:TEXT]]      the model outputs TEXT verbatim (parser and failure tests)
 *   [[delay:MS]]      wait MS milliseconds before the first output token (abortable)
 *   [[tokdelay:MS]]   wait MS milliseconds before each output token
 *   [[hold]]          wait before the first output token until the test calls `release()` or the check is
 *                     aborted; `stats.held` counts the waits begun, so a test acts once a check is provably
 *                     inside the engine instead of after a guessed delay
 *   [[fault:engine]]  complete() rejects with a plain runtime error
 *   [[fault:device-lost]]  the device is lost: listeners fire, complete() rejects with DeviceLostError
 *   [[fault:context]] complete() rejects with ContextWindowExceededError
 *   [[fault:hang]]    complete() never finishes until aborted
 *   [[fault:crash]]   an uncaught error is thrown in the worker's event loop and complete() never finishes
 *   [[p:0.7]]         P(unsafe) of that turn is 0.7 (the rating is 'unsafe' iff p >= 0.5); default 0.98 for a
 *                     turn marked unsafe, else 0.02. A turn unsafe only by p names the category Needs Caution.
 * Markers may have spaces after `[[` (`[[ unsafe]]`).
 * Load behaviour follows the weights URL: a URL containing `fail-load` fails with ModelLoadError naming it;
 * `slow-load` takes ~300 ms of progress events; `hang-load` never finishes until aborted.
 *
 * Token-level access (the fast path): `tokens()` returns a session only when the weights URL contains `fast`
 * (e.g. `/__fixtures/scripted-fast/`), without `truncate` when it also contains `no-rollback`. The session
 * uses the real Llama-3.1 tokenizer (/__tokenizer/llama-3.1/tokenizer.json, loaded during load()) and
 * models the KV cache as token ids (scripted-token-session.ts): its logits follow the same answers as
 * complete(). In forward() the markers act per forwarded chunk: `[[delay:MS]]` and `[[fault:...]]` when the
 * chunk containing them is forwarded (put them in a custom category's description to hit the prefix
 * prefill), `[[tokdelay:MS]]` on every forward after the assistant header (decode steps). `[[hold]]` holds
 * the forward of its chunk, `[[tokhold]]` every decode step, each until `release()` or an abort.
 */
import { AegisAbortError, ContextWindowExceededError, DeviceLostError, ModelLoadError } from '../../src/core/errors.js';
import type {
  Completion,
  CompleteOptions,
  Engine,
  EngineLoadResult,
  LoadOptions,
  ModelSpec,
  TokenSession,
} from '../../src/engine/engine.js';
import type { Rating } from '../../src/core/types.js';
import {
  ScriptedTokenSession,
  emptyTokenSessionStats,
  type ForwardContext,
  type ScriptedAnswer,
  type TextTokenizer,
  type TokenSessionStats,
  type WrittenRatings,
} from './scripted-token-session.js';

const CONVERSATION = /<BEGIN CONVERSATION>\n\nuser: ([\s\S]*?)\n\n(?:response: agent: ([\s\S]*?)\n\n)?<END CONVERSATION>/;

export interface ScriptedEngineStats {
  loads: number;
  completions: number;
  prompts: string[];
  /** Waits begun by `[[hold]]` / `[[tokhold]]` (a check is inside the engine and stays there until released). */
  held: number;
  /** Token-session counters (fast path), over all loads. */
  tokens: TokenSessionStats;
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason ?? new AegisAbortError('aborted'));
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener(
      'abort',
      () => {
        clearTimeout(timer);
        reject(signal.reason ?? new AegisAbortError('aborted'));
      },
      { once: true },
    );
  });
}

function marker(text: string, name: string): string | undefined {
  const match = new RegExp(`\\[\\[\\s*${name}(?::([\\s\\S]*?))?\\]\\]`).exec(text);
  return match ? (match[1] ?? '') : undefined;
}

/** One turn as scripted: P(unsafe) and the categories it names when rated unsafe. */
function scriptedTurn(text: string): { p: number; categories: string[] } {
  const unsafe = marker(text, 'unsafe');
  const p = marker(text, 'p');
  const categories =
    unsafe === undefined ? ['Needs Caution'] : unsafe.trim() === '' ? ['Violence'] : unsafe.split(',').map((c) => c.trim());
  return { p: p === undefined ? (unsafe === undefined ? 0.02 : 0.98) : Number(p), categories };
}

/**
 * The answer and per-turn P(unsafe) for this conversation, following the markers. A turn's rating is the one
 * already written (`written`, when a judge forced it) or else the greedy one (p >= 0.5).
 */
export function scriptedVerdict(user: string, response: string | undefined, written: WrittenRatings = {}): ScriptedAnswer {
  const u = scriptedTurn(user);
  const r = response === undefined ? undefined : scriptedTurn(response);
  const p = { user: u.p, ...(r ? { response: r.p } : {}) };
  const raw = marker(user, 'raw') ?? (response === undefined ? undefined : marker(response, 'raw'));
  if (raw !== undefined) return { text: raw, p };
  const rate = (turn: { p: number }, forced: Rating | undefined): Rating => forced ?? (turn.p >= 0.5 ? 'unsafe' : 'safe');
  const userRating = rate(u, written.user);
  const responseRating = r ? rate(r, written.response) : undefined;
  const categories = [
    ...(userRating === 'unsafe' ? u.categories : []),
    ...(r && responseRating === 'unsafe' ? r.categories : []),
  ];
  const parts = [`"User Safety": "${userRating}"`];
  if (responseRating) parts.push(`"Response Safety": "${responseRating}"`);
  if (categories.length > 0) parts.push(`"Safety Categories": "${[...new Set(categories)].join(', ')}"`);
  return { text: `{${parts.join(', ')}}`, p };
}

/** The JSON the real model would write for this conversation, following the markers. */
export function scriptedAnswer(user: string, response: string | undefined): string {
  return scriptedVerdict(user, response).text;
}

let tokenizerPromise: Promise<TextTokenizer> | undefined;
/** The real Llama-3 tokenizer, loaded once per worker (it takes seconds). */
function llama3Tokenizer(): Promise<TextTokenizer> {
  tokenizerPromise ??= (async () => {
    const { Tokenizer } = await import('@mlc-ai/web-tokenizers');
    const response = await fetch(new URL('/__tokenizer/llama-3.1/tokenizer.json', self.location.origin));
    if (!response.ok) throw new Error(`Scripted engine: tokenizer.json: HTTP ${response.status}`);
    const tokenizer = await Tokenizer.fromJSON(await response.arrayBuffer());
    return {
      encode: (text: string) => Array.from(tokenizer.encode(text)),
      decode: (ids: number[]) => tokenizer.decode(Int32Array.from(ids)),
    };
  })();
  tokenizerPromise.catch(() => (tokenizerPromise = undefined));
  return tokenizerPromise;
}

/** Splits output into token-like pieces (words, punctuation, quotes) the way a BPE stream arrives. */
function pieces(text: string): string[] {
  return text.match(/\s*[A-Za-z]+|\s*[^A-Za-z\s]|\s+/g) ?? [];
}

export class ScriptedEngine implements Engine {
  readonly stats: ScriptedEngineStats = { loads: 0, completions: 0, prompts: [], held: 0, tokens: emptyTokenSessionStats() };
  private loaded?: ModelSpec;
  private readonly holding = new Set<() => void>();
  private session?: ScriptedTokenSession;
  private readonly lostListeners = new Set<(error: Error) => void>();

  async load(spec: ModelSpec, { onProgress, signal }: LoadOptions = {}): Promise<EngineLoadResult> {
    this.loaded = undefined;
    this.session = undefined;
    const url = spec.weightsUrl;
    onProgress?.({ phase: 'fetching', progress: 0, text: `Fetching ${url}`, loadedBytes: 0, totalBytes: 1000 });
    if (url.includes('fail-load')) {
      throw new ModelLoadError(`Could not fetch ${url}mlc-chat-config.json (HTTP 404).`, `${url}mlc-chat-config.json`);
    }
    if (url.includes('hang-load')) await sleep(1e9, signal);
    const steps = url.includes('slow-load') ? 6 : 2;
    for (let i = 1; i <= steps; i++) {
      if (url.includes('slow-load')) await sleep(50, signal);
      signal?.throwIfAborted();
      onProgress?.({ phase: 'fetching', progress: i / steps, text: `Fetching params ${i}/${steps}`, loadedBytes: (1000 * i) / steps, totalBytes: 1000 });
    }
    if (url.includes('fast')) {
      const tokenizer = await llama3Tokenizer();
      signal?.throwIfAborted();
      this.session = new ScriptedTokenSession({
        tokenizer,
        contextWindow: spec.contextWindow,
        rollback: !url.includes('no-rollback'),
        answer: (user, response, written) => this.answerFor(user, response, written, 'tokens'),
        beforeForward: (context) => this.beforeForward(context),
        stats: this.stats.tokens,
      });
    }
    onProgress?.({ phase: 'loading', progress: 1, text: 'Loading model from cache' });
    onProgress?.({ phase: 'ready', progress: 1, text: 'Finish loading on WebGPU - scripted' });
    this.loaded = spec;
    this.stats.loads++;
    return { modelLibUrl: spec.modelLibUrl ?? `${spec.weightsUrl}scripted.wasm`, contextWindow: spec.contextWindow };
  }

  async unload(): Promise<void> {
    this.loaded = undefined;
    this.session = undefined;
  }

  async complete(prompt: string, { maxTokens, stop = [], signal, onText }: CompleteOptions): Promise<Completion> {
    if (!this.loaded) throw new Error('ModelNotLoadedError: no model loaded');
    this.stats.completions++;
    this.stats.prompts.push(prompt);
    const conversation = CONVERSATION.exec(prompt);
    if (!conversation) throw new Error('Scripted engine: the prompt has no conversation block');
    const user = conversation[1]!;
    const response = conversation[2];
    const judged = `${user}\n${response ?? ''}`;
    await this.applyFault(marker(judged, 'fault'), signal);
    const started = performance.now();
    if (marker(judged, 'hold') !== undefined) await this.hold(signal);
    // Only sleep when asked: nested zero timeouts are clamped to 4 ms, which would make the engine slow.
    const delay = Number(marker(judged, 'delay') ?? 0);
    if (delay > 0) await sleep(delay, signal);
    const tokenDelay = Number(marker(judged, 'tokdelay') ?? 0);
    const prefillMs = performance.now() - started;
    const answer = this.answerFor(user, response, {}, 'complete').text;
    let text = '';
    let count = 0;
    let finishReason: Completion['finishReason'] = 'stop';
    for (const piece of pieces(answer)) {
      if (signal?.aborted) {
        finishReason = 'abort';
        break;
      }
      if (count >= maxTokens) {
        finishReason = 'length';
        break;
      }
      if (tokenDelay) await sleep(tokenDelay, signal).catch(() => undefined);
      text += piece;
      count++;
      // Like WebLLM: the output is cut before a stop string, which is not returned.
      const hit = stop.find((s) => text.endsWith(s));
      if (hit) {
        text = text.slice(0, -hit.length);
        break;
      }
      onText?.(text);
    }
    return {
      text,
      finishReason,
      promptTokens: Math.ceil(prompt.length / 4),
      completionTokens: count,
      prefillMs,
      decodeMs: performance.now() - started - prefillMs,
    };
  }

  /**
   * What the model answers, on the JSON path (`complete`) and on the token session (`tokens`). Subclasses
   * override it to answer from something other than markers (e.g. a planted answer key).
   */
  protected answerFor(user: string, response: string | undefined, written: WrittenRatings, _path: 'complete' | 'tokens'): ScriptedAnswer {
    return scriptedVerdict(user, response, written);
  }

  /** Lets every wait begun by a hold marker go on (later ones wait again). */
  release(): void {
    const waiting = [...this.holding];
    this.holding.clear();
    for (const resume of waiting) resume();
  }

  /** Waits until `release()` or an abort (which rejects with the signal's reason, like the real engine). */
  private hold(signal: AbortSignal | undefined): Promise<void> {
    return new Promise((resolve, reject) => {
      if (signal?.aborted) return reject(signal.reason ?? new AegisAbortError('aborted'));
      const resume = () => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      };
      const onAbort = () => {
        this.holding.delete(resume);
        reject(signal!.reason ?? new AegisAbortError('aborted'));
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.holding.add(resume);
      this.stats.held++;
    });
  }

  /** The markers' faults, shared by complete() and the token session's forward(). */
  private async applyFault(fault: string | undefined, signal: AbortSignal | undefined): Promise<void> {
    if (fault === 'engine') throw new Error('Scripted engine failure');
    if (fault === 'context') {
      throw new ContextWindowExceededError('Prompt tokens exceed context window size: number of prompt tokens: 5000; context window size: 4096', 5000, 4096);
    }
    if (fault === 'device-lost') {
      this.loaded = undefined;
      const error = new DeviceLostError('Device was lost (scripted).');
      for (const listener of this.lostListeners) listener(error);
      throw error;
    }
    if (fault === 'crash') {
      setTimeout(() => {
        throw new Error('Scripted worker crash');
      });
      await sleep(1e9, signal);
    }
    if (fault === 'hang') await sleep(1e9, signal);
  }

  protected async beforeForward({ chunk, cache, decoding, signal }: ForwardContext): Promise<void> {
    if (!this.loaded) throw new Error('ModelNotLoadedError: no model loaded');
    await this.applyFault(marker(chunk, 'fault'), signal);
    // Only sleep when asked (nested zero timeouts are clamped to 4 ms).
    const delay = Number(marker(chunk, 'delay') ?? 0);
    if (delay > 0) await sleep(delay, signal);
    if (marker(chunk, 'hold') !== undefined) await this.hold(signal);
    if (!decoding) return;
    const cached = cache();
    const tokenDelay = Number(marker(cached, 'tokdelay') ?? 0);
    if (tokenDelay > 0) await sleep(tokenDelay, signal);
    if (marker(cached, 'tokhold') !== undefined) await this.hold(signal);
  }

  tokens(): TokenSession | undefined {
    return this.loaded ? this.session : undefined;
  }

  onDeviceLost(listener: (error: Error) => void): () => void {
    this.lostListeners.add(listener);
    return () => this.lostListeners.delete(listener);
  }
}
