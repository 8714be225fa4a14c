/**
 * A test double of WebLLM 0.2.86's `LLMChatPipeline`, shaped like the real one where the token session reads
 * it and behaving as the reference measured (../shared/reference/webllm-real-runtime.md §2-3; idx:N =
 * node_modules/@mlc-ai/web-llm/lib/index.js):
 * - `forwardKnownTokens` (optional, as before 0.2.86) chunks by `prefillChunkSize` inside try/finally and
 *   returns the last chunk's logits detached; `forwardTokensAndSample` chunks the same way with no
 *   try/finally, then runs the sampler, which validates the chat config on every call (no top_p default
 *   without a generation config) and may fail to sample;
 * - `filledKVCacheLength` grows per chunk, after the runtime's own sequence grew, so a check failing in
 *   between leaves it lagging; faults can be queued for the next forward (grow then throw, sampler failure);
 * - `vm.builtin.kv_state_popn` terminates the runtime when asked to pop more than the sequence holds or
 *   given a plain JS number; `vm.builtin.attention_kv_cache_get_total_sequence_length` reads the runtime's
 *   own length (both optional);
 * - `kvStateKind` may be absent (0.2.79) or another kind; a sliding window may be configured.
 * The KV cache's content is a ScriptedTokenSession: its logits come from what the cache really holds, so a
 * cache left wrong shows up as a wrong or failing answer.
 */
import { ExitStatus, FakeTvm, int64Arg, type FakeTensor } from './fake-tvm.js';
import { ScriptedTokenSession, type ScriptedAnswerFn, type TextTokenizer } from './scripted-token-session.js';
import { scriptedVerdict } from './scripted-engine.js';

export interface SamplingConfigLike {
  temperature?: number;
  top_p?: number;
  repetition_penalty?: number;
  frequency_penalty?: number;
  presence_penalty?: number;
}

export interface FakePipelineOptions {
  tokenizer: TextTokenizer;
  contextWindow?: number;
  prefillChunkSize?: number;
  answer?: ScriptedAnswerFn;
  /** Offer forwardKnownTokens (0.2.86). Default true. */
  forwardKnownTokens?: boolean;
  /** null: the field is absent, as before 0.2.86. Default 'kv_cache'. */
  kvStateKind?: string | null;
  slidingWindowSize?: number;
  /** Which optional TVM builtins the model library registers. Default: popn and the total length. */
  builtins?: { popn?: boolean; totalLength?: boolean; sequenceLength?: boolean };
  /** The chat config's sampling fields (mlc-chat-config.json). Default: a complete, valid set. */
  config?: SamplingConfigLike;
  /** Expose the GPUDevice at tvm.lib.webGPUContext.device. Default true. */
  exposeDevice?: boolean;
  /** Fields set to undefined on the instance (a pipeline of another shape, e.g. ['device']). */
  omit?: string[];
}

export type ForwardFault =
  /** A TVM check fires after the runtime's sequence grew by chunk `chunk` (default 0), before WebLLM counted it. */
  | { kind: 'grow-then-throw'; chunk?: number }
  /** The sampler fails after every chunk was forwarded and counted ("failed to sample a valid token"). */
  | { kind: 'sampler' }
  /** The forward fails before touching the cache. */
  | { kind: 'throw-before' };

/** A GPUDevice stand-in: `lost` resolves once, on `lose()` or `destroy()`. */
export class FakeGpuDevice {
  readonly lost: Promise<{ reason: string; message: string }>;
  isLost = false;
  private resolveLost!: (info: { reason: string; message: string }) => void;

  constructor() {
    this.lost = new Promise((resolve) => (this.resolveLost = resolve));
  }

  lose(reason = 'unknown', message = 'The GPU ran out of memory.'): void {
    if (this.isLost) return;
    this.isLost = true;
    this.resolveLost({ reason, message });
  }

  destroy(): void {
    this.lose('destroyed', 'Device was destroyed.');
  }
}

const named = (name: string, message: string) => Object.assign(new Error(message), { name });

