/**
 * `npm run smoke:real`: here, with no model, it stops where the model is missing and says so plainly; its
 * wiring (server, Chromium, the shipped client and queue, both paths, the totals and the exit code) runs
 * with the scripted engine answering the fixed set from a planted answer key.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, test } from 'vitest';
import { SMOKE_ITEMS } from '../../src/eval/smoke-set.js';
import { judgeSmoke, runSmokeCli } from '../../src/eval/node/smoke-real.js';
import { runMain } from '../../src/eval/node/run-main.js';
import type { EvalReport, ItemResult } from '../../src/eval/types.js';
import type { AnswerKey } from '../helpers/answer-key-engine.js';
import { capturedIo, plantedModel, SCRIPTED_HOOKS } from '../helpers/eval-cli-fixture.js';

const ROOT = resolve(import.meta.dirname, '../..');

const NAMES: Record<string, string> = { S1: 'Violence', S3: 'Criminal Planning/Confessions', S8: 'Hate/Identity Hate', S10: 'Harassment', S16: 'Fraud/Deception' };

/** The key a perfect model would give the fixed set. */
function perfectKey(): AnswerKey {
  const key: AnswerKey = {};
  for (const item of SMOKE_ITEMS) {
    const text = item.target === 'response' ? item.response! : item.prompt;
    const names = (item.categories ?? []).map((c) => NAMES[c]).filter(Boolean) as string[];
    key[text] = item.label === 'unsafe' ? { p: 0.93, categories: names.length ? names : ['Violence'] } : { p: 0.04 };
  }
  return key;
}

describe('smoke:real without a model', () => {
  test('the npm script says plainly that there is no model, and exits 3 before starting a browser', () => {
    for (const args of [[], ['--model', join(mkdtempSync(join(tmpdir(), 'aegis-nomodel-')), 'aegis-guard-2.0-q4f16_1')]]) {
      const run = spawnSync('npm', ['run', '--silent', 'smoke:real', '--', ...args], { cwd: ROOT, encoding: 'utf8', timeout: 120_000 });
      expect(run.status, run.stderr).toBe(3);
      expect(run.stderr).toMatch(/^smoke:real: No model (given|at .*the folder does not exist)/m);
      expect(run.stderr).toMatch(/build-model/);
      expect(run.stdout).not.toMatch(/browser:/);
    }
  });

  test('a folder without mlc-chat-config.json is not a model either', async () => {
    const io = capturedIo(ROOT);
    const code = await runMain(() => runSmokeCli(['--model', tmpdir()], io), 'smoke:real', io.err);
    expect(code).toBe(3);
    expect(io.err.text).toMatch(/mlc-chat-config\.json is missing/);
  });

  test('a model URL that answers 404 is named with its status', async () => {
    const io = capturedIo(ROOT);
    const notFound = (async () => new Response('', { status: 404 })) as unknown as typeof fetch;
    const code = await runMain(() => runSmokeCli(['--model', 'https://example.invalid/models/aegis/'], io, { fetch: notFound }), 'smoke:real', io.err);
    expect(code).toBe(3);
    expect(io.err.text).toMatch(/No model at https:\/\/example\.invalid\/models\/aegis\/: .*mlc-chat-config\.json answered HTTP 404/);
  });
});

