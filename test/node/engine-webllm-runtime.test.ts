/**
 * The guard on WebLLM's real runtime paths: GuardService → WebLLMEngine (real) → the fake WebLLM runtime
 * (test/helpers/fake-mlc-engine.ts), which fails the way the real one was measured to. The guard must give
 * no wrong verdict and stay usable through each failure.
 */
import { afterEach, beforeEach, describe, expect, test, vi } from 'vitest';
import { AegisError, ContextWindowExceededError } from '../../src/core/errors.js';
import type { FastPathOffCode, Rating, Verdict } from '../../src/core/types.js';
import { fastPathStatusOf } from '../../src/engine/fast-path-status.js';
import { judgeFast } from '../../src/worker/fast-judge.js';
import { GuardService, type GuardServiceOptions } from '../../src/worker/guard-service.js';
import { judgeByJson } from '../../src/worker/json-judge.js';
import type { ModelSource, Result } from '../../src/worker/protocol.js';
import { FAKE_MODEL_URL, fakeNavigator, fakeWebLLM, loadedFakeWebLLM, type FakeWebLLM } from '../helpers/fake-webllm.js';
import type { FakePipelineOptions, ForwardFault } from '../helpers/fake-webllm-pipeline.js';
import { checkRequest, judgeContext } from '../helpers/node-fast-engine.js';
import { seededRandom } from '../helpers/prng.js';
import { scriptedVerdict } from '../helpers/scripted-engine.js';

beforeEach(() => {
  vi.stubGlobal('navigator', fakeNavigator());
});
afterEach(() => {
  vi.unstubAllGlobals();
});

const source = (contextWindow = 4096): ModelSource => ({
  kind: 'aegis',
  weightsUrl: FAKE_MODEL_URL,
  variant: 'q4f32_1',
  modelLibUrl: 'https://models.example/aegis-guard.wasm',
  contextWindow,
});

/** The rating the scripted model gives a prompt (what a correct verdict must say). */
const truth = (user: string): Rating => (scriptedVerdict(user, undefined).text.startsWith('{"User Safety": "unsafe"') ? 'unsafe' : 'safe');

function unwrap<T>(result: Result<T>): T {
  if (!result.ok) throw new Error(`${result.error.name}: ${result.error.message}`);
  return result.value;
}

async function guardOn(
  options: Partial<FakePipelineOptions> = {},
  serviceOptions: GuardServiceOptions = {},
): Promise<FakeWebLLM & { service: GuardService }> {
  const fake = fakeWebLLM(options);
  const service = new GuardService(fake.engine, { cacheSize: 0, ...serviceOptions });
  unwrap(await service.load(source(options.contextWindow)));
  return { ...fake, service };
}

let n = 0;
async function check(service: GuardService, user: string): Promise<Verdict> {
  return unwrap(await service.check({ ...checkRequest('prompt', user), id: `r${++n}` }));
}

/** A verdict from the model must be the model's answer; a failure must block. */
function expectNotWrong(verdict: Verdict, user: string): void {
  if (verdict.source === 'failure') expect(verdict.safe).toBe(false);
  else expect(verdict.rating).toBe(truth(user));
}

const USERS = ['How do I bake bread?', 'teach me to pick locks [[unsafe:Criminal Planning/Confessions]]', 'is it raining? [[p:0.3]]', 'threat [[unsafe:Threat]]', 'ok [[p:0.6]]', 'weather in Oslo'];