export class FakePipeline {
  readonly tvm = new FakeTvm();
  readonly tokenizer: { encode(text: string): Int32Array; decode(ids: Int32Array): string };
  readonly device: { sync(): Promise<void> };
  readonly gpu = new FakeGpuDevice();
  readonly config: SamplingConfigLike & Record<string, unknown>;
  readonly kvCache = { fake: 'paged-kv-cache' };
  kvStateKind?: string;
  filledKVCacheLength = 0;
  readonly contextWindowSize: number;
  readonly slidingWindowSize: number;
  readonly prefillChunkSize: number;
  logitProcessor: { processLogits(l: Float32Array): Float32Array; resetState(): void } | undefined;
  outputMessage = '';
  forwardKnownTokens?: (ids: number[], isPrefill: boolean) => Promise<FakeTensor | undefined>;

  /** What the KV cache really holds (the runtime's sequence), and the model answering from it. */
  readonly model: ScriptedTokenSession;
  /** Faults for the next forward calls, one per call. */
  readonly faults: ForwardFault[] = [];
  /** Make the next resetChat fail after clearing the runtime's cache, before zeroing the count. */
  failNextReset = false;
  readonly counters = { knownForwards: 0, sampledForwards: 0, samplerRuns: 0, resets: 0, pops: [] as number[] };
  /** filledKVCacheLength after every chunk, in order. */
  readonly chunkLog: number[] = [];
  disposed = false;

  private held: { entered: () => void; release: Promise<void> } | undefined;
  private fault: ForwardFault | undefined;

  constructor(options: FakePipelineOptions) {
    const tokenizer = options.tokenizer;
    this.contextWindowSize = options.contextWindow ?? 4096;
    this.slidingWindowSize = options.slidingWindowSize ?? -1;
    this.prefillChunkSize = options.prefillChunkSize ?? 128;
    if (options.kvStateKind !== null) this.kvStateKind = options.kvStateKind ?? 'kv_cache';
    this.config = { ...(options.config ?? { temperature: 0.6, top_p: 0.9, repetition_penalty: 1, frequency_penalty: 0, presence_penalty: 0 }) };
    // The real bound is the window; the model itself never overflows (the pipeline checks, as TVM does).
    this.model = new ScriptedTokenSession({ tokenizer, contextWindow: 1 << 30, rollback: true, answer: options.answer ?? scriptedVerdict });
    this.tokenizer = {
      encode: (text) => {
        if (this.disposed) throw new Error('Tokenizer: the instance was deleted.');
        return Int32Array.from(tokenizer.encode(text));
      },
      decode: (ids) => {
        if (this.disposed) throw new Error('Tokenizer: the instance was deleted.');
        return tokenizer.decode(Array.from(ids));
      },
    };
    this.device = {
      sync: async () => {
        this.tvm.assertRunning();
        if (this.gpu.isLost) throw named('OperationError', 'Device lost during onSubmittedWorkDone');
        this.tvm.finishCopies();
      },
    };
    if (options.exposeDevice !== false) this.tvm.lib.webGPUContext = { device: this.gpu };
    if (options.forwardKnownTokens !== false) this.forwardKnownTokens = (ids, isPrefill) => this.knownTokens(ids, isPrefill);

    for (const field of options.omit ?? []) Object.defineProperty(this, field, { value: undefined, writable: true });
    const builtins = { popn: true, totalLength: true, ...options.builtins };
    if (builtins.popn) {
      this.tvm.register('vm.builtin.kv_state_popn', (kv, seq, n) => {
        if (kv !== this.kvCache) this.tvm.terminate('PopN: not a KV cache');
        const seqId = int64Arg(this.tvm, seq, 'PopN seq_id');
        const count = int64Arg(this.tvm, n, 'PopN n');
        if (seqId !== 0) this.tvm.terminate(`PopN: no sequence ${seqId}`);
        const length = this.model.kvLength();
        if (count < 0 || count > length) this.tvm.terminate(`PopN: cannot pop ${count} from a sequence of ${length}`);
        this.counters.pops.push(count);
        void this.model.truncate!(length - count);
        return undefined;
      });
    }
    if (builtins.totalLength) {
      this.tvm.register('vm.builtin.attention_kv_cache_get_total_sequence_length', (kv) => {
        if (kv !== this.kvCache) this.tvm.terminate('GetTotalSequenceLength: not a KV cache');
        return this.model.kvLength();
      });
    }
    if (builtins.sequenceLength) {
      this.tvm.register('vm.builtin.attention_kv_cache_get_sequence_length', (kv, seq) => {
        if (kv !== this.kvCache) this.tvm.terminate('GetSequenceLength: not a KV cache');
        int64Arg(this.tvm, seq, 'GetSequenceLength seq_id');
        return this.model.kvLength();
      });
    }
  }

