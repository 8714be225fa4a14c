/**
 * Token-level access to a loaded WebLLM pipeline: the fast path's forward pass with raw logits, and KV-cache
 * rollback. Built only on WebLLM 0.2.86 internals (webllm-internals.ts); no model library can run where the
 * tests run, so test/helpers/fake-webllm.ts reproduces what the real runtime was measured to do
 * (../shared/reference/webllm-real-runtime.md) and test/node/engine-token-session.test.ts drives this file
 * through it. `idx:N` = line N of node_modules/@mlc-ai/web-llm/lib/index.js.
 *
 * What the session knows about the KV cache:
 * - 'ours': every change since our last reset went through this session and succeeded, so WebLLM's own count
 *   (`filledKVCacheLength`) is exact: it grows by each forwarded chunk (idx:13330) and we set it on a pop.
 * - 'foreign': the engine used the cache for something else (a completion resets and refills it) or the
 *   session has just been opened: WebLLM's count is its own, not witnessed by us.
 * - 'broken': an operation failed midway. A forward can throw after the cache grew (a TVM check after the
 *   runtime's sequence length moved, the sampler after every chunk was appended), so neither the content nor
 *   the count can be trusted: only a reset helps.
 * Popping more than the runtime holds terminates the wasm runtime for good (measured), so a rollback pops only
 * a verified length: checked against the runtime's own count when the library can tell it, else only from
 * the 'ours' state. Anything unverifiable resets instead.
 */
import type { MLCEngine } from '@mlc-ai/web-llm';
import {
  AegisAbortError,
  AegisInputError,
  ContextWindowExceededError,
  EngineError,
  ModelNotLoadedError,
  type AegisError,
} from '../core/errors.js';
import type { FastPathOff } from '../core/types.js';
import type { FastPathStatus, TokenSession } from './engine.js';
import { admitText, assertTokenCount } from './token-budget.js';
import { forwardFor } from './webllm-forward.js';
import { findGlobalFunc, stillLoaded, type PackedFunc, type PipelineInternals } from './webllm-internals.js';

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

/** The session plus what the engine needs to keep its cache identity right. */
export interface WebLLMTokenSession extends TokenSession {
  /**
   * The engine used the cache for something else, so what callers left there is gone: 'counted' when
   * WebLLM's own count is still right (a completion that ran), 'unknown' when it may not be (one that failed).
   */
  invalidate(how: 'counted' | 'unknown'): void;
  /** The model is gone; frees the runtime functions the session holds. */
  dispose(): void;
}

export interface TokenSessionOpening {
  session?: WebLLMTokenSession;
  status: FastPathStatus;
}

type CacheState = 'ours' | 'foreign' | 'broken';

const off = (code: FastPathOff['code'], message: string): FastPathOff => ({ code, message });

const OFF_MESSAGES: Partial<Record<FastPathOff['code'], (detail: string) => string>> = {
  'pipeline-shape': (detail) => `WebLLM's internals are not the ones this version was written against (${detail}).`,
  'sliding-window': () => 'The model uses a sliding-window KV cache, which the fast path does not support.',
  'no-forward': () => 'The runtime offers neither forwardKnownTokens nor forwardTokensAndSample on its pipeline.',
};

/** No token session: the fast path is off for `code`. */
export function withoutTokenAccess(code: 'pipeline-shape' | 'sliding-window' | 'no-forward', detail = ''): TokenSessionOpening {
  return { status: { fastPath: false, prefixReuse: false, fastPathOff: off(code, OFF_MESSAGES[code]!(detail)) } };
}

/**
 * `vm.builtin.kv_state_popn`, or why rollback is off. Only a plain paged KV cache without a sliding window
 * can roll back: an RNN state cannot be popped, and a sliding window has already dropped early positions.
 * `kv_state_popn` is registered by TVM next to `kv_state_clear`/`kv_state_add_sequence`, which WebLLM itself
 * requires (internals §2), but a library built without it just turns rollback off.
 */
function findRollback(pipeline: PipelineInternals): { popN: PackedFunc; off?: undefined } | { popN?: undefined; off: FastPathOff } {
  if (pipeline.kvStateKind === undefined) {
    return { off: off('no-kv-state-kind', 'The runtime does not say what kind of KV state the model keeps (pipeline.kvStateKind), so the KV cache is not rolled back.') };
  }
  if (pipeline.kvStateKind !== 'kv_cache' || pipeline.kvCache === undefined) {
    return { off: off('not-kv-cache', `The model keeps a ${pipeline.kvStateKind} state, not a paged KV cache, which cannot be rolled back.`) };
  }
  const popN = findGlobalFunc(pipeline.tvm, 'vm.builtin.kv_state_popn');
  if (!popN) {
    return { off: off('no-rollback-builtin', 'The model library lacks vm.builtin.kv_state_popn, so the KV cache cannot be rolled back; every check prefills the whole prompt.') };
  }
  return { popN };
}