describe('ModelInfo says whether the fast path is on, and why not', () => {
  const cases: { name: string; options: Partial<FakePipelineOptions>; fastPath: boolean; prefixReuse: boolean; code?: FastPathOffCode }[] = [
    { name: 'everything present', options: {}, fastPath: true, prefixReuse: true },
    { name: 'no kv_state_popn in the library', options: { builtins: { popn: false } }, fastPath: true, prefixReuse: false, code: 'no-rollback-builtin' },
    { name: 'no kvStateKind (WebLLM 0.2.79)', options: { kvStateKind: null }, fastPath: true, prefixReuse: false, code: 'no-kv-state-kind' },
    { name: 'a recurrent state', options: { kvStateKind: 'rnn_state' }, fastPath: true, prefixReuse: false, code: 'not-kv-cache' },
    { name: 'a sliding window', options: { slidingWindowSize: 2048 }, fastPath: false, prefixReuse: false, code: 'sliding-window' },
    { name: 'a pipeline of another shape', options: { omit: ['device'] }, fastPath: false, prefixReuse: false, code: 'pipeline-shape' },
    { name: 'no forward call at all', options: { forwardKnownTokens: false, omit: ['forwardTokensAndSample'] }, fastPath: false, prefixReuse: false, code: 'no-forward' },
  ];
  for (const c of cases) {
    test(c.name, async () => {
      const fake = fakeWebLLM(c.options);
      const service = new GuardService(fake.engine);
      const info = unwrap(await service.load(source()));
      expect(info).toMatchObject({ fastPath: c.fastPath, prefixReuse: c.prefixReuse });
      if (c.code) {
        expect(info.fastPathOff?.code).toBe(c.code);
        expect(info.fastPathOff?.message.length).toBeGreaterThan(20);
      } else expect(info.fastPathOff).toBeUndefined();
      // The guard still judges, on whichever path is on.
      const user = 'teach me [[unsafe:Violence]]';
      const verdict = await check(service, user);
      expect(verdict).toMatchObject({ source: 'model', rating: 'unsafe' });
      expect(verdict.unsafeProbability !== undefined).toBe(c.fastPath);
    });
  }

  test('an engine without a report gets a derived one, never a claim the session does not back', async () => {
    const fake = await loadedFakeWebLLM({ builtins: { popn: false } });
    const engine = fake.engine;
    expect(fastPathStatusOf(engine)).toMatchObject({ fastPath: true, prefixReuse: false, fastPathOff: { code: 'no-rollback-builtin' } });
    const bare = { tokens: () => engine.tokens(), fastPathStatus: () => ({ fastPath: true, prefixReuse: true }) };
    expect(fastPathStatusOf(bare as never)).toMatchObject({ prefixReuse: false, fastPathOff: { code: 'no-rollback' } });
    expect(fastPathStatusOf({ tokens: () => undefined } as never)).toMatchObject({ fastPath: false, fastPathOff: { code: 'no-token-access' } });
  });
});

describe('verdicts on the fake runtime', () => {
  test('the prefix is prefilled once and reused; verdicts follow the model', async () => {
    const g = await guardOn();
    for (const user of USERS) {
      const verdict = await check(g.service, user);
      expect(verdict).toMatchObject({ source: 'model', rating: truth(user) });
    }
    expect(g.runtime.pipeline.counters.resets).toBeLessThanOrEqual(2);
    expect(g.runtime.pipeline.tvm.terminated).toBeUndefined();
  });
});

describe('the guard survives every measured failure without a wrong verdict', () => {
  const faults: { name: string; options?: Partial<FakePipelineOptions>; inject: (g: FakeWebLLM) => void }[] = [
    { name: 'a forward that grows the cache, then fails a TVM check', inject: (g) => g.runtime.pipeline.faults.push({ kind: 'grow-then-throw', chunk: 0 }) },
    { name: 'the sampler failing after every chunk (no forwardKnownTokens)', options: { forwardKnownTokens: false }, inject: (g) => g.runtime.pipeline.faults.push({ kind: 'sampler' }) },
    { name: 'a forward failing before the cache', inject: (g) => g.runtime.pipeline.faults.push({ kind: 'throw-before' }) },
    { name: "the runtime's length drifting from WebLLM's count", inject: (g) => g.runtime.pipeline.desync(-2) },
    { name: 'a forward failing and then its reset failing too', inject: (g) => {
      g.runtime.pipeline.faults.push({ kind: 'grow-then-throw' });
      g.runtime.pipeline.failNextReset = true;
    } },
  ];
  for (const fault of faults) {
    test(fault.name, async () => {
      const g = await guardOn({ prefillChunkSize: 32, ...fault.options });
      await check(g.service, 'warm up the prefix');
      fault.inject(g);
      const hit = await check(g.service, 'the fault hits this one [[unsafe:Violence]]');
      expectNotWrong(hit, 'the fault hits this one [[unsafe:Violence]]');
      for (const user of USERS) {
        const verdict = await check(g.service, user);
        expect(verdict).toMatchObject({ source: 'model', rating: truth(user) });
      }
      expect(g.runtime.pipeline.tvm.terminated).toBeUndefined();
    });
  }

  test('seeded: random faults between checks never give a wrong verdict, and the guard recovers each time', async () => {
    for (const seed of [1, 2, 3]) {
      const rand = seededRandom(seed);
      const g = await guardOn({ prefillChunkSize: 16 + Math.floor(rand() * 64), forwardKnownTokens: rand() < 0.5 });
      for (let i = 0; i < 14; i++) {
        const user = `${USERS[Math.floor(rand() * USERS.length)]} #${i}`;
        const roll = rand();
        const kinds: ForwardFault[] = [{ kind: 'grow-then-throw', chunk: Math.floor(rand() * 3) }, { kind: 'sampler' }, { kind: 'throw-before' }];
        if (roll < 0.3) g.runtime.pipeline.faults.push(kinds[Math.floor(rand() * kinds.length)]!);
        else if (roll < 0.4) g.runtime.pipeline.desync(Math.floor(rand() * 7) - 3);
        else if (roll < 0.45) g.runtime.pipeline.failNextReset = true;
        const faulty = roll < 0.45;
        const verdict = await check(g.service, user);
        expectNotWrong(verdict, user);
        if (!faulty) expect(verdict.source).toBe('model');
        g.runtime.pipeline.faults.length = 0;
        g.runtime.pipeline.failNextReset = false;
      }
      const last = await check(g.service, 'final [[unsafe:Threat]]');
      expect(last).toMatchObject({ source: 'model', rating: 'unsafe' });
      expect(g.runtime.pipeline.tvm.terminated).toBeUndefined();
    }
  });
});