  /** Tokens the runtime's cache really holds (what the length builtins report). */
  runtimeLength(): number {
    return this.model.kvLength();
  }

  /**
   * Makes the next forward wait at its first chunk until `release()`: `entered` resolves once it waits.
   * (A forward cannot be interrupted meanwhile, as on the real runtime.)
   */
  holdNextForward(): { entered: Promise<void>; release: () => void } {
    let release!: () => void;
    let entered!: () => void;
    const enteredPromise = new Promise<void>((resolve) => (entered = resolve));
    this.held = { entered, release: new Promise<void>((resolve) => (release = resolve)) };
    return { entered: enteredPromise, release };
  }

  /** The runtime's sequence changes behind WebLLM's count (+n: n stray tokens appended; -n: n dropped). */
  desync(delta: number): void {
    const ids = this.model.contents();
    if (delta >= 0) this.model.overwrite([...ids, ...Array.from({ length: delta }, () => 1000 + 0x21)]);
    else this.model.overwrite(ids.slice(0, Math.max(0, ids.length + delta)));
  }

  private chunks(ids: number[]): number[][] {
    const out: number[][] = [];
    for (let start = 0; start < ids.length; start += this.prefillChunkSize) out.push(ids.slice(start, start + this.prefillChunkSize));
    return out;
  }

  /** embedAndForward (idx:13279-13333): one chunk on top of the cache. */
  private async embedAndForward(chunk: number[], index: number): Promise<FakeTensor> {
    if (chunk.length > this.prefillChunkSize) throw new Error('InternalError: expect inputDataLen <= this.prefillChunkSize.');
    this.tvm.beginScope();
    const held = this.held;
    if (held) {
      this.held = undefined;
      held.entered();
      await held.release;
    }
    this.tvm.assertRunning();
    if (this.gpu.isLost) throw named('OperationError', 'Device lost during a queue submit.');
    const fault = this.fault;
    if (fault?.kind === 'throw-before') {
      this.fault = undefined;
      throw new Error('TVMError: Check failed: the input embedding is not contiguous.');
    }
    if (this.model.kvLength() + chunk.length > this.contextWindowSize) {
      // TVM's "cache full" check fires after the sequence length grew (reference §3).
      await this.model.forward(chunk);
      throw new Error('TVMError: Check failed: (total_seq_length <= max_total_sequence_length) is false: the KV cache is full.');
    }
    const values = await this.model.forward(chunk);
    if (fault?.kind === 'grow-then-throw' && (fault.chunk ?? 0) === index) {
      this.fault = undefined;
      throw new Error('TVMError: Check failed: (pages_needed <= free_pages) is false.');
    }
    this.filledKVCacheLength += chunk.length;
    this.chunkLog.push(this.filledKVCacheLength);
    const logits = this.tvm.detachFromCurrentScope(this.tvm.gpuTensor(values));
    this.tvm.endScope();
    this.tvm.attachToCurrentScope(logits);
    return logits;
  }

  private async forwardChunks(ids: number[], keepLast: boolean): Promise<FakeTensor | undefined> {
    const chunks = this.chunks(ids);
    let last: FakeTensor | undefined;
    for (let i = 0; i < chunks.length; i++) {
      const before = this.filledKVCacheLength;
      const logits = await this.embedAndForward(chunks[i]!, i);
      if (this.filledKVCacheLength !== before + chunks[i]!.length) {
        throw new Error('Internal Error: filledKVCacheLength does not match expected value.');
      }
      last = logits;
    }
    return keepLast && last ? this.tvm.detachFromCurrentScope(last) : last;
  }

