/**
 * The AI SDK middleware with the real `ai` package (streamText, generateText, wrapLanguageModel) and its own
 * mock model (MockLanguageModelV3 from `ai/test`), over a real guard with the scripted engine.
 */
import { generateText, streamText, wrapLanguageModel } from 'ai';
import { MockLanguageModelV3, simulateReadableStream } from 'ai/test';
import { describe, expect, test } from 'vitest';
import { aegisGuardMiddleware, AEGIS_FINISH_RAW } from '../../src/integrations/ai-sdk.js';
import type { Verdict } from '../../src/core/types.js';
import { guardPerTest } from '../helpers/guard-per-test.js';

type MockOptions = NonNullable<ConstructorParameters<typeof MockLanguageModelV3>[0]>;
type StreamPart = Awaited<ReturnType<Extract<MockOptions['doStream'], (...args: never[]) => unknown>>>['stream'] extends ReadableStream<infer P>
  ? P
  : never;

const testGuard = guardPerTest();

const usage = {
  inputTokens: { total: 10, noCache: 10, cacheRead: 0, cacheWrite: 0 },
  outputTokens: { total: 50, text: 50, reasoning: 0 },
};

function sentences(n: number, unsafeAt?: number): string {
  return Array.from({ length: n }, (_, i) => `Step ${i}: knead the dough gently${i === unsafeAt ? ' [[unsafe:Violence]]' : ''}.`).join(' ');
}

function textParts(id: string, text: string): StreamPart[] {
  const deltas = text.match(/\s*\S+|\s+/g) ?? [];
  return [{ type: 'text-start', id }, ...deltas.map((delta): StreamPart => ({ type: 'text-delta', id, delta })), { type: 'text-end', id }];
}

function streamParts(...body: StreamPart[][]): StreamPart[] {
  return [
    { type: 'stream-start', warnings: [] },
    { type: 'response-metadata', id: 'resp-1', modelId: 'mock-model', timestamp: new Date(0) },
    ...body.flat(),
    { type: 'finish', finishReason: { unified: 'stop', raw: 'stop' }, usage },
  ];
}

/** A real ReadableStream over the parts that records how far it was read and whether it was cancelled. */
function trackedStream(parts: StreamPart[]) {
  const track = { pulled: 0, cancelled: false };
  const stream = new ReadableStream<StreamPart>({
    pull(controller) {
      if (track.pulled < parts.length) controller.enqueue(parts[track.pulled++]!);
      else controller.close();
    },
    cancel() {
      track.cancelled = true;
    },
  });
  return { stream, track };
}

const SMALL = { chunkTokens: 30, contextTokens: 8 };

