/**
 * Chat-completion chunk streams: the real `openai` SDK client and Stream (its own SSE decoding, over a local
 * `fetch` that answers with SSE bytes; no network), and WebLLM-typed chunks (WebLLM itself needs a model to
 * stream, which this machine cannot run, so its chunks come from a generator typed with WebLLM's own
 * `ChatCompletionChunk`).
 */
import type { ChatCompletionChunk as WebLLMChunk } from '@mlc-ai/web-llm';
import OpenAI from 'openai';
import type { ChatCompletionChunk } from 'openai/resources/chat/completions';
import { describe, expect, test } from 'vitest';
import { AegisInputError } from '../../src/core/errors.js';
import { guardChatCompletionStream, type ContentFilterChunk } from '../../src/integrations/openai.js';
import { guardPerTest } from '../helpers/guard-per-test.js';

const testGuard = guardPerTest();

function sentences(n: number, unsafeAt?: number): string {
  return Array.from({ length: n }, (_, i) => `Point ${i}: the oven should be hot${i === unsafeAt ? ' [[unsafe:Violence]]' : ''}.`).join(' ');
}

/** The chunks an OpenAI server streams for `reply`: role first, word-sized content, then finish and usage. */
function serverChunks(reply: string): ChatCompletionChunk[] {
  const base = { id: 'chatcmpl-1', object: 'chat.completion.chunk' as const, created: 1700000000, model: 'gpt-test' };
  const words = reply.match(/\s*\S+|\s+/g) ?? [];
  return [
    { ...base, choices: [{ index: 0, delta: { role: 'assistant', content: '' }, finish_reason: null, logprobs: null }] },
    ...words.map((content) => ({ ...base, choices: [{ index: 0, delta: { content }, finish_reason: null, logprobs: null }] })),
    { ...base, choices: [{ index: 0, delta: {}, finish_reason: 'stop', logprobs: null }] },
    { ...base, choices: [], usage: { prompt_tokens: 12, completion_tokens: words.length, total_tokens: 12 + words.length } },
  ];
}

/** A real SDK client whose fetch answers every request with these chunks as SSE, pulled on demand. */
function clientFor(chunks: ChatCompletionChunk[]) {
  const track = { events: 0, cancelled: false, signal: undefined as AbortSignal | undefined };
  const encoder = new TextEncoder();
  const client = new OpenAI({
    apiKey: 'test-key',
    baseURL: 'http://openai.invalid/v1',
    dangerouslyAllowBrowser: true,
    maxRetries: 0,
    fetch: async (_url, init) => {
      track.signal = init?.signal ?? undefined;
      const body = new ReadableStream<Uint8Array>({
        pull(controller) {
          if (track.events < chunks.length) controller.enqueue(encoder.encode(`data: ${JSON.stringify(chunks[track.events++])}\n\n`));
          else {
            controller.enqueue(encoder.encode('data: [DONE]\n\n'));
            controller.close();
          }
        },
        cancel() {
          track.cancelled = true;
        },
      });
      return new Response(body, { status: 200, headers: { 'content-type': 'text/event-stream' } });
    },
  });
  return { client, track };
}

const SMALL = { chunkTokens: 30, contextTokens: 8 };
const contentOf = (chunks: Array<{ choices: Array<{ delta: { content?: string | null } }> }>) =>
  chunks.map((c) => c.choices[0]?.delta.content ?? '').join('');

