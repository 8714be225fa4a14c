/**
 * `aegis-guard/integrations/ai-sdk`: a Vercel AI SDK language-model middleware for `ai` 6 and 7.
 *
 * It is written to the v3 middleware specification (LanguageModelV3, `ai` 6). `ai` 7 wraps it unchanged: its
 * `wrapLanguageModel` does not read `specificationVersion`, and the V4 call options and stream parts this
 * middleware reads and writes (prompt, text parts, finish, usage) have the V3 shapes.
 *
 * - Before the model is called, the last user message is judged; if it is unsafe the model is not called and
 *   the call finishes with finish reason `content-filter` and no content (the SDK's convention for provider
 *   moderation), with the verdict in `providerMetadata.aegisGuard`.
 * - `streamText`: `text-delta` parts are held back and released chunk by chunk once judged safe (see the
 *   stream guard); all other parts keep their order relative to the text. On an unsafe chunk the upstream is
 *   cancelled, open text blocks are closed and the stream ends with a `finish` part whose finish reason is
 *   `content-filter`.
 * - `generateText`: the reply is judged (in the same chunks, so long replies fit the model) before it is
 *   returned; unsafe replies come back as `content-filter` with no content.
 *
 * Only reply text is judged: reasoning and tool-call parts pass through unjudged, and `raw` parts (provider
 * chunks, present only with `includeRawChunks`) are dropped because they would carry unjudged text.
 */
import type { LanguageModelMiddleware } from 'ai';
import type { Guard } from '../client/types.js';
import type { Verdict } from '../core/types.js';
import { guardStream } from '../stream/guard-stream.js';
import type { GuardStreamOptions } from '../stream/types.js';
import { guardOrdered } from './ordered-guard.js';

type WrapStream = NonNullable<LanguageModelMiddleware['wrapStream']>;
type WrapGenerate = NonNullable<LanguageModelMiddleware['wrapGenerate']>;
type CallOptions = Parameters<WrapStream>[0]['params'];
type StreamResult = Awaited<ReturnType<WrapStream>>;
type GenerateResult = Awaited<ReturnType<WrapGenerate>>;
type StreamPart = StreamResult['stream'] extends ReadableStream<infer P> ? P : never;
type FinishPart = Extract<StreamPart, { type: 'finish' }>;
type Usage = GenerateResult['usage'];

export interface AegisMiddlewareOptions {
  /** Judge the last user message before calling the model. Default true. */
  checkPrompt?: boolean;
  /** Judge the reply. Default true. */
  checkResponse?: boolean;
  /** Chunking of the reply (see `GuardStreamOptions`); release is always after-check here. */
  stream?: Omit<GuardStreamOptions, 'release' | 'signal'>;
  /** Called when a prompt or a reply is blocked. */
  onBlock?: (block: { target: 'prompt' | 'response'; verdict: Verdict }) => void;
}

/** The raw finish reason our blocks carry, so they can be told apart from a provider's own filter. */
export const AEGIS_FINISH_RAW = 'aegis-guard';

const EMPTY_USAGE: Usage = {
  inputTokens: { total: undefined, noCache: undefined, cacheRead: undefined, cacheWrite: undefined },
  outputTokens: { total: undefined, text: undefined, reasoning: undefined },
};

/** The text of the last user message (its text parts joined by newlines); '' when there is none. */
export function lastUserText(prompt: CallOptions['prompt']): string {
  for (let i = prompt.length - 1; i >= 0; i--) {
    const message = prompt[i]!;
    if (message.role === 'user') {
      return message.content
        .filter((part): part is Extract<typeof part, { type: 'text' }> => part.type === 'text')
        .map((part) => part.text)
        .join('\n');
    }
  }
  return '';
}

function blockMetadata(target: 'prompt' | 'response', verdict: Verdict) {
  return {
    aegisGuard: {
      blocked: target,
      categories: verdict.categories.map((c) => ({ code: c.code, name: c.name })),
      source: verdict.source,
      ...(verdict.failure ? { failure: verdict.failure.code } : {}),
    },
  };
}

const contentFilter = { unified: 'content-filter', raw: AEGIS_FINISH_RAW } as const;