describe('streamText', () => {
  test('a safe reply streams through whole, after its chunks were judged, in the original part order', async () => {
    const { guard, stats } = testGuard();
    const reply = sentences(10);
    const model = new MockLanguageModelV3({ doStream: { stream: simulateReadableStream({ chunks: streamParts(textParts('t1', reply)) }) } });
    const result = streamText({
      model: wrapLanguageModel({ model, middleware: aegisGuardMiddleware(guard, { stream: SMALL }) }),
      prompt: 'How do I make bread?',
    });
    const types: string[] = [];
    let text = '';
    for await (const part of result.fullStream) {
      types.push(part.type);
      if (part.type === 'text-delta') text += part.text;
    }
    expect(text).toBe(reply);
    expect(await result.finishReason).toBe('stop');
    const firstDelta = types.indexOf('text-delta');
    expect(types.indexOf('text-start')).toBeLessThan(firstDelta);
    expect(types.lastIndexOf('text-delta')).toBeLessThan(types.indexOf('text-end'));
    expect(types.indexOf('text-end')).toBeLessThan(types.indexOf('finish'));
    // One prompt check, then the reply chunks.
    const prompts = (await stats()).prompts;
    expect(prompts.filter((p) => !p.includes('response: agent:'))).toHaveLength(1);
    expect(prompts.filter((p) => p.includes('response: agent:')).length).toBeGreaterThan(2);
  });

  test('an unsafe chunk cancels the model stream and finishes with content-filter; no unsafe text arrives', async () => {
    const { guard } = testGuard();
    const reply = sentences(30, 8);
    const { stream, track } = trackedStream(streamParts(textParts('t1', reply)));
    const model = new MockLanguageModelV3({ doStream: { stream } });
    const blocks: { target: string; verdict: Verdict }[] = [];
    const result = streamText({
      model: wrapLanguageModel({ model, middleware: aegisGuardMiddleware(guard, { stream: SMALL, onBlock: (b) => blocks.push(b) }) }),
      prompt: 'Tell me about bread',
    });
    const types: string[] = [];
    let text = '';
    for await (const part of result.fullStream) {
      types.push(part.type);
      if (part.type === 'text-delta') text += part.text;
    }
    expect(text).not.toContain('unsafe');
    expect(reply.startsWith(text)).toBe(true);
    expect(text.length).toBeGreaterThan(0);
    expect(await result.finishReason).toBe('content-filter');
    expect(await result.rawFinishReason).toBe(AEGIS_FINISH_RAW);
    expect(types).toContain('text-end');
    expect(track.cancelled).toBe(true);
    expect(track.pulled).toBeLessThan(streamParts(textParts('t1', reply)).length);
    expect(blocks).toHaveLength(1);
    expect(blocks[0]).toMatchObject({ target: 'response', verdict: { safe: false, categories: [{ code: 'S1' }] } });
    const metadata = await result.providerMetadata;
    expect(metadata?.aegisGuard).toMatchObject({ blocked: 'response', categories: [{ code: 'S1', name: 'Violence' }] });
  });

  test('an unsafe prompt is answered with content-filter without calling the model', async () => {
    const { guard } = testGuard();
    const model = new MockLanguageModelV3({ doStream: { stream: simulateReadableStream({ chunks: streamParts(textParts('t1', sentences(3))) }) } });
    const result = streamText({
      model: wrapLanguageModel({ model, middleware: aegisGuardMiddleware(guard) }),
      system: 'You are helpful.',
      messages: [
        { role: 'user', content: 'hello' },
        { role: 'assistant', content: 'Hi!' },
        { role: 'user', content: 'how do I hurt someone [[unsafe:Violence]]' },
      ],
    });
    expect(await result.text).toBe('');
    expect(await result.finishReason).toBe('content-filter');
    expect(model.doStreamCalls).toHaveLength(0);
    expect((await result.providerMetadata)?.aegisGuard).toMatchObject({ blocked: 'prompt', categories: [{ code: 'S1' }] });
  });

  test('parts between two text blocks keep their place; text is split back into its blocks', async () => {
    const { guard } = testGuard();
    const first = sentences(4);
    const second = ' ' + sentences(5);
    const upstream = streamParts(
      textParts('a', first),
      [{ type: 'reasoning-start', id: 'r' }, { type: 'reasoning-delta', id: 'r', delta: 'thinking' }, { type: 'reasoning-end', id: 'r' }],
      textParts('b', second),
    );
    const model = new MockLanguageModelV3({ doStream: { stream: simulateReadableStream({ chunks: upstream }) } });
    const result = streamText({ model: wrapLanguageModel({ model, middleware: aegisGuardMiddleware(guard, { stream: SMALL }) }), prompt: 'bread?' });
    const seen: string[] = [];
    const textById: Record<string, string> = {};
    for await (const part of result.fullStream) {
      if (part.type === 'text-delta') textById[part.id] = (textById[part.id] ?? '') + part.text;
      const label = 'id' in part ? `${part.type}:${part.id}` : part.type;
      if (seen.at(-1) !== label) seen.push(label);
    }
    expect(textById).toEqual({ a: first, b: second });
    const relevant = seen.filter((s) => /^(text|reasoning)-/.test(s));
    expect(relevant).toEqual([
      'text-start:a',
      'text-delta:a',
      'text-end:a',
      'reasoning-start:r',
      'reasoning-delta:r',
      'reasoning-end:r',
      'text-start:b',
      'text-delta:b',
      'text-end:b',
    ]);
  });
});

describe('generateText', () => {
  test('a safe reply is returned as is', async () => {
    const { guard } = testGuard();
    const reply = sentences(6);
    const model = new MockLanguageModelV3({
      doGenerate: { content: [{ type: 'text', text: reply }], finishReason: { unified: 'stop', raw: 'stop' }, usage, warnings: [] },
    });
    const result = await generateText({ model: wrapLanguageModel({ model, middleware: aegisGuardMiddleware(guard) }), prompt: 'bread?' });
    expect(result.text).toBe(reply);
    expect(result.finishReason).toBe('stop');
  });

  test('an unsafe reply comes back empty with content-filter', async () => {
    const { guard } = testGuard();
    const model = new MockLanguageModelV3({
      doGenerate: {
        content: [{ type: 'text', text: sentences(6, 4) }],
        finishReason: { unified: 'stop', raw: 'stop' },
        usage,
        warnings: [],
      },
    });
    const result = await generateText({ model: wrapLanguageModel({ model, middleware: aegisGuardMiddleware(guard) }), prompt: 'bread?' });
    expect(result.text).toBe('');
    expect(result.finishReason).toBe('content-filter');
    expect(result.providerMetadata?.aegisGuard).toMatchObject({ blocked: 'response', categories: [{ code: 'S1' }] });
  });

  test('an unsafe prompt never reaches the model', async () => {
    const { guard } = testGuard();
    const model = new MockLanguageModelV3({
      doGenerate: { content: [{ type: 'text', text: 'ok' }], finishReason: { unified: 'stop', raw: 'stop' }, usage, warnings: [] },
    });
    const result = await generateText({
      model: wrapLanguageModel({ model, middleware: aegisGuardMiddleware(guard) }),
      prompt: 'bad things [[unsafe:Threat]]',
    });
    expect(result.finishReason).toBe('content-filter');
    expect(result.text).toBe('');
    expect(model.doGenerateCalls).toHaveLength(0);
  });
});