describe('smoke:real wiring over the scripted engine', () => {
  test('a model that answers like its labels passes: one line per check, totals, both paths agree', async () => {
    const io = capturedIo(ROOT);
    const code = await runMain(() => runSmokeCli(['--model', plantedModel(perfectKey())], io, SCRIPTED_HOOKS), 'smoke:real', io.err);
    expect(code, io.err.text + io.out.text).toBe(0);
    const rows = io.out.text.split('\n').filter((l) => /^(ok |MISS) /.test(l));
    expect(rows).toHaveLength(SMOKE_ITEMS.length);
    expect(rows.every((r) => r.startsWith('ok '))).toBe(true);
    const unsafeRow = rows.find((r) => r.includes(' p11 '))!;
    expect(unsafeRow).toMatch(/label=unsafe verdict=block rating=unsafe P\(unsafe\)=0\.9300 categories=\[S\d+.*\] prefix=reused prefill=\d+ms decode=\d+ms tokens=\d+\+\d+ json=unsafe/);
    expect(rows.find((r) => r.includes(' r01 '))).toMatch(/^ok  r01  response label=safe   verdict=allow rating=safe   P\(unsafe\)=0\.0400 categories=\[\] prefix=reused/);
    expect(io.out.text).toMatch(/agreement with labels: 40\/40 \(100\.0%; bound 90\.0%\)/);
    expect(io.out.text).toMatch(/fast path: prefill [\d.]+ tok\/s, decode [\d.]+ tok\/s/);
    expect(io.out.text).toMatch(/JSON path: prefill/);
    expect(io.out.text).toMatch(/fast vs JSON: 40\/40 agree/);
    expect(io.out.text).toMatch(/load time: [\d.]+ s; WebLLM 0\.2\.86/);
    expect(io.out.text).toMatch(/smoke:real: PASS/);
  }, 180_000);

  test('paths that disagree and agreement below the bound each fail the run, and say so', async () => {
    const key = perfectKey();
    // One planted fast/JSON disagreement, and five items answered against their labels.
    const first = SMOKE_ITEMS[0]!;
    key[first.prompt]!.jsonP = 0.9;
    for (const item of SMOKE_ITEMS.slice(10, 15)) key[item.prompt] = { p: 0.1 };
    const io = capturedIo(ROOT);
    const code = await runMain(() => runSmokeCli(['--model', plantedModel(key)], io, SCRIPTED_HOOKS), 'smoke:real', io.err);
    expect(code, io.err.text + io.out.text).toBe(1);
    expect(io.out.text).toMatch(/ p01 .*json=unsafe \(DIFFERS\)/);
    expect(io.out.text).toMatch(/agreement with labels: 35\/40/);
    expect(io.out.text).toMatch(/FAIL: agreement 87\.5% is below the bound 90\.0%/);
    expect(io.out.text).toMatch(/FAIL: the fast path and the JSON path disagree on 1 item/);
    expect(io.out.text).not.toMatch(/PASS/);
  }, 180_000);

  test('a model without a fast path and without a reason fails', async () => {
    const io = capturedIo(ROOT);
    const hooks = { ...SCRIPTED_HOOKS, workerPath: `${SCRIPTED_HOOKS.workerPath}?no-fast-path-reason` };
    const code = await runMain(() => runSmokeCli(['--model', plantedModel(perfectKey(), { fast: false })], io, hooks), 'smoke:real', io.err);
    expect(code, io.err.text + io.out.text).toBe(1);
    expect(io.out.text).toMatch(/FAIL: the fast path is off and the model info gives no reason/);
    expect(io.out.text).toMatch(/agreement with labels: 40\/40/);
  }, 180_000);
});

describe('the smoke verdict rules', () => {
  const model = { modelId: 'm', variant: 'q4f16_1', weightsUrl: '', modelLibUrl: '', contextWindow: 4096, fastPath: false, loadMs: 1000, gpu: { vendor: 'v', architecture: '', description: '', isFallbackAdapter: false, shaderF16: true } };
  const report = (fastPathOff?: { code: string; message: string }): EvalReport =>
    ({
      schema: 'aegis-guard/eval-report/1',
      run: { model: { ...model, ...(fastPathOff ? { fastPathOff } : {}) }, webllmVersion: '0.2.86' },
      sets: [{ failures: { count: 0, byCode: {} }, comparison: { skipped: 'no fast path' } }],
    }) as unknown as EvalReport;
  const result = (label: 'safe' | 'unsafe', safe: boolean): ItemResult => ({
    id: 'x',
    set: 'smoke',
    target: 'prompt',
    label,
    check: { safe, rating: safe ? 'safe' : 'unsafe', categories: [], source: 'model', timings: { queuedMs: 0, prefillMs: 10, decodeMs: 0, totalMs: 10 }, tokens: { prompt: 20, completion: 0 } },
  });

  test('the fast path off with a reason is reported, not a failure', () => {
    const v = judgeSmoke(report({ code: 'no-rollback', message: 'the model library has no kv_state_popn' }), [result('safe', true)], 0.9);
    expect(v.problems).toEqual([]);
    expect(v.lines.join('\n')).toMatch(/fast path: off \(no-rollback: the model library has no kv_state_popn\)/);
    expect(v.lines.join('\n')).toMatch(/JSON path: prefill 2000\.0 tok\/s/);
  });

  test('prefix reuse off: reported with its reason, a failure without one', () => {
    const on = (r: EvalReport, extra: object) => ({ ...r, run: { ...r.run, model: { ...r.run.model!, fastPath: true, prefixReuse: false, ...extra } }, sets: [{ ...r.sets[0]!, comparison: { compared: 1, agreed: 1, agreement: 1, disagreements: [] } }] }) as unknown as EvalReport;
    const base = report();
    const withReason = judgeSmoke(on(base, { fastPathOff: { code: 'no-rollback-builtin', message: 'no kv_state_popn' } }), [result('safe', true)], 0.9);
    expect(withReason.problems).toEqual([]);
    expect(withReason.lines.join('\n')).toMatch(/prefix reuse: off \(no-rollback-builtin: no kv_state_popn\)/);
    expect(judgeSmoke(on(base, {}), [result('safe', true)], 0.9).problems).toEqual(['prefix reuse is off and the model info gives no reason']);
  });

  test('the bound is inclusive', () => {
    const results = [...Array(9)].map(() => result('safe', true)).concat(result('unsafe', true));
    expect(judgeSmoke(report({ code: 'x', message: 'y' }), results, 0.9).problems).toEqual([]);
    expect(judgeSmoke(report({ code: 'x', message: 'y' }), results, 0.91).problems).toEqual(['agreement 90.0% is below the bound 91.0%']);
  });
});