/** Builds the middleware. Pass it to `wrapLanguageModel({ model, middleware })`. */
export function aegisGuardMiddleware(guard: Guard, options: AegisMiddlewareOptions = {}): LanguageModelMiddleware {
  const { checkPrompt = true, checkResponse = true, onBlock } = options;

  /** The unsafe prompt verdict, or undefined when the call may go ahead. */
  const judgePrompt = async (params: CallOptions): Promise<Verdict | undefined> => {
    const prompt = lastUserText(params.prompt);
    if (!checkPrompt || prompt === '') return undefined;
    const verdict = await guard.checkPrompt(prompt, { signal: params.abortSignal });
    if (verdict.safe) return undefined;
    onBlock?.({ target: 'prompt', verdict });
    return verdict;
  };

  return {
    specificationVersion: 'v3',

    wrapGenerate: async ({ doGenerate, params }) => {
      const blockedPrompt = await judgePrompt(params);
      if (blockedPrompt) {
        return { content: [], finishReason: contentFilter, usage: EMPTY_USAGE, warnings: [], providerMetadata: blockMetadata('prompt', blockedPrompt) };
      }
      const result = await doGenerate();
      const text = result.content.flatMap((part) => (part.type === 'text' ? [part.text] : [])).join('');
      if (!checkResponse || text === '') return result;
      // The same chunked checks as a stream: a long reply never overflows the model's context.
      let end: { outcome: string; verdict?: Verdict } | undefined;
      const whole = (async function* () {
        yield text;
      })();
      for await (const event of guardStream(guard, lastUserText(params.prompt), whole, {
        ...options.stream,
        signal: params.abortSignal,
      })) {
        if (event.type === 'end') end = event;
      }
      if (end?.outcome === 'blocked' && end.verdict) {
        onBlock?.({ target: 'response', verdict: end.verdict });
        return {
          ...result,
          content: [],
          finishReason: contentFilter,
          providerMetadata: { ...result.providerMetadata, ...blockMetadata('response', end.verdict) },
        };
      }
      return result;
    },

    wrapStream: async ({ doStream, params }) => {
      const blockedPrompt = await judgePrompt(params);
      if (blockedPrompt) {
        const parts: StreamPart[] = [
          { type: 'stream-start', warnings: [] },
          { type: 'finish', finishReason: contentFilter, usage: EMPTY_USAGE, providerMetadata: blockMetadata('prompt', blockedPrompt) },
        ];
        return {
          stream: new ReadableStream<StreamPart>({
            start(controller) {
              for (const part of parts) controller.enqueue(part);
              controller.close();
            },
          }),
        };
      }
      const result = await doStream();
      if (!checkResponse) return result;
      return { ...result, stream: guardStreamParts(guard, lastUserText(params.prompt), result.stream, params.abortSignal, options) };
    },
  };
}

function guardStreamParts(
  guard: Guard,
  prompt: string,
  upstream: ReadableStream<StreamPart>,
  signal: AbortSignal | undefined,
  options: AegisMiddlewareOptions,
): ReadableStream<StreamPart> {
  let lastFinish: FinishPart | undefined;
  const openTextIds = new Set<string>();
  const events = guardOrdered<StreamPart, StreamPart, string>(guard, prompt, upstream, {
    split: (part) => {
      if (part.type === 'text-delta') return { text: part.delta, meta: part.id };
      if (part.type === 'raw') return {};
      if (part.type === 'finish') lastFinish = part;
      return { rest: part };
    },
    textPart: (delta, id) => ({ type: 'text-delta', id, delta }),
    stream: { ...options.stream, signal },
  });

  return new ReadableStream<StreamPart>({
    async pull(controller) {
      // Some events (verdicts) produce no part; keep going until one does, or the stream ends.
      for (;;) {
        const r = await events.next();
        if (r.done) {
          controller.close();
          return;
        }
        const event = r.value;
        if (event.type === 'part') {
          const part = event.part;
          if (part.type === 'text-start') openTextIds.add(part.id);
          if (part.type === 'text-end') openTextIds.delete(part.id);
          controller.enqueue(part);
          return;
        }
        if (event.type === 'end' && event.outcome === 'blocked') {
          options.onBlock?.({ target: 'response', verdict: event.verdict });
          for (const id of openTextIds) controller.enqueue({ type: 'text-end', id });
          openTextIds.clear();
          controller.enqueue({
            type: 'finish',
            finishReason: contentFilter,
            usage: lastFinish?.usage ?? EMPTY_USAGE,
            providerMetadata: { ...lastFinish?.providerMetadata, ...blockMetadata('response', event.verdict) },
          });
          controller.close();
          return;
        }
      }
    },
    async cancel() {
      await events.return?.();
    },
  });
}