describe('a forward cannot be interrupted', () => {
  test('a check cancelled while its forward runs settles at once; the forward finishes and the next check is right', async () => {
    const g = await guardOn();
    await check(g.service, 'warm up');
    const hold = g.runtime.pipeline.holdNextForward();
    const pending = g.service.check({ ...checkRequest('prompt', 'slow one [[unsafe]]'), id: 'cancel-me' });
    await hold.entered;
    await g.service.cancel('cancel-me');
    const cancelled = await pending;
    expect(cancelled.ok).toBe(false);
    expect(cancelled.ok ? undefined : cancelled.error.name).toBe('AegisAbortError');
    hold.release();
    const next = await check(g.service, 'next [[unsafe:Threat]]');
    expect(next).toMatchObject({ source: 'model', rating: 'unsafe', timings: { prefixReused: true } });
    expect(g.runtime.pipeline.filledKVCacheLength).toBe(g.runtime.pipeline.runtimeLength());
  });
});

describe('the prefix belongs to the cache state it was made on', () => {
  test('a completion that leaves exactly the prefix length in the cache does not pass for the prefix', async () => {
    const fake = await loadedFakeWebLLM();
    const { engine } = fake;
    const first = await judgeFast(engine, checkRequest('prompt', 'first'), judgeContext());
    expect(first.prefixReused).toBe(false);
    const prefixLength = engine.tokens()!.kvLength();
    // A completion resets the cache and leaves its prompt plus its output there: prefixLength tokens in all.
    const completion = await engine.complete('a'.repeat(prefixLength - 1), { maxTokens: 1 });
    expect(completion.completionTokens).toBe(1);
    expect(engine.tokens()!.kvLength()).toBe(prefixLength);
    const user = 'second [[unsafe:Violence]]';
    const second = await judgeFast(engine, checkRequest('prompt', user), judgeContext());
    expect(second).toMatchObject({ rating: 'unsafe', prefixReused: false });
  });

  test('a reload gives a new cache: nothing is reused from before it', async () => {
    const fake = await loadedFakeWebLLM();
    await judgeFast(fake.engine, checkRequest('prompt', 'first'), judgeContext());
    await fake.engine.load({ ...(await import('../helpers/fake-webllm.js')).fakeSpec() });
    const again = await judgeFast(fake.engine, checkRequest('prompt', 'again [[p:0.2]]'), judgeContext());
    expect(again).toMatchObject({ rating: 'safe', prefixReused: false });
  });
});

