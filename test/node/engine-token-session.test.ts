/**
 * The WebLLM token session (src/engine/webllm-token-session.ts, webllm-forward.ts, webllm-internals.ts) on the
 * fake WebLLM runtime, which behaves as the real one was measured to (test/helpers/fake-webllm-pipeline.ts).
 * Each describe block is one runtime path.
 */
import { afterEach, beforeEach, describe, expect, test, vi } from 'vitest';
import {
  AegisAbortError,
  AegisError,
  ContextWindowExceededError,
  EngineError,
} from '../../src/core/errors.js';
import type { TokenSession } from '../../src/engine/engine.js';
import { ExitStatus } from '../helpers/fake-tvm.js';
import { fakeNavigator, loadedFakeWebLLM, type FakeWebLLM } from '../helpers/fake-webllm.js';
import type { FakePipeline, FakePipelineOptions } from '../helpers/fake-webllm-pipeline.js';
import { int, seededRandom } from '../helpers/prng.js';
import { LLAMA3_VOCAB_SIZE } from '../helpers/scripted-token-session.js';

beforeEach(() => {
  vi.stubGlobal('navigator', fakeNavigator());
});
afterEach(() => {
  vi.unstubAllGlobals();
});

interface Opened extends FakeWebLLM {
  session: TokenSession;
  pipeline: FakePipeline;
}

async function open(options: Partial<FakePipelineOptions> = {}): Promise<Opened> {
  const fake = await loadedFakeWebLLM(options);
  const session = fake.engine.tokens();
  if (!session) throw new Error(`no token session: ${JSON.stringify(fake.engine.fastPathStatus())}`);
  return { ...fake, session, pipeline: fake.runtime.pipeline };
}

/** Ids of plain text in the toy tokenizer: one per byte. */
const textIds = (n: number, seed = 0) => Array.from({ length: n }, (_, i) => 1000 + 0x61 + ((i + seed) % 26));

/** What the model's logits should be for the cache content `ids` (a fresh reference model). */
async function referenceLogits(f: Opened, ids: number[]): Promise<Float32Array> {
  const { ScriptedTokenSession } = await import('../helpers/scripted-token-session.js');
  const { scriptedVerdict } = await import('../helpers/scripted-engine.js');
  const model = new ScriptedTokenSession({ tokenizer: f.tokenizer, contextWindow: 1 << 30, rollback: true, answer: scriptedVerdict });
  return model.forward(ids);
}

/** A prompt whose logits peak on a known token: the toy model answers after the assistant header. */
function conversationIds(f: Opened, user: string): number[] {
  return f.tokenizer.encode(
    `<|begin_of_text|><BEGIN CONVERSATION>\n\nuser: ${user}\n\n<END CONVERSATION><|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n{"User Safety": "`,
  );
}

/** The cache agrees with itself: WebLLM's count equals the runtime's own length. */
function expectConsistent(p: FakePipeline): void {
  expect(p.filledKVCacheLength).toBe(p.runtimeLength());
}

describe('forward without the sampler (forwardKnownTokens, 0.2.86)', () => {
  test('one GPU-to-CPU copy per forward, the sampler never runs, every tensor is freed', async () => {
    const f = await open({ prefillChunkSize: 64 });
    const ids = conversationIds(f, 'hello [[p:0.3]]');
    const liveBefore = f.pipeline.tvm.live.size;
    const logits = await f.session.forward(ids);
    expect(logits).toHaveLength(LLAMA3_VOCAB_SIZE);
    expect(Array.from(logits)).toEqual(Array.from(await referenceLogits(f, ids)));
    expect(f.pipeline.counters).toMatchObject({ knownForwards: 1, sampledForwards: 0, samplerRuns: 0 });
    expect(f.pipeline.tvm.gpuToCpuCopies).toBe(1);
    await f.session.reset();
    await f.session.forward(textIds(3));
    expect(f.pipeline.tvm.gpuToCpuCopies).toBe(2);
    expect(f.pipeline.tvm.live.size).toBe(liveBefore);
    expect(f.pipeline.tvm.ctx.autoDisposeScope).toHaveLength(0);
    expectConsistent(f.pipeline);
  });

  test('a list longer than prefill_chunk_size is forwarded in chunks; the count grows per chunk; the last chunk\'s logits come back', async () => {
    const f = await open({ prefillChunkSize: 16 });
    const ids = conversationIds(f, 'chunked [[unsafe]]');
    const logits = await f.session.forward(ids);
    const chunks = Math.ceil(ids.length / 16);
    expect(f.pipeline.chunkLog).toEqual(Array.from({ length: chunks }, (_, i) => Math.min(ids.length, (i + 1) * 16)));
    expect(f.session.kvLength()).toBe(ids.length);
    expect(Array.from(logits)).toEqual(Array.from(await referenceLogits(f, ids)));
  });
});

