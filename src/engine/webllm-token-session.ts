/**
 * Token-level access to a loaded WebLLM pipeline: the fast path's forward pass with raw logits, and KV-cache
 * rollback. Built only on WebLLM 0.2.86 internals (see webllm-internals.ts) and never executed here (no
 * model library can be fetched in CI), so each step below states why it is correct, with `idx:N` references
 * to node_modules/@mlc-ai/web-llm/lib/index.js.
 */
import type { LogitProcessor, MLCEngine } from '@mlc-ai/web-llm';
import {
  AegisAbortError,
  AegisInputError,
  ContextWindowExceededError,
  EngineError,
  ModelNotLoadedError,
  type AegisError,
} from '../core/errors.js';
import type { TokenSession } from './engine.js';
import type { PackedFunc, PipelineInternals } from './webllm-internals.js';

/**
 * Copies the logits of the next sampling step. Installed on the pipeline only for the duration of one
 * `forward`: `sampleFromRawLogits` reads `this.logitProcessor` at each call (idx:13675) and, when set,
 * copies the full raw logits to the CPU and hands them to `processLogits` (idx:13675-13686) before
 * logit_bias (idx:13695), penalties (idx:13726) and softmax/temperature (idx:13775-13783). Keeping it off the
 * pipeline otherwise spares every `completions.create` token that GPU→CPU round trip.
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

export interface TokenSessionDeps {
  engine: MLCEngine;
  modelId: string;
  pipeline: PipelineInternals;
  /** False once the model was unloaded, replaced or lost: the pipeline is then disposed. */
  isCurrent: () => boolean;
  /** Runs `task` after every other runtime call of the engine has finished (one at a time). */
  exclusive: <T>(task: () => Promise<T>) => Promise<T>;
  /** Maps a runtime failure to an `AegisError` (and notices device loss). */
  mapError: (error: unknown) => AegisError;
}

/**
 * Looks up `vm.builtin.kv_state_popn` in the model library's runtime. `getGlobalFunc` throws "Cannot find
 * global function" when absent (idx:7982-7988) and attaches the result to the current scope, so it is
 * fetched inside a scope and detached, exactly as WebLLM fetches its own KV functions (idx:12637-12641,
 * 11917-11922). `kv_state_popn` is registered by TVM next to `kv_state_clear`/`kv_state_add_sequence`, which
 * WebLLM itself requires (internals §2, option 1), but a library built without it just disables rollback.
 */
function findPopN(pipeline: PipelineInternals): PackedFunc | undefined {
  // Rollback only makes sense for a plain paged KV cache without a sliding window: an RNN state cannot be
  // popped, and a sliding window has already dropped early positions.
  if (pipeline.kvCache === undefined || pipeline.kvStateKind !== 'kv_cache' || pipeline.slidingWindowSize !== -1) {
    return undefined;
  }
  const { tvm } = pipeline;
  tvm.beginScope();
  try {
    return tvm.detachFromCurrentScope(tvm.getGlobalFunc('vm.builtin.kv_state_popn'));
  } catch {
    return undefined;
  } finally {
    tvm.endScope();
  }
}

function checkIds(ids: unknown): number[] {
  if (!Array.isArray(ids) || ids.length === 0 || !ids.every((id) => Number.isInteger(id) && id >= 0)) {
    throw new AegisInputError('Token ids must be a non-empty array of non-negative integers.');
  }
  return ids as number[];
}

