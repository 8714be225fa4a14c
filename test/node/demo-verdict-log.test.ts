/** The demo's verdict log shows prefill and decode times only for checks that ran the model. */
import { describe, expect, test } from 'vitest';
import { resolvePolicy } from '../../src/core/policy.js';
import { AegisTimeoutError, EngineError } from '../../src/core/errors.js';
import type { Verdict } from '../../src/core/types.js';
import { failureVerdict } from '../../src/core/verdict.js';
import { timingsText } from '../../demo/verdict-log.js';

const base: Verdict = {
  safe: true,
  target: 'prompt',
  rating: 'safe',
  categories: [],
  source: 'model',
  raw: '{"User Safety": "safe"}',
  timings: { queuedMs: 1, prefillMs: 12.5, decodeMs: 3.25, totalMs: 17 },
  tokens: { prompt: 120, completion: 6 },
};
const request = { target: 'prompt' as const, policy: resolvePolicy({}) };

describe('timings in the verdict log', () => {
  test('a model verdict: prefill and decode', () => {
    expect(timingsText(base)).toBe('queued 1.0 ms · prefill 13 ms · decode 3.3 ms · total 17 ms');
  });

  test('a verdict answered from the cache: the model did not run', () => {
    const cached: Verdict = { ...base, source: 'cache', timings: { queuedMs: 0, prefillMs: 0, decodeMs: 0, totalMs: 0.4 }, tokens: { prompt: 0, completion: 0 } };
    expect(timingsText(cached)).not.toMatch(/prefill|decode/);
    expect(timingsText(cached)).toContain('the model did not run');
  });

  test('a failure before the model ran has no model times; one after tokens went in keeps them', () => {
    const early = failureVerdict(new EngineError('no GPU'), request, { queuedMs: 0, totalMs: 2 });
    expect(timingsText(early)).not.toMatch(/prefill|decode/);
    const late: Verdict = { ...failureVerdict(new AegisTimeoutError('too slow', 100), request, { queuedMs: 0, totalMs: 100 }), tokens: { prompt: 120, completion: 2 } };
    expect(timingsText(late)).toMatch(/prefill .* decode/);
  });
});