describe('forward through the sampler (no forwardKnownTokens)', () => {
  test('a chat config without temperature or top_p still forwards; the config is put back exactly', async () => {
    const f = await open({ forwardKnownTokens: false, config: { repetition_penalty: 1.1 } });
    const ids = conversationIds(f, 'sampled [[p:0.7]]');
    const logits = await f.session.forward(ids);
    expect(f.pipeline.counters).toMatchObject({ sampledForwards: 1, samplerRuns: 1 });
    expect(Array.from(logits)).toEqual(Array.from(await referenceLogits(f, ids)));
    expect(f.pipeline.config).toEqual({ repetition_penalty: 1.1 });
    expect(f.pipeline.logitProcessor).toBeUndefined();
    expectConsistent(f.pipeline);
  });

  test('the fake sampler itself rejects such a config, as the real one does', async () => {
    const f = await open({ forwardKnownTokens: false, config: {} });
    await expect(f.pipeline.forwardTokensAndSample(textIds(2), true)).rejects.toMatchObject({ name: 'RangeError' });
  });
});

describe('a failed forward leaves the cache unknown: the session resets it', () => {
  for (const known of [true, false]) {
    const path = known ? 'forwardKnownTokens' : 'forwardTokensAndSample';
    test(`${path}: a TVM check after the runtime grew (WebLLM's count lags)`, async () => {
      const f = await open({ prefillChunkSize: 8, forwardKnownTokens: known });
      await f.session.forward(textIds(20));
      const epoch = f.session.cacheEpoch();
      f.pipeline.faults.push({ kind: 'grow-then-throw', chunk: 1 });
      const failure = await f.session.forward(textIds(20, 3)).catch((e: unknown) => e);
      expect(failure).toBeInstanceOf(EngineError);
      expect(f.session.cacheEpoch()).not.toBe(epoch);
      expect(f.pipeline.runtimeLength()).toBe(0);
      expect(f.session.kvLength()).toBe(0);
      expect(f.pipeline.tvm.ctx.autoDisposeScope).toHaveLength(0);
      // The session works on: the next forward sees exactly what it sends.
      const ids = conversationIds(f, 'after the failure [[unsafe]]');
      expect(Array.from(await f.session.forward(ids))).toEqual(Array.from(await referenceLogits(f, ids)));
      expectConsistent(f.pipeline);
    });
  }

  test('forwardTokensAndSample: the sampler fails after every chunk was appended; its open scope is closed', async () => {
    const f = await open({ prefillChunkSize: 8, forwardKnownTokens: false });
    const liveBefore = f.pipeline.tvm.live.size;
    f.pipeline.faults.push({ kind: 'sampler' });
    await expect(f.session.forward(textIds(30))).rejects.toBeInstanceOf(EngineError);
    expect(f.pipeline.runtimeLength()).toBe(0);
    expect(f.pipeline.tvm.ctx.autoDisposeScope).toHaveLength(0);
    expect(f.pipeline.tvm.live.size).toBe(liveBefore);
  });

  test('when even the reset fails, forward and truncate refuse until a reset succeeds', async () => {
    const f = await open({ prefillChunkSize: 8 });
    await f.session.forward(textIds(10));
    f.pipeline.faults.push({ kind: 'grow-then-throw' });
    f.pipeline.failNextReset = true;
    await expect(f.session.forward(textIds(5))).rejects.toBeInstanceOf(EngineError);
    await expect(f.session.forward(textIds(5))).rejects.toThrow(/unknown state/);
    await expect(f.session.truncate!(3)).rejects.toThrow(/reset instead/);
    expect(f.pipeline.tvm.terminated).toBeUndefined();
    await f.session.reset();
    await f.session.forward(textIds(4));
    expectConsistent(f.pipeline);
  });
});

