/**
 * `aegis-guard/integrations/openai`: guards OpenAI-style chat-completion chunk streams, the `Stream` of the
 * `openai` SDK (`client.chat.completions.create({ stream: true })`) and WebLLM's
 * `engine.chat.completions.create({ stream: true })` alike.
 *
 * The result is a drop-in replacement for the stream: the same chunks, except that reply text
 * (`choices[0].delta.content`) is held back and re-emitted chunk by chunk once judged safe; chunks without
 * content (role, tool calls, finish, usage) keep their order relative to the text. On an unsafe chunk the
 * upstream is stopped at once (the SDK stream's `controller.abort()`, or your `stop`, e.g. WebLLM's
 * `engine.interruptGenerate()`, plus the iterator's `return()`), and the stream ends with one chunk whose
 * `finish_reason` is `'content_filter'` (OpenAI's own value for filtered output) and which carries the
 * verdict under `aegisGuard`.
 *
 * Only choice 0 is supported (`n: 1`, the default); a chunk with another choice fails the stream with
 * `AegisInputError` rather than pass unjudged text.
 */
import { AegisInputError } from '../core/errors.js';
import type { Guard } from '../client/types.js';
import type { Verdict, ViolatedCategory } from '../core/types.js';
import type { GuardStreamOptions } from '../stream/types.js';
import { guardOrdered } from './ordered-guard.js';

/** What this integration reads of a chunk; OpenAI's and WebLLM's `ChatCompletionChunk` both fit. */
export interface ChatCompletionChunkLike {
  id: string;
  object: string;
  created: number;
  model: string;
  choices: Array<{
    index: number;
    delta: { content?: string | null };
    finish_reason: string | null;
    logprobs?: unknown;
  }>;
  usage?: unknown;
}

/** The last chunk of a blocked stream. */
export type ContentFilterChunk<C extends ChatCompletionChunkLike> = Omit<C, 'choices'> & {
  choices: Array<{ index: 0; delta: Record<string, never>; finish_reason: 'content_filter'; logprobs: null }>;
  aegisGuard: { blocked: true; verdict: Verdict; categories: ViolatedCategory[] };
};

export interface GuardChunksOptions extends Omit<GuardStreamOptions, 'release'> {
  /**
   * Stops the model at once when the reply is blocked or the consumer stops, e.g.
   * `() => engine.interruptGenerate()` for WebLLM. Default: `stream.controller.abort()` when the stream has
   * an AbortController (the `openai` SDK's `Stream`). The iterator's `return()` is called in any case.
   */
  stop?: () => void;
  /** Called with the unsafe verdict when the reply is blocked. */
  onBlock?: (verdict: Verdict) => void;
  /** Called with the verdict of every judged chunk. */
  onVerdict?: (verdict: Verdict) => void;
}

function sdkStop(stream: unknown): (() => void) | undefined {
  const controller = (stream as { controller?: unknown }).controller;
  return controller instanceof AbortController ? () => controller.abort() : undefined;
}

/**
 * What of a content chunk must still go on: its other delta fields (role, tool calls) before the text, its
 * finish reason and usage after it.
 */
function aroundContent<C extends ChatCompletionChunkLike>(chunk: C): { before?: C; rest?: C } {
  const choice = chunk.choices[0]!;
  const { content: _content, ...delta } = choice.delta;
  const deltaLeft = Object.values(delta).some((v) => v !== undefined && v !== null);
  const hasUsage = chunk.usage !== undefined && chunk.usage !== null;
  const { usage: _usage, ...envelope } = chunk;
  return {
    ...(deltaLeft ? { before: { ...envelope, choices: [{ ...choice, delta, finish_reason: null }] } as C } : {}),
    ...(choice.finish_reason !== null || hasUsage ? { rest: { ...chunk, choices: [{ ...choice, delta: {} }] } } : {}),
  };
}

/**
 * Guards a stream of chat-completion chunks answering `prompt` (the last user message). Returns the chunks
 * to show, in order; see the module comment for what changes.
 */
export function guardChatCompletionStream<C extends ChatCompletionChunkLike>(
  guard: Pick<Guard, 'checkResponse'>,
  prompt: string,
  stream: AsyncIterable<C>,
  options: GuardChunksOptions = {},
): AsyncGenerator<C | ContentFilterChunk<C>, void, undefined> {
  const { stop, onBlock, onVerdict, ...streamOptions } = options;
  let lastChunk: C | undefined;
  const events = guardOrdered<C, C, C>(guard, prompt, stream, {
    split: (chunk) => {
      if (chunk.choices.some((c) => c.index !== 0)) {
        throw new AegisInputError('guardChatCompletionStream supports one choice (n: 1); a chunk holds another choice.');
      }
      lastChunk = chunk;
      const content = chunk.choices[0]?.delta.content;
      if (typeof content !== 'string' || content === '') return { rest: chunk };
      return { text: content, meta: chunk, ...aroundContent(chunk) };
    },
    textPart: (content, template) => ({
      ...template,
      choices: [{ ...template.choices[0], index: 0, delta: { content }, finish_reason: null, logprobs: null }],
    }),
    sameMeta: (a, b) => a.id === b.id && a.model === b.model,
    stopUpstream: stop ?? sdkStop(stream),
    stream: streamOptions,
  });

  return (async function* () {
    try {
      for await (const event of events) {
        if (event.type === 'part') yield event.part;
        else if (event.type === 'verdict') onVerdict?.(event.verdict);
        else if (event.outcome === 'blocked') {
          onBlock?.(event.verdict);
          const { choices: _choices, ...envelope } = lastChunk ?? ({ id: '', object: 'chat.completion.chunk', created: 0, model: '' } as unknown as C);
          yield {
            ...envelope,
            choices: [{ index: 0, delta: {}, finish_reason: 'content_filter', logprobs: null }],
            aegisGuard: { blocked: true, verdict: event.verdict, categories: event.categories },
          } as ContentFilterChunk<C>;
        }
      }
    } finally {
      await events.return?.();
    }
  })();
}