/**
 * Reads the runtime's own sequence length (TVM kv_state.cc), when the library registers a way to: the
 * total over sequences (WebLLM's cache has one, idx:11924), else sequence 0's length, which WebLLM itself
 * reads after a checkpoint import (idx:12800-12801).
 */
function findLengthProbe(pipeline: PipelineInternals): { read: () => number; funcs: PackedFunc[] } | undefined {
  const { tvm, kvCache } = pipeline;
  if (kvCache === undefined) return undefined;
  const total = findGlobalFunc(tvm, 'vm.builtin.attention_kv_cache_get_total_sequence_length');
  if (total) return { read: () => Number(total(kvCache)), funcs: [total] };
  const one = findGlobalFunc(tvm, 'vm.builtin.attention_kv_cache_get_sequence_length');
  if (one) return { read: () => Number(one(kvCache, tvm.scalar(0, 'int64'))), funcs: [one] };
  return undefined;
}

function checkIds(ids: unknown): number[] {
  if (!Array.isArray(ids) || ids.length === 0 || !ids.every((id) => Number.isInteger(id) && id >= 0)) {
    throw new AegisInputError('Token ids must be a non-empty array of non-negative integers.');
  }
  return ids as number[];
}

/**
 * Opens token-level access to the pipeline, with `truncate` only when the runtime can pop KV entries, and
 * reports what is on or off and why.
 */