describe('rollback pops only a verified length', () => {
  test('a pop passes int64 scalars and keeps exactly the requested prefix', async () => {
    const f = await open();
    await f.session.forward(textIds(40));
    await f.session.truncate!(25);
    expect(f.pipeline.counters.pops).toEqual([15]);
    expect(f.pipeline.model.contents()).toEqual(textIds(25));
    expectConsistent(f.pipeline);
  });

  test('the fake runtime terminates on a pop past the length or a plain number, and stays dead', async () => {
    const f = await open();
    await f.session.forward(textIds(5));
    const pipeline = f.pipeline;
    const popn = pipeline.tvm.func('vm.builtin.kv_state_popn');
    expect(() => popn(pipeline.kvCache, pipeline.tvm.scalar(0, 'int64'), 2)).toThrow(ExitStatus);
    expect(() => pipeline.resetChat()).toThrow(ExitStatus);
    const other = await open();
    await other.session.forward(textIds(5));
    const popOther = other.pipeline.tvm.func('vm.builtin.kv_state_popn');
    expect(() => popOther(other.pipeline.kvCache, other.pipeline.tvm.scalar(0, 'int64'), other.pipeline.tvm.scalar(6, 'int64'))).toThrow(ExitStatus);
    await expect(other.session.forward(textIds(1))).rejects.toBeInstanceOf(AegisError);
  });

  for (const delta of [-4, 4]) {
    test(`the runtime's own length disagrees with WebLLM's count (${delta > 0 ? 'more' : 'fewer'} tokens): reset, not pop`, async () => {
      const f = await open();
      await f.session.forward(textIds(30));
      const epoch = f.session.cacheEpoch();
      f.pipeline.desync(delta);
      const failure = await f.session.truncate!(20).catch((e: unknown) => e);
      expect(failure).toBeInstanceOf(EngineError);
      expect((failure as Error).message).toMatch(/reset instead/);
      expect(f.pipeline.tvm.terminated).toBeUndefined();
      expect(f.pipeline.counters.pops).toEqual([]);
      expect(f.pipeline.runtimeLength()).toBe(0);
      expect(f.session.cacheEpoch()).not.toBe(epoch);
      await f.session.forward(textIds(3));
      expectConsistent(f.pipeline);
    });
  }

  test('without a length builtin, a cache the engine used for something else is reset, not popped', async () => {
    const f = await open({ builtins: { popn: true, totalLength: false } });
    await f.session.reset();
    await f.session.forward(textIds(30));
    await f.session.truncate!(10);
    expect(f.pipeline.counters.pops).toEqual([20]);
    // The engine's completion path used the cache (it resets and refills it).
    await f.engine.complete('<|begin_of_text|>just some words', { maxTokens: 1 });
    f.pipeline.desync(-3);
    await expect(f.session.truncate!(5)).rejects.toThrow(/used by something else/);
    expect(f.pipeline.tvm.terminated).toBeUndefined();
    expect(f.pipeline.counters.pops).toEqual([20]);
  });

  test('a length builtin read per sequence works as well', async () => {
    const f = await open({ builtins: { popn: true, totalLength: false, sequenceLength: true } });
    await f.session.forward(textIds(12));
    f.pipeline.desync(2);
    await expect(f.session.truncate!(4)).rejects.toThrow(/runtime holds 14 tokens where WebLLM counts 12/);
  });
});

describe('cache identity (cacheEpoch)', () => {
  test('changes on reset, on a completion, on a failed forward and on unload; not on a successful forward or truncate', async () => {
    const f = await open();
    const seen = [f.session.cacheEpoch()];
    const changed = () => {
      const now = f.session.cacheEpoch();
      const fresh = !seen.includes(now);
      seen.push(now);
      return fresh;
    };
    await f.session.reset();
    expect(changed()).toBe(true);
    await f.session.forward(textIds(10));
    await f.session.truncate!(4);
    expect(f.session.cacheEpoch()).toBe(seen.at(-1));
    await f.engine.complete('<|begin_of_text|>x', { maxTokens: 1 });
    expect(changed()).toBe(true);
    await f.session.reset();
    f.pipeline.faults.push({ kind: 'throw-before' });
    await expect(f.session.forward(textIds(2))).rejects.toBeInstanceOf(EngineError);
    expect(changed()).toBe(true);
    await f.engine.unload();
    expect(changed()).toBe(true);
    await expect(f.session.forward(textIds(2))).rejects.toBeInstanceOf(AegisError);
  });
});