describe('openai SDK Stream', () => {
  test('a safe reply passes through whole, with role, finish and usage chunks in place', async () => {
    const { guard } = testGuard();
    const reply = sentences(10);
    const { client } = clientFor(serverChunks(reply));
    const prompt = 'How hot should the oven be?';
    const stream = await client.chat.completions.create({ model: 'gpt-test', messages: [{ role: 'user', content: prompt }], stream: true });
    const out: ChatCompletionChunk[] = [];
    for await (const chunk of guardChatCompletionStream(guard, prompt, stream, SMALL)) out.push(chunk as ChatCompletionChunk);
    expect(contentOf(out)).toBe(reply);
    expect(out[0]!.choices[0]!.delta.role).toBe('assistant');
    const finishAt = out.findIndex((c) => c.choices[0]?.finish_reason === 'stop');
    expect(finishAt).toBe(out.length - 2);
    expect(out.at(-1)!.usage?.total_tokens).toBeGreaterThan(12);
    expect(out.every((c) => c.id === 'chatcmpl-1' && c.model === 'gpt-test')).toBe(true);
  });

  test('an unsafe chunk aborts the request and ends with a content_filter chunk carrying the verdict', async () => {
    const { guard } = testGuard();
    const reply = sentences(30, 8);
    const all = serverChunks(reply);
    const { client, track } = clientFor(all);
    const prompt = 'Tell me about ovens';
    const stream = await client.chat.completions.create({ model: 'gpt-test', messages: [{ role: 'user', content: prompt }], stream: true });
    const blocked: unknown[] = [];
    const out: Array<ChatCompletionChunk | ContentFilterChunk<ChatCompletionChunk>> = [];
    for await (const chunk of guardChatCompletionStream(guard, prompt, stream, { ...SMALL, onBlock: (v) => blocked.push(v) })) out.push(chunk);
    const shown = contentOf(out);
    expect(shown).not.toContain('unsafe');
    expect(reply.startsWith(shown)).toBe(true);
    const last = out.at(-1) as ContentFilterChunk<ChatCompletionChunk>;
    expect(last.choices[0]!.finish_reason).toBe('content_filter');
    expect(last.aegisGuard).toMatchObject({ blocked: true, categories: [{ code: 'S1', name: 'Violence' }] });
    expect(last.id).toBe('chatcmpl-1');
    expect(blocked).toHaveLength(1);
    // The request was aborted through the SDK's own controller; the server was not read to the end.
    expect(stream.controller.signal.aborted).toBe(true);
    expect(track.signal?.aborted).toBe(true);
    expect(track.events).toBeLessThan(all.length);
    expect(out.some((c) => c.choices[0]?.finish_reason === 'stop')).toBe(false);
  });

  test('the consumer stopping early aborts the request', async () => {
    const { guard } = testGuard();
    const { client, track } = clientFor(serverChunks(sentences(30)));
    const stream = await client.chat.completions.create({ model: 'gpt-test', messages: [{ role: 'user', content: 'q' }], stream: true });
    for await (const chunk of guardChatCompletionStream(guard, 'q', stream, SMALL)) {
      if (chunk.choices[0]?.delta.content) break;
    }
    expect(stream.controller.signal.aborted).toBe(true);
    expect(track.signal?.aborted).toBe(true);
  });
});

describe('WebLLM chunks', () => {
  function webllmChunks(reply: string): WebLLMChunk[] {
    const base = { id: 'chatcmpl-webllm', object: 'chat.completion.chunk' as const, created: 1700000000, model: 'Llama-3.1-8B-Instruct-q4f32_1-MLC' };
    const words = reply.match(/\s*\S+|\s+/g) ?? [];
    return [
      ...words.map((content, i) => ({ ...base, choices: [{ index: 0, delta: { content, ...(i === 0 ? { role: 'assistant' as const } : {}) }, finish_reason: null, logprobs: null }] })),
      { ...base, choices: [{ index: 0, delta: {}, finish_reason: 'stop' as const, logprobs: null }] },
    ];
  }

  test('an unsafe reply calls the given stop (engine.interruptGenerate) and ends with content_filter', async () => {
    const { guard } = testGuard();
    const chunks = webllmChunks(sentences(30, 6));
    let interrupted = 0;
    let pulled = 0;
    async function* engineStream(): AsyncGenerator<WebLLMChunk> {
      for (const c of chunks) {
        pulled++;
        await new Promise((r) => setTimeout(r, 0));
        yield c;
      }
    }
    const out = [];
    for await (const chunk of guardChatCompletionStream(guard, 'q', engineStream(), { ...SMALL, stop: () => interrupted++ })) out.push(chunk);
    expect(interrupted).toBe(1);
    expect(pulled).toBeLessThan(chunks.length);
    expect(out.at(-1)!.choices[0]!.finish_reason).toBe('content_filter');
    expect(contentOf(out)).not.toContain('unsafe');
    // The first content chunk also carried the role: the role stays, in order, before its text.
    expect(out[0]!.choices[0]!.delta).toMatchObject({ role: 'assistant' });
  });

  test('a safe reply keeps every word and the final stop chunk', async () => {
    const { guard } = testGuard();
    const reply = sentences(8);
    async function* engineStream(): AsyncGenerator<WebLLMChunk> {
      yield* webllmChunks(reply);
    }
    const out = [];
    for await (const chunk of guardChatCompletionStream(guard, 'q', engineStream(), SMALL)) out.push(chunk);
    expect(contentOf(out)).toBe(reply);
    expect(out.at(-1)!.choices[0]!.finish_reason).toBe('stop');
  });

  test('more than one choice fails the stream instead of passing unjudged text', async () => {
    const { guard } = testGuard();
    async function* twoChoices(): AsyncGenerator<WebLLMChunk> {
      yield {
        id: 'x',
        object: 'chat.completion.chunk',
        created: 0,
        model: 'm',
        choices: [
          { index: 0, delta: { content: 'one' }, finish_reason: null },
          { index: 1, delta: { content: 'two' }, finish_reason: null },
        ],
      };
    }
    const error = await (async () => {
      for await (const _ of guardChatCompletionStream(guard, 'q', twoChoices())) {
        // drain
      }
    })().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AegisInputError);
  });
});
