/**
 * The worker's waiting line: prompts before replies, first come first served within each, and a reply on the
 * prompt that has just run goes next (its prompt is still in the KV cache). Then the same through the guard
 * service on the scripted KV-cache model: a history queued at once prefills each long prompt once.
 */
import { afterEach, beforeAll, beforeEach, describe, expect, test, vi } from 'vitest';
import type { Target } from '../../src/core/types.js';
import { CheckQueue } from '../../src/worker/check-queue.js';
import { GuardService } from '../../src/worker/guard-service.js';
import type { ModelSource } from '../../src/worker/protocol.js';
import { fakeNavigator } from '../helpers/fake-webllm.js';
import { NodeFastEngine, checkRequest } from '../helpers/node-fast-engine.js';
import { loadLlama3Tokenizer, type Llama3Tokenizer } from './core-llama3-tokenizer.js';

interface Item {
  target: Target;
  name: string;
  user: string;
}
const item = (target: Target, name: string, user = name): Item => ({ target, name, user });
const names = (queue: CheckQueue<Item>, follows?: (previous: Item) => ((i: Item) => boolean) | undefined) => {
  const order: string[] = [];
  for (let next = queue.shift(); next; next = queue.shift(follows?.(next))) order.push(next.name);
  return order;
};

describe('CheckQueue', () => {
  test('prompt checks go first; each class in arrival order', () => {
    const q = new CheckQueue<Item>();
    for (const i of [item('response', 'r1'), item('prompt', 'p1'), item('response', 'r2'), item('prompt', 'p2')]) q.push(i);
    expect(q.size).toBe(4);
    expect(names(q)).toEqual(['p1', 'p2', 'r1', 'r2']);
  });

  test('after a prompt, the oldest waiting reply on that prompt goes next', () => {
    const q = new CheckQueue<Item>();
    for (const i of [item('prompt', 'p1', 'A'), item('prompt', 'p2', 'B'), item('response', 'rB', 'B'), item('response', 'rA', 'A'), item('prompt', 'p3', 'C')]) q.push(i);
    const sameUser = (previous: Item) => (previous.target === 'prompt' ? (i: Item) => i.user === previous.user : undefined);
    expect(names(q, sameUser)).toEqual(['p1', 'rA', 'p2', 'rB', 'p3']);
  });

  test('a follower is looked for among the oldest 64 replies only (bounded work per shift)', () => {
    const q = new CheckQueue<Item>();
    for (let i = 0; i < 64; i++) q.push(item('response', `other${i}`, 'X'));
    q.push(item('response', 'late', 'A'));
    q.push(item('prompt', 'p', 'P'));
    let looked = 0;
    expect(q.shift((i) => (looked++, i.user === 'A'))?.name).toBe('p');
    expect(looked).toBe(64);
  });

  test('remove and drain', () => {
    const q = new CheckQueue<Item>();
    const a = item('response', 'a');
    q.push(a);
    q.push(item('prompt', 'b'));
    expect(q.remove(a)).toBe(true);
    expect(q.remove(a)).toBe(false);
    expect(q.drain().map((i) => i.name)).toEqual(['b']);
    expect(q.size).toBe(0);
  });
});

describe('the guard service schedules a reply right after its prompt', () => {
  let tk: Llama3Tokenizer;
  beforeAll(async () => {
    tk = await loadLlama3Tokenizer();
  });
  // The service's WebGPU preflight runs on a stand-in navigator.gpu (Node has none).
  beforeEach(() => {
    vi.stubGlobal('navigator', fakeNavigator());
  });
  afterEach(() => {
    vi.unstubAllGlobals();
  });

  test('a history queued at once: each reply follows its prompt and prefills only itself', async () => {
    const engine = new NodeFastEngine(tk);
    const service = new GuardService(engine, { cacheSize: 0 });
    const source: ModelSource = { kind: 'aegis', weightsUrl: 'http://localhost/scripted-model/', variant: 'q4f32_1' };
    const loaded = await service.load(source);
    expect(loaded).toMatchObject({ ok: true });
    const long = (i: number) => `Question ${i}: ${'please explain how the tides work in some detail. '.repeat(40)}`;
    const turns = [0, 1, 2].map((i) => ({ prompt: long(i), reply: `Answer ${i}: the moon pulls the water.` }));
    // Queued while nothing runs yet: all prompts, then all replies, as a history mounts.
    const pending = [
      ...turns.map((t) => service.check(checkRequest('prompt', t.prompt))),
      ...turns.map((t) => service.check(checkRequest('response', t.prompt, { response: t.reply }))),
    ];
    const results = await Promise.all(pending);
    expect(results.every((r) => r.ok && r.value.source === 'model')).toBe(true);
    // The model saw them paired: prompt i (one reading), then its reply (two readings: the user's rating on
    // the way to the reply's). Prompts first would read 0, 1, 2, then 0, 0, 1, 1, 2, 2.
    const seen = engine.tokenStats.judgedUsers.map((u) => turns.findIndex((t) => t.prompt === u));
    expect(seen).toEqual([0, 0, 0, 1, 1, 1, 2, 2, 2]);
    // Each long prompt was forwarded once: no forward is as long as a prompt after the first prompt check.
    const promptTokens = tk.encode(turns[0]!.prompt).length;
    const longForwards = engine.tokenStats.forwards.filter((n) => n >= promptTokens);
    expect(longForwards).toHaveLength(turns.length);
  });
});