describe('no abort once a forward started', () => {
  test('an abort during a forward lets it finish (the cache stays consistent); an abort before it forwards nothing', async () => {
    const f = await open();
    const controller = new AbortController();
    const hold = f.pipeline.holdNextForward();
    const running = f.session.forward(textIds(10), controller.signal);
    await hold.entered;
    controller.abort();
    hold.release();
    await expect(running).resolves.toHaveLength(LLAMA3_VOCAB_SIZE);
    expect(f.session.kvLength()).toBe(10);
    await expect(f.session.forward(textIds(5), controller.signal)).rejects.toBeInstanceOf(AegisAbortError);
    expect(f.session.kvLength()).toBe(10);
    expectConsistent(f.pipeline);
  });
});

describe('huge texts are refused before tokenizing', () => {
  test('encode: a text that cannot fit is refused untokenized; a long one that might is counted', async () => {
    const f = await open({ contextWindow: 4096 });
    const calls = f.tokenizer.calls;
    const before = calls.encode;
    await expect(f.session.encode('x'.repeat(1_000_000))).rejects.toBeInstanceOf(ContextWindowExceededError);
    await expect(f.session.encode('y'.repeat(300_000))).rejects.toBeInstanceOf(ContextWindowExceededError);
    expect(calls.encode).toBe(before);
    // 4096 < 5000 bytes < 4096 * 128: tokenized and counted (one token per byte in the toy vocabulary).
    await expect(f.session.encode('z'.repeat(5000))).rejects.toMatchObject({ promptTokens: 5000, contextWindow: 4096 });
    await expect(f.session.encode('<|eot_id|>'.repeat(450))).resolves.toHaveLength(450);
  });
});

describe('seeded: any mix of calls and runtime faults', () => {
  for (const seed of [21, 22, 23, 24, 25, 26]) {
    test(`seed ${seed}: every failure is typed, the runtime never dies, a successful call leaves the cache consistent`, async () => {
      const rand = seededRandom(seed);
      // Without a length builtin a drift of the runtime's own length cannot be seen, so only then is one injected.
      const probe = seed % 2 === 0;
      const f = await open({
        contextWindow: 256,
        prefillChunkSize: 8 + int(rand, 40),
        forwardKnownTokens: rand() < 0.5,
        builtins: { popn: true, totalLength: probe },
        config: rand() < 0.5 ? {} : undefined,
      });
      for (let step = 0; step < 120; step++) {
        const roll = rand();
        if (roll < 0.12) f.pipeline.faults.push([{ kind: 'grow-then-throw', chunk: int(rand, 2) } as const, { kind: 'sampler' } as const, { kind: 'throw-before' } as const][int(rand, 3)]!);
        else if (roll < 0.17 && probe) f.pipeline.desync(int(rand, 9) - 4);
        else if (roll < 0.2) f.pipeline.failNextReset = true;
        const op = int(rand, 7);
        const outcome = await (async () => {
          switch (op) {
            case 0:
            case 1:
              return f.session.forward(textIds(1 + int(rand, 60), step));
            case 2:
              return f.session.truncate!(int(rand, f.session.kvLength() + 3));
            case 3:
              return f.session.reset();
            case 4:
              return f.engine.complete(`<|begin_of_text|>${'q'.repeat(int(rand, 40))}`, { maxTokens: 1 + int(rand, 3) });
            case 5:
              return f.session.encode('r'.repeat(int(rand, 2000)));
            default:
              return f.session.decode(textIds(1 + int(rand, 5)));
          }
        })().then(
          () => 'ok' as const,
          (error: unknown) => error,
        );
        if (outcome !== 'ok') expect(outcome, `step ${step}, op ${op}`).toBeInstanceOf(AegisError);
        else if (op <= 3) expectConsistent(f.pipeline);
        expect(f.pipeline.tvm.terminated).toBeUndefined();
        f.pipeline.faults.length = 0;
        f.pipeline.failNextReset = false;
      }
      await f.session.reset();
      const ids = conversationIds(f, 'last [[unsafe]]');
      expect(Array.from(await f.session.forward(ids))).toEqual(Array.from(await referenceLogits(f, ids)));
      expect(f.pipeline.tvm.ctx.autoDisposeScope).toHaveLength(0);
    });
  }
});