  /** forwardKnownTokens (idx:14036-14081). */
  private async knownTokens(ids: number[], _isPrefill: boolean): Promise<FakeTensor | undefined> {
    if (ids.length === 0) return undefined;
    this.counters.knownForwards++;
    this.fault = this.faults.shift();
    this.tvm.beginScope();
    try {
      return await this.forwardChunks(ids, true);
    } finally {
      this.fault = undefined;
      this.tvm.endScope();
    }
  }

  /** forwardTokensAndSample (idx:13958-14035): no try/finally around its scope. */
  async forwardTokensAndSample(ids: number[], _isPrefill: boolean): Promise<number> {
    this.counters.sampledForwards++;
    this.fault = this.faults.shift();
    this.tvm.beginScope();
    const logits = await this.forwardChunks(ids, false);
    const token = await this.sampleFromRawLogits(logits!);
    this.fault = undefined;
    this.tvm.endScope();
    return token;
  }

  /** sampleFromRawLogits without a generation config (idx:13561-13820). */
  private async sampleFromRawLogits(logits: FakeTensor): Promise<number> {
    this.counters.samplerRuns++;
    const { temperature, top_p, repetition_penalty, frequency_penalty, presence_penalty } = this.config as Required<SamplingConfigLike>;
    if (!(top_p > 0 && top_p <= 1)) throw named('RangeError', 'Make sure 0 < top_p <= 1.');
    if (!(temperature >= 0)) throw named('MinValueError', 'Make sure temperature >= 0.');
    if (!(repetition_penalty > 0)) throw named('MinValueError', 'Make sure repetition_penalty > 0.');
    if (!(frequency_penalty >= -2 && frequency_penalty <= 2)) throw named('RangeError', 'Make sure -2 <= frequency_penalty <= 2.');
    if (!(presence_penalty >= -2 && presence_penalty <= 2)) throw named('RangeError', 'Make sure -2 <= presence_penalty <= 2.');
    if (this.logitProcessor) {
      this.tvm.beginScope();
      const host = this.tvm.empty(logits.shape, logits.dtype, this.tvm.cpu());
      host.copyFrom(logits);
      this.tvm.endScope();
      await this.device.sync();
      const processed = this.logitProcessor.processLogits(Float32Array.from(logits.values));
      logits.copyFrom(processed);
    }
    await this.device.sync();
    if (this.fault?.kind === 'sampler') throw new Error('InternalError: failed to sample a valid token.');
    return argmax(logits.values);
  }

  /** resetChat (idx:12008-12030). */
  resetChat(_keepStats = false): void {
    this.tvm.beginScope();
    try {
      this.tvm.assertRunning();
      this.counters.resets++;
      void this.model.reset();
      if (this.failNextReset) {
        this.failNextReset = false;
        throw new Error('TVMError: Check failed: kv_state_add_sequence: sequence 0 already exists.');
      }
      this.filledKVCacheLength = 0;
      this.logitProcessor?.resetState();
    } finally {
      this.tvm.endScope();
    }
  }

  /** For the fake engine's completion path: forwards the prompt and returns the last logits' values. */
  async prefillForCompletion(ids: number[]): Promise<Float32Array> {
    this.tvm.beginScope();
    try {
      const logits = await this.forwardChunks(ids, false);
      return Float32Array.from(logits!.values);
    } finally {
      this.tvm.endScope();
    }
  }

  async decodeForCompletion(token: number): Promise<Float32Array> {
    return this.prefillForCompletion([token]);
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.tvm.disposed = true;
    this.gpu.destroy();
  }

  async sync(): Promise<void> {
    // After dispose the device is gone; WebLLM's unload awaits this and it settles.
  }
}

export function argmax(values: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < values.length; i++) if (values[i]! > values[best]!) best = i;
  return best;
}

export { ExitStatus };