/** A `TokenSession` for the pipeline, with `truncate` only when the runtime can pop KV entries. */
export function createTokenSession(deps: TokenSessionDeps): TokenSession & { dispose(): void } {
  const { engine, modelId, pipeline, isCurrent, exclusive, mapError } = deps;
  const capture = new LogitCapture();
  let popN = findPopN(pipeline);

  const assertCurrent = () => {
    if (!isCurrent()) throw new ModelNotLoadedError('The model this token session belonged to is no longer loaded.');
  };

  /** Runs a runtime call exclusively, on the still-current pipeline, with errors mapped. */
  const run = <T>(task: () => Promise<T> | T): Promise<T> =>
    exclusive(async () => {
      assertCurrent();
      try {
        return await task();
      } catch (error) {
        throw mapError(error);
      }
    });

  const session: TokenSession & { dispose(): void } = {
    // The runtime's own tokenizer: Encode(text) with add_special_tokens=false, so no BOS is added and
    // special-token spellings become special ids (internals §1.3); decode keeps special tokens.
    async encode(text: string): Promise<number[]> {
      if (typeof text !== 'string') throw new AegisInputError('encode() takes a string.');
      assertCurrent();
      return Array.from(pipeline.tokenizer.encode(text));
    },

    async decode(ids: number[]): Promise<string> {
      assertCurrent();
      return pipeline.tokenizer.decode(Int32Array.from(checkIds(ids)));
    },

    // Advanced by exactly the forwarded length in embedAndForward (idx:13330), zeroed by resetChat
    // (idx:12017). `completions.create` resets it too (it always starts from an empty cache, idx:19115).
    kvLength(): number {
      return isCurrent() ? pipeline.filledKVCacheLength : 0;
    },

    get contextWindow(): number {
      return pipeline.contextWindowSize;
    },

    async forward(ids: number[], signal?: AbortSignal): Promise<Float32Array> {
      const tokens = checkIds(ids);
      return run(async () => {
        // A prefill cannot be interrupted once started (internals §4), so the abort is honoured before it.
        if (signal?.aborted) throw new AegisAbortError('The forward pass was cancelled.');
        // forwardTokensAndSample does no context check (internals §2) while the KV cache holds at most
        // contextWindowSize tokens (max_total_sequence_length, idx:11925-11931).
        const needed = pipeline.filledKVCacheLength + tokens.length;
        if (needed > pipeline.contextWindowSize) {
          throw new ContextWindowExceededError(
            `The KV cache would hold ${needed} tokens, more than the ${pipeline.contextWindowSize}-token context window.`,
            needed,
            pipeline.contextWindowSize,
          );
        }
        const previous = pipeline.logitProcessor;
        pipeline.logitProcessor = capture;
        capture.take();
        try {
          // engine.forwardTokensAndSample (idx:19008-19013) → pipeline.forwardTokensAndSample (idx:13958):
          // chunks `ids` by prefillChunkSize, embeds and forwards each chunk on top of the existing KV cache
          // without resetting it (idx:13998-14014), then samples once from the last chunk's logits, i.e. the
          // logits after the last id (idx:14015). The sampled token is only committed to the logit
          // processor (idx:12869), not forwarded, so the cache grows by exactly ids.length. `isPrefill` only
          // selects which statistics are updated (idx:14018-14031).
          await engine.forwardTokensAndSample(tokens, tokens.length > 1, modelId);
        } finally {
          pipeline.logitProcessor = previous;
        }
        const logits = capture.take();
        if (!logits) throw new EngineError('The runtime returned no logits for the forward pass.');
        return logits;
      });
    },

    async reset(): Promise<void> {
      // engine.resetChat swallows ModelNotLoadedError (idx:19041-19046), so currency is checked first (run).
      // pipeline.resetChat clears every KV state, re-adds sequence 0 and zeroes filledKVCacheLength
      // (idx:12008-12030).
      await run(() => engine.resetChat(false, modelId));
    },

    dispose(): void {
      try {
        popN?.dispose();
      } catch {
        // The runtime may already be gone; nothing left to free then.
      }
      popN = undefined;
    },
  };

  if (popN) {
    session.truncate = async (length: number): Promise<void> => {
      await run(async () => {
        const current = pipeline.filledKVCacheLength;
        if (!Number.isInteger(length) || length < 0 || length > current) {
          throw new AegisInputError(`truncate() needs an integer from 0 to ${current}; got ${String(length)}.`);
        }
        const count = current - length;
        if (count === 0) return;
        // Some TVM versions' PagedAttentionKVCache::PopN require n < the last block's length, so emptying
        // the cache goes through resetChat instead (the same as reset()).
        if (length === 0) return engine.resetChat(false, modelId);
        const { tvm } = pipeline;
        tvm.beginScope();
        try {
          // PopN(seq_id, n) on the paged KV cache WebLLM created with one sequence, id 0 (idx:11924-11935,
          // added in resetKVCache idx:12028). Numbers must be passed as Scalars: a plain JS number crosses
          // the FFI as a float (idx:8943-8945), a Scalar with an int dtype as kTVMFFIInt (idx:8919-8922). The
          // cache was never forked (WebLLM has no fork call), so the sequence is one block holding every
          // token, and PopN only trims that block's length and frees its surplus pages (TVM
          // src/runtime/relax_vm/paged_kv_cache.cc, registered as vm.builtin.kv_state_popn in kv_state.cc);
          // the device-side page tables are rebuilt at the next begin_forward (dirty_aux_data_device_).
          popN!(pipeline.kvCache, tvm.scalar(0, 'int64'), tvm.scalar(count, 'int64'));
        } finally {
          tvm.endScope();
        }
        // WebLLM keeps its own count of the cache length and checks it after every chunk (idx:14010-14012).
        pipeline.filledKVCacheLength = length;
      });
    };
  }
  return session;
}
