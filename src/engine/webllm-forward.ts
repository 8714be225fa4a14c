/**
 * One forward pass on a WebLLM 0.2.86 pipeline that returns the raw logits after the last id, on the CPU.
 * Two ways, chosen once per pipeline:
 * - `forwardKnownTokens` (0.2.86, idx:14036-14081): chunked prefill inside try/finally, no sampling; the
 *   last chunk's logits come back detached from its scope. One GPU-to-CPU copy, then both tensors are freed.
 * - `forwardTokensAndSample` (older pipelines): runs the whole sampler for a token nobody uses; a logit
 *   processor copies the raw logits on their way in. The sampler validates the chat config on every call
 *   (idx:13627-13641) and, with no generation config, never applies its top_p default (idx:13578-13590), so a
 *   config without temperature or top_p would make every forward throw: a neutral config is swapped in for
 *   the call.
 * Either may throw after the KV cache grew (a TVM check, the sampler): the caller must then treat the
 * cache as unknown (webllm-token-session.ts).
 */
import type { LogitProcessor } from '@mlc-ai/web-llm';
import { EngineError } from '../core/errors.js';
import { scopeDepth, unwindScopes, type PipelineInternals, type SamplingConfig, type TvmTensor } from './webllm-internals.js';

/** Forwards `ids` on top of the KV cache; resolves with the next-token logits. */
export type ForwardLogits = (ids: number[]) => Promise<Float32Array>;

/**
 * Copies the logits of the next sampling step. Installed on the pipeline only for the duration of one
 * forward: `sampleFromRawLogits` reads `this.logitProcessor` at each call (idx:13675) and, when set,
 * copies the full raw logits to the CPU and hands them to `processLogits` (idx:13675-13686) before
 * logit_bias (idx:13695), penalties (idx:13726) and softmax/temperature (idx:13775-13783).
 */
export class LogitCapture implements LogitProcessor {
  private captured: Float32Array | undefined;

  processLogits(logits: Float32Array): Float32Array {
    // `toArray()` already returns a copy (idx:7608-7623); copying again keeps ours safe from any reuse.
    this.captured = logits.slice();
    // Returned unchanged: the pipeline writes it back to the GPU (idx:13687), so sampling is unaffected.
    return logits;
  }

  processSampledToken(): void {}

  resetState(): void {}

  /** Returns and forgets the last captured logits. */
  take(): Float32Array | undefined {
    const logits = this.captured;
    this.captured = undefined;
    return logits;
  }
}

/**
 * Values every sampler check accepts (idx:13627-13641). Neutral penalties also skip the penalty kernels
 * (idx:13726-13728); temperature and top_p only shape the discarded sample.
 */
const NEUTRAL_SAMPLING: Required<SamplingConfig> = {
  temperature: 1,
  top_p: 1,
  repetition_penalty: 1,
  frequency_penalty: 0,
  presence_penalty: 0,
};

/** Puts the neutral sampling values on `config`; the returned function puts the old ones back exactly. */
function withNeutralSampling(config: SamplingConfig): () => void {
  const target = config as Record<string, unknown>;
  const saved = Object.keys(NEUTRAL_SAMPLING).map((key) => ({
    key,
    own: Object.prototype.hasOwnProperty.call(target, key),
    value: target[key],
  }));
  Object.assign(target, NEUTRAL_SAMPLING);
  return () => {
    for (const { key, own, value } of saved) {
      if (own) target[key] = value;
      else delete target[key];
    }
  };
}

/** Copies GPU logits to a CPU Float32Array (one copy, one sync), freeing the host tensor afterwards. */
async function logitsToHost(pipeline: PipelineInternals, logits: TvmTensor): Promise<Float32Array> {
  if (logits.dtype !== 'float32') {
    throw new EngineError(`The runtime returned ${logits.dtype} logits; the fast path reads float32 logits.`);
  }
  const { tvm } = pipeline;
  let host: TvmTensor | undefined;
  tvm.beginScope();
  try {
    // tvm.empty attaches to the current scope (a PackedFunc result): detached so it outlives the scope.
    host = tvm.detachFromCurrentScope(tvm.empty(logits.shape, logits.dtype, tvm.cpu()));
    host.copyFrom(logits);
  } catch (error) {
    host?.dispose();
    throw error;
  } finally {
    tvm.endScope();
  }
  try {
    // The copy is queued on the GPU; toArray() reads host memory and needs it done (idx:13549, 13679).
    await pipeline.device.sync();
    const values = host.toArray();
    if (!(values instanceof Float32Array) || values.length === 0) {
      throw new EngineError('The runtime returned no usable logits for the forward pass.');
    }
    return values;
  } finally {
    host.dispose();
  }
}

function knownTokensForward(pipeline: PipelineInternals): ForwardLogits {
  return async (ids) => {
    const depth = scopeDepth(pipeline.tvm);
    let logits: TvmTensor | undefined;
    try {
      // isPrefill only selects which statistics are updated (idx:14074-14079).
      logits = await pipeline.forwardKnownTokens!(ids, ids.length > 1);
    } catch (error) {
      // Its try/finally closes its own scope, but embedAndForward's (idx:13287-13331) has none: a throw in
      // a chunk leaves one scope open.
      unwindScopes(pipeline.tvm, depth);
      throw error;
    }
    if (!logits) throw new EngineError('The runtime returned no logits for the forward pass.');
    try {
      return await logitsToHost(pipeline, logits);
    } finally {
      logits.dispose();
    }
  };
}

function samplingForward(pipeline: PipelineInternals): ForwardLogits {
  const capture = new LogitCapture();
  return async (ids) => {
    const previous = pipeline.logitProcessor;
    const restore = withNeutralSampling(pipeline.config);
    const depth = scopeDepth(pipeline.tvm);
    pipeline.logitProcessor = capture;
    capture.take();
    try {
      // Chunks by prefillChunkSize and forwards each chunk on top of the cache (idx:13998-14014), then
      // samples once from the last chunk's logits (idx:14015); the sampled token is not forwarded, so the
      // cache grows by exactly ids.length.
      await pipeline.forwardTokensAndSample(ids, ids.length > 1);
    } catch (error) {
      unwindScopes(pipeline.tvm, depth);
      throw error;
    } finally {
      pipeline.logitProcessor = previous;
      restore();
    }
    const logits = capture.take();
    if (!logits) throw new EngineError('The runtime returned no logits for the forward pass.');
    return logits;
  };
}

/** How this pipeline forwards, or undefined when it offers neither way. */
export function forwardFor(pipeline: PipelineInternals): { forward: ForwardLogits; sampler: boolean } | undefined {
  if (typeof pipeline.forwardKnownTokens === 'function') return { forward: knownTokensForward(pipeline), sampler: false };
  if (typeof pipeline.forwardTokensAndSample === 'function') return { forward: samplingForward(pipeline), sampler: true };
  return undefined;
}
