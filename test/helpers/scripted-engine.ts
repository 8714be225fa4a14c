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
 *   [[fault:engine]]  complete() rejects with a plain runtime error
 *   [[fault:device-lost]]  the device is lost: listeners fire, complete() rejects with DeviceLostError
 *   [[fault:context]] complete() rejects with ContextWindowExceededError
 *   [[fault:hang]]    complete() never finishes until aborted
 *   [[fault:crash]]   an uncaught error is thrown in the worker's event loop and complete() never finishes
 * Load behaviour follows the weights URL: a URL containing `fail-load` fails with ModelLoadError naming it;
 * `slow-load` takes ~300 ms of progress events; `hang-load` never finishes until aborted.
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

const CONVERSATION = /<BEGIN CONVERSATION>\n\nuser: ([\s\S]*?)\n\n(?:response: agent: ([\s\S]*?)\n\n)?<END CONVERSATION>/;

export interface ScriptedEngineStats {
  loads: number;
  completions: number;
  prompts: string[];
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
  const match = new RegExp(`\\[\\[${name}(?::([\\s\\S]*?))?\\]\\]`).exec(text);
  return match ? (match[1] ?? '') : undefined;
}

/** The JSON the real model would write for this conversation, following the markers. */
export function scriptedAnswer(user: string, response: string | undefined): string {
  const raw = marker(user, 'raw') ?? (response === undefined ? undefined : marker(response, 'raw'));
  if (raw !== undefined) return raw;
  const userUnsafe = marker(user, 'unsafe');
  const responseUnsafe = response === undefined ? undefined : marker(response, 'unsafe');
  const categories = [userUnsafe, responseUnsafe]
    .filter((m): m is string => m !== undefined)
    .flatMap((m) => (m.trim() === '' ? ['Violence'] : m.split(',').map((c) => c.trim())));
  const parts = [`"User Safety": "${userUnsafe === undefined ? 'safe' : 'unsafe'}"`];
  if (response !== undefined) parts.push(`"Response Safety": "${responseUnsafe === undefined ? 'safe' : 'unsafe'}"`);
  if (categories.length > 0) parts.push(`"Safety Categories": "${[...new Set(categories)].join(', ')}"`);
  return `{${parts.join(', ')}}`;
}

/** Splits output into token-like pieces (words, punctuation, quotes) the way a BPE stream arrives. */
function pieces(text: string): string[] {
  return text.match(/\s*[A-Za-z]+|\s*[^A-Za-z\s]|\s+/g) ?? [];
}

export class ScriptedEngine implements Engine {
  readonly stats: ScriptedEngineStats = { loads: 0, completions: 0, prompts: [] };
  private loaded?: ModelSpec;
  private readonly lostListeners = new Set<(error: Error) => void>();

  async load(spec: ModelSpec, { onProgress, signal }: LoadOptions = {}): Promise<EngineLoadResult> {
    this.loaded = undefined;
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
    onProgress?.({ phase: 'loading', progress: 1, text: 'Loading model from cache' });
    onProgress?.({ phase: 'ready', progress: 1, text: 'Finish loading on WebGPU - scripted' });
    this.loaded = spec;
    this.stats.loads++;
    return { modelLibUrl: spec.modelLibUrl ?? `${spec.weightsUrl}scripted.wasm`, contextWindow: spec.contextWindow };
  }

  async unload(): Promise<void> {
    this.loaded = undefined;
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
    const fault = marker(judged, 'fault');
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
    const started = performance.now();
    // Only sleep when asked: nested zero timeouts are clamped to 4 ms, which would make the engine slow.
    const delay = Number(marker(judged, 'delay') ?? 0);
    if (delay > 0) await sleep(delay, signal);
    const tokenDelay = Number(marker(judged, 'tokdelay') ?? 0);
    const prefillMs = performance.now() - started;
    const answer = scriptedAnswer(user, response);
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

  tokens(): TokenSession | undefined {
    return undefined;
  }

  onDeviceLost(listener: (error: Error) => void): () => void {
    this.lostListeners.add(listener);
    return () => this.lostListeners.delete(listener);
  }
}