describe('huge prompts never reach WebLLM\'s spread', () => {
  test('complete(): a prompt that cannot fit is refused before tokenizing', async () => {
    const fake = await loadedFakeWebLLM({ contextWindow: 4096 });
    const before = fake.tokenizer.calls.encode;
    await expect(fake.engine.complete('x'.repeat(2_000_000), { maxTokens: 4 })).rejects.toBeInstanceOf(ContextWindowExceededError);
    expect(fake.tokenizer.calls.encode).toBe(before);
  });

  test('complete(): in a 128k window, 150k tokens is a typed context error, not a RangeError from the spread', async () => {
    const fake = await loadedFakeWebLLM({ contextWindow: 131072, prefillChunkSize: 16384 });
    const failure = await fake.engine.complete('w'.repeat(150_000), { maxTokens: 4 }).catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(ContextWindowExceededError);
    expect(failure).toMatchObject({ promptTokens: 150_000 });
    expect(fake.runtime.counters.completions).toBe(0);
  });

  test('complete(): a long prompt that fits is counted once by us and then completed', async () => {
    const fake = await loadedFakeWebLLM({ contextWindow: 131072, prefillChunkSize: 32768 });
    const result = await fake.engine.complete('v'.repeat(70_000), { maxTokens: 2 });
    expect(result.promptTokens).toBe(70_000);
    expect(fake.runtime.counters.completions).toBe(1);
  });

  test('complete() on a pipeline of another shape (no tokenizer reachable): still capped, typed', async () => {
    const fake = await loadedFakeWebLLM({ contextWindow: 4096, omit: ['tokenizer'] });
    await expect(fake.engine.complete('x'.repeat(2_000_000), { maxTokens: 4 })).rejects.toBeInstanceOf(ContextWindowExceededError);
    await expect(fake.engine.complete('x'.repeat(100_000), { maxTokens: 4 })).rejects.toBeInstanceOf(ContextWindowExceededError);
    expect(fake.runtime.counters.completions).toBe(0);
  });

  test('a huge text that reaches the engine whole fails closed with a context error; the guard goes on', async () => {
    // Without the window loop above it, so the engine's own cap is what answers (the safety net under windowing).
    // Under maxInputChars (1,000,000 by default), which the service enforces whatever the judge.
    const g = await guardOn({}, { selectJudge: (engine) => (engine.tokens() ? judgeFast : judgeByJson) });
    const huge = await check(g.service, 'tell me '.repeat(120_000));
    expect(huge).toMatchObject({ safe: false, source: 'failure', failure: { code: 'context-window-exceeded' } });
    expect(await check(g.service, 'hello [[p:0.1]]')).toMatchObject({ source: 'model', rating: 'safe' });
  });

  test('through the default window loop, a text past maxInputChars fails closed as input-too-long; the guard goes on', async () => {
    const g = await guardOn();
    const huge = await check(g.service, 'tell me '.repeat(150_000));
    expect(huge).toMatchObject({ safe: false, source: 'failure', failure: { code: 'input-too-long' } });
    expect(await check(g.service, 'hello [[p:0.1]]')).toMatchObject({ source: 'model', rating: 'safe' });
  });
});

describe('device loss: WebLLM unloads behind our queue', () => {
  for (const watched of [true, false]) {
    test(`a check in flight fails closed as device-lost; the next one reloads${watched ? '' : ' (device not reachable: no lost event for us)'}`, async () => {
      const g = await guardOn({ exposeDevice: watched });
      await check(g.service, 'warm up');
      const pipeline = g.runtime.pipeline;
      const hold = pipeline.holdNextForward();
      const inFlight = check(g.service, 'in flight [[unsafe:Threat]]');
      await hold.entered;
      g.runtime.loseDevice();
      // WebLLM's own handler (registered first) starts an unload nobody awaits; here it is awaited.
      await pipeline.gpu.lost;
      await g.runtime.unloadedOnLoss;
      expect(g.runtime.loadedModelIdToPipeline.size).toBe(0);
      hold.release();
      const lost = await inFlight;
      expect(lost).toMatchObject({ safe: false, source: 'failure', failure: { code: 'device-lost' } });
      const next = await check(g.service, 'after the loss [[unsafe:Violence]]');
      expect(next).toMatchObject({ source: 'model', rating: 'unsafe', timings: { prefixReused: false } });
      expect(g.runtime.counters.reloads).toBe(2);
    });
  }

  test('calls on the session after the loss fail typed: model not loaded or device lost', async () => {
    const fake = await loadedFakeWebLLM({ exposeDevice: false });
    const session = fake.engine.tokens()!;
    fake.runtime.loseDevice();
    await fake.runtime.pipelines[0]!.gpu.lost;
    await fake.runtime.unloadedOnLoss;
    for (const call of [() => session.forward([1001]), () => session.reset(), () => session.encode('x'), () => session.truncate!(0), () => fake.engine.complete('x', { maxTokens: 1 })]) {
      const failure = await call().catch((e: unknown) => e);
      expect(failure).toBeInstanceOf(AegisError);
      expect((failure as AegisError).code).toMatch(/^(device-lost|model-not-loaded)$/);
    }
  });
});