export function openTokenSession(deps: TokenSessionDeps): TokenSessionOpening {
  const { engine, modelId, pipeline, isCurrent, exclusive, mapError } = deps;
  // A sliding-window model has contextWindowSize -1 (idx:11880-11897): there is no window to check forwards
  // against, and early positions are dropped from the cache.
  if (pipeline.slidingWindowSize !== -1 || !(pipeline.contextWindowSize > 0)) return withoutTokenAccess('sliding-window');
  const forwarding = forwardFor(pipeline);
  if (!forwarding) return withoutTokenAccess('no-forward');
  const rollback = findRollback(pipeline);
  let popN = rollback.popN;
  let probe = popN ? findLengthProbe(pipeline) : undefined;
  const forwardLogits = forwarding.forward;

  let state: CacheState = 'foreign';
  let epoch = 0;
  let disposed = false;
  const changed = (next: CacheState) => {
    state = next;
    epoch++;
  };

  const live = () => !disposed && isCurrent() && stillLoaded(engine, modelId, pipeline);
  /** Throws (mapped) when the model is gone; the engine turns a model lost behind its back into DeviceLostError. */
  const assertLive = () => {
    if (!live()) throw mapError(new ModelNotLoadedError('The model this token session belonged to is no longer loaded.'));
  };

  /** Runs a runtime call exclusively, on the still-loaded pipeline, with errors mapped. */
  const run = <T>(task: () => Promise<T> | T): Promise<T> =>
    exclusive(async () => {
      assertLive();
      try {
        return await task();
      } catch (error) {
        throw mapError(error);
      }
    });

  /** The runtime's own count; undefined when the library cannot tell, NaN when asking failed. */
  const runtimeLength = (): number | undefined => {
    if (!probe) return undefined;
    try {
      return probe.read();
    } catch {
      return Number.NaN;
    }
  };
  /** The runtime's own count agrees with WebLLM's `expected` (true when the library cannot tell). */
  const runtimeAgrees = (expected: number): boolean => {
    const held = runtimeLength();
    return held === undefined || held === expected;
  };

  /** Empties the cache; afterwards the session knows it exactly. */
  const resetCache = () => {
    // resetChat clears every KV state, re-adds sequence 0 and zeroes filledKVCacheLength (idx:12008-12030).
    pipeline.resetChat(false);
    if (pipeline.filledKVCacheLength !== 0 || !runtimeAgrees(0)) {
      throw new EngineError('The KV cache did not empty on reset.');
    }
    changed('ours');
  };

  /** After a failed operation: the cache is unknown; empty it if the model is still there. */
  const recover = () => {
    changed('broken');
    if (!live()) return;
    try {
      resetCache();
    } catch {
      // Still broken: the next reset() retries, and forward/truncate refuse until then.
    }
  };

  const session: WebLLMTokenSession = {
    // The runtime's own tokenizer: Encode(text) with add_special_tokens=false, so no BOS is added and
    // special-token spellings become special ids (internals §1.3); decode keeps special tokens.
    async encode(text: string): Promise<number[]> {
      if (typeof text !== 'string') throw new AegisInputError('encode() takes a string.');
      assertLive();
      const window = pipeline.contextWindowSize;
      // Refused before tokenizing when it cannot fit: tokenizing blocks the worker (~2 s per MB).
      const admission = admitText(text, window, window, 'The text to tokenize');
      let ids: number[];
      try {
        ids = Array.from(pipeline.tokenizer.encode(text));
      } catch (error) {
        throw mapError(error);
      }
      if (admission.kind === 'count') assertTokenCount(ids.length, window, window, 'The text to tokenize');
      return ids;
    },

    async decode(ids: number[]): Promise<string> {
      const tokens = checkIds(ids);
      assertLive();
      try {
        return pipeline.tokenizer.decode(Int32Array.from(tokens));
      } catch (error) {
        throw mapError(error);
      }
    },

    kvLength(): number {
      return live() ? pipeline.filledKVCacheLength : 0;
    },

    cacheEpoch(): number {
      return epoch;
    },

    get contextWindow(): number {
      return pipeline.contextWindowSize;
    },

    async forward(ids: number[], signal?: AbortSignal): Promise<Float32Array> {
      const tokens = checkIds(ids);
      return run(async () => {
        // A forward cannot be interrupted once started (the abort signal is only seen between calls), so
        // the abort is honoured before it; a caller's timeout settles without waiting for the GPU.
        if (signal?.aborted) throw new AegisAbortError('The forward pass was cancelled.');
        if (state === 'broken') {
          throw new EngineError('The KV cache is in an unknown state after a failed operation; reset() it first.');
        }
        const before = pipeline.filledKVCacheLength;
        // The KV cache holds at most contextWindowSize tokens (max_total_sequence_length, idx:11925-11931)
        // and the forward calls check nothing (internals §2).
        const needed = before + tokens.length;
        if (needed > pipeline.contextWindowSize) {
          throw new ContextWindowExceededError(
            `The KV cache would hold ${needed} tokens, more than the ${pipeline.contextWindowSize}-token context window.`,
            needed,
            pipeline.contextWindowSize,
          );
        }
        try {
          const logits = await forwardLogits(tokens);
          if (pipeline.filledKVCacheLength !== needed || !runtimeAgrees(needed)) {
            throw new EngineError(
              `The KV cache holds ${runtimeLength() ?? pipeline.filledKVCacheLength} tokens after a forward that should have left ${needed}.`,
            );
          }
          return logits;
        } catch (error) {
          recover();
          throw error;
        }
      });
    },

    async reset(): Promise<void> {
      await run(() => {
        try {
          resetCache();
        } catch (error) {
          changed('broken');
          throw error;
        }
      });
    },

    invalidate(how: 'counted' | 'unknown'): void {
      changed(how === 'unknown' || state === 'broken' ? 'broken' : 'foreign');
    },

    dispose(): void {
      if (disposed) return;
      disposed = true;
      epoch++;
      for (const func of [popN, ...(probe?.funcs ?? [])]) {
        try {
          func?.dispose();
        } catch {
          // The runtime may already be gone; nothing left to free then.
        }
      }
      popN = undefined;
      probe = undefined;
    },
  };

  if (popN) {
    session.truncate = async (length: number): Promise<void> => {
      if (!Number.isInteger(length) || length < 0) {
        throw new AegisInputError(`truncate() needs a non-negative integer; got ${String(length)}.`);
      }
      await run(() => {
        // Emptying is a reset, whatever the state: some TVM versions' PopN require n < the last block's
        // length, and a reset needs no verified length.
        if (length === 0) {
          try {
            return resetCache();
          } catch (error) {
            changed('broken');
            throw error;
          }
        }
        const current = pipeline.filledKVCacheLength;
        const held = runtimeLength();
        const verified = state !== 'broken' && (held !== undefined ? held === current : state === 'ours');
        if (!verified) {
          const why =
            state === 'broken'
              ? 'it is in an unknown state after a failed operation'
              : held !== undefined
                ? `the runtime holds ${held} tokens where WebLLM counts ${current}`
                : 'it was used by something else since the last reset';
          recover();
          throw new EngineError(`The KV cache could not be rolled back because ${why}; it was reset instead.`);
        }
        if (length > current) {
          throw new AegisInputError(`truncate() needs an integer from 0 to ${current}; got ${length}.`);
        }
        const count = current - length;
        if (count === 0) return;
        const { tvm } = pipeline;
        try {
          tvm.beginScope();
          try {
            // PopN(seq_id, n) on the paged KV cache WebLLM created with one sequence, id 0 (idx:11924-11935,
            // added in resetKVCache idx:12028). Numbers must be Scalars: a plain JS number crosses the FFI as
            // a float (idx:8943-8945) and terminates the runtime ("expected int but got float"); a Scalar with
            // an int dtype crosses as kTVMFFIInt (idx:8919-8922). The cache was never forked, so the sequence
            // is one block and PopN trims its length (TVM paged_kv_cache.cc).
            popN!(pipeline.kvCache, tvm.scalar(0, 'int64'), tvm.scalar(count, 'int64'));
          } finally {
            tvm.endScope();
          }
        } catch (error) {
          recover();
          throw error;
        }
        // WebLLM keeps its own count of the cache length and checks it after every chunk (idx:14010-14012).
        pipeline.filledKVCacheLength = length;
        if (!runtimeAgrees(length)) {
          recover();
          throw new EngineError('The KV cache did not roll back to the requested length; it was reset instead.');
        }
      });
    };
  }

  return {
    session,
    status: popN ? { fastPath: true, prefixReuse: true } : { fastPath: true, prefixReuse: false, fastPathOff: rollback.off },
  };
}
