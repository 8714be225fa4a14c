/**
 * One raw, greedy completion on WebLLM's runtime, streamed so it can be interrupted, with the timings the
 * Engine port reports. The engine owns the model's state: it says whether the model is still the one loaded
 * and how runtime failures map to typed errors.
 */
import type { MLCEngine } from '@mlc-ai/web-llm';
import { AegisAbortError, AegisInputError, type AegisError } from '../core/errors.js';
import type { CompleteOptions, Completion } from './engine.js';

/** `complete()`'s arguments, checked. */
export interface CompletionRequest {
  prompt: string;
  maxTokens: number;
  stop: string[] | undefined;
  signal: AbortSignal | undefined;
  onText: ((text: string) => void) | undefined;
}

/** Checks `complete()`'s arguments (they may come from JavaScript, or over a worker boundary). */
export function completionRequest(prompt: string, options: CompleteOptions): CompletionRequest {
  if (typeof prompt !== 'string' || prompt.length === 0) throw new AegisInputError('The prompt must be a non-empty string.');
  const { maxTokens, stop, signal, onText } = options ?? ({} as CompleteOptions);
  if (!Number.isInteger(maxTokens) || maxTokens <= 0) {
    throw new AegisInputError(`maxTokens must be a positive integer; got ${String(maxTokens)}.`);
  }
  if (stop !== undefined && !(Array.isArray(stop) && stop.every((s) => typeof s === 'string' && s.length > 0))) {
    throw new AegisInputError('stop must be an array of non-empty strings.');
  }
  return { prompt, maxTokens, stop, signal, onText };
}

/** What the engine tells a completion about its model. */
export interface CompletionModel {
  runtime: MLCEngine;
  modelId: string;
  /** False once the model was unloaded or lost: the stream is left at once. */
  isCurrent(): boolean;
  /** The typed error for a failure of the runtime's stream. */
  streamFailed(error: unknown): AegisError;
  /** The error for a model that was unloaded or lost while the completion ran. */
  noLongerCurrent(): AegisError;
}

export async function streamCompletion(request: CompletionRequest, model: CompletionModel): Promise<Completion> {
  const { prompt, maxTokens, stop, signal, onText } = request;
  const { runtime } = model;
  // interruptGenerate only sets a flag checked between decode steps (idx:18605-18608, 18536-18539). The
  // streaming request clears it once it holds the model lock (idx:18559-18578), so an interrupt sent
  // earlier would be lost; the engine serialises its calls, so the one running is ours, and the loop below
  // also stops on the signal itself.
  const interrupt = () => void runtime.interruptGenerate();
  signal?.addEventListener('abort', interrupt, { once: true });
  const started = performance.now();
  let firstChunkAt: number | undefined;
  let lastChunkAt = started;
  let text = '';
  let finishReason: string | null | undefined;
  let usage: { prompt_tokens: number; completion_tokens: number; extra?: { time_to_first_token_s?: number } } | undefined;
  try {
    // Raw completion: no chat template, no BOS (idx:19111-19118, 13856-13868); the prompt carries
    // <|begin_of_text|> itself. temperature 0 is clamped to 1e-6 (idx:13775): greedy. Penalties are set
    // neutral explicitly so mlc-chat-config.json defaults cannot bend the verdict.
    const stream = await runtime.completions.create({
      model: model.modelId,
      prompt,
      max_tokens: maxTokens,
      temperature: 0,
      repetition_penalty: 1,
      frequency_penalty: 0,
      presence_penalty: 0,
      stop: stop && stop.length > 0 ? stop : undefined,
      stream: true,
      stream_options: { include_usage: true },
    });
    for await (const chunk of stream) {
      // Leaving the loop calls the generator's return(), whose finally releases the model lock
      // (asyncGenerate, idx:18587-18602).
      if (signal?.aborted || !model.isCurrent()) break;
      lastChunkAt = performance.now();
      firstChunkAt ??= lastChunkAt;
      const choice = chunk.choices[0];
      if (choice) {
        if (choice.text) {
          text += choice.text;
          onText?.(text);
        }
        if (choice.finish_reason) finishReason = choice.finish_reason;
      }
      if (chunk.usage) usage = chunk.usage;
    }
  } catch (error) {
    throw model.streamFailed(error);
  } finally {
    signal?.removeEventListener('abort', interrupt);
  }
  if (signal?.aborted) throw new AegisAbortError('The completion was cancelled.');
  if (!model.isCurrent()) throw model.noLongerCurrent();
  // Streamed deltas may include the start of a stop string that a later step cuts off (idx:12562-12572):
  // the pipeline's final message is the exact output.
  const finalText = await runtime.getMessage(model.modelId).catch(() => text);
  const firstAt = firstChunkAt ?? lastChunkAt;
  const prefillSeconds = usage?.extra?.time_to_first_token_s;
  return {
    text: typeof finalText === 'string' ? finalText : text,
    finishReason: finishReason === 'length' ? 'length' : finishReason === 'abort' ? 'abort' : 'stop',
    promptTokens: usage?.prompt_tokens ?? 0,
    completionTokens: usage?.completion_tokens ?? 0,
    prefillMs: typeof prefillSeconds === 'number' ? prefillSeconds * 1000 : firstAt - started,
    decodeMs: lastChunkAt - firstAt,
  };
}
