/**
 * Plain-data types shared by every layer. They are structured-cloneable on purpose: verdicts travel from the
 * worker to the page unchanged.
 */

/** What is being judged: the user's prompt, or the assistant's reply to it. */
export type Target = 'prompt' | 'response';

/** The model's rating word. */
export type Rating = 'safe' | 'unsafe';

/** Which part of the Aegis taxonomy a category belongs to (Aegis 2.0 paper). */
export type CategoryGroup = 'core' | 'caution' | 'other' | 'fine-grained' | 'custom';

/** One category of the taxonomy. `code` is `S1`..`S23` for Aegis, `S24`+ for custom categories. */
export interface Category {
  code: string;
  name: string;
  group: CategoryGroup;
  /** One-line description; only custom categories carry one into the prompt. */
  description?: string;
}

/** A custom category given by the application: added to the prompt after the Aegis ones. */
export interface CustomCategory {
  name: string;
  description?: string;
}

/** A category named in the model's output. `code` is null when the name matches no known category. */
export interface ViolatedCategory {
  code: string | null;
  name: string;
}

/** Why the model's output could not be read as a verdict (the guard then fails closed). */
export type ParseFailure =
  | 'empty'
  | 'truncated'
  | 'not-json'
  | 'missing-field'
  | 'duplicate-field'
  | 'unexpected-field'
  | 'unknown-rating'
  | 'too-long';

/** The result of reading the model's output for one target. */
export interface ParsedOutput {
  rating: Rating;
  categories: ViolatedCategory[];
  /** Set when the output was unreadable; `rating` is then 'unsafe' (fail-closed). */
  failure?: ParseFailure;
}

/** How raw model results become a decision. */
export interface Policy {
  /**
   * What a failed check means. `'closed'` (default): a failure blocks. `'open'`: a failure lets the text
   * through (the verdict still says `source: 'failure'`).
   */
  failMode: 'closed' | 'open';
  /** P(unsafe) at or above which text is blocked, when the engine reports a probability. Default 0.5. */
  threshold: number;
  /** Category codes that never block on their own (e.g. `['S12']` to allow profanity). */
  ignore: string[];
}

/** Time spent in each phase of one check, in milliseconds. */
export interface VerdictTimings {
  /** Waiting in the worker's queue. */
  queuedMs: number;
  /** Forwarding the prompt through the model. */
  prefillMs: number;
  /** Generating output tokens. */
  decodeMs: number;
  /** From the request reaching the worker to the verdict. */
  totalMs: number;
  /** Whether the fixed template prefix came from the KV cache (fast path) instead of being prefilled. */
  prefixReused?: boolean;
}

/** Token counts of one check (real tokenizer counts reported by the engine). */
export interface VerdictTokens {
  prompt: number;
  completion: number;
}

/** A range of a judged text, as UTF-16 offsets (JavaScript string indices): `text.slice(start, end)`. */
export interface TextSpan {
  start: number;
  end: number;
}

/** The guard's judgement of one text. */
export interface Verdict {
  /** The decision after policy: true means the text may be shown. */
  safe: boolean;
  target: Target;
  /** The model's own rating for the target ('unsafe' when the check failed). */
  rating: Rating;
  /** Violated categories the model named (codes resolved where known). */
  categories: ViolatedCategory[];
  /** Where the verdict came from. */
  source: 'model' | 'cache' | 'failure';
  /** P(unsafe) for the target when the engine could read it from the logits. */
  unsafeProbability?: number;
  /** The model's raw output text (empty for failures that happened before generation). */
  raw: string;
  /**
   * Why the check failed, when `source` is 'failure' or the output was unreadable. `details`: the fields of the
   * error behind it (e.g. `url` for `model-load-failed`, `reason` for `webgpu-unavailable`; for a crashed
   * worker `reason`, `workerUrl` and `duringCheck`), as plain data.
   */
  failure?: { code: string; message: string; details?: Record<string, unknown> };
  timings: VerdictTimings;
  tokens: VerdictTokens;
  /**
   * Set when the text was too long for one check and was judged in overlapping windows: how many windows
   * were judged (the check stops at the first window that blocks, unless categories were asked for). The
   * other fields then sum (timings, tokens) or merge (categories; `unsafeProbability` is the maximum) the
   * windows' results, and `raw` is the output of the first window that blocked (else of the first window).
   */
  windows?: number;
  /**
   * With `windows`: the parts of the judged text (the prompt for a prompt check, the reply for a reply
   * check) whose windows the model rated unsafe under the policy, merged, in order; empty when none was.
   * Each span is a whole window, context overlap included, so the unsafe content lies inside it. A window
   * over no text (an empty reply under a long prompt) has no span.
   */
  unsafeSpans?: TextSpan[];
}

/** Early word on a running check: the rating is known, categories may still be decoding. */
export interface Decision {
  target: Target;
  rating: Rating;
  unsafeProbability?: number;
}

/** Load progress. `progress` is 0..1 within the current phase and never goes backwards within it. */
export interface LoadProgress {
  phase: 'preflight' | 'fetching' | 'loading' | 'compiling' | 'ready';
  progress: number;
  text: string;
  loadedBytes?: number;
  totalBytes?: number;
}

/** What the GPU preflight found. */
export interface GpuReport {
  vendor: string;
  architecture: string;
  description: string;
  isFallbackAdapter: boolean;
  shaderF16: boolean;
  maxBufferSize: number;
  maxStorageBufferBindingSize: number;
  maxComputeWorkgroupStorageSize: number;
  maxStorageBuffersPerShaderStage: number;
}

/** What was loaded. */
export interface ModelInfo {
  modelId: string;
  /** Quantization variant actually used, e.g. 'q4f32_1'. */
  variant: string;
  weightsUrl: string;
  modelLibUrl: string;
  contextWindow: number;
  gpu: GpuReport;
  /** Whether checks read the verdict from the first answer token's logits (token-level access to the model). */
  fastPath: boolean;
  /** Whether the template prefix stays in the KV cache between checks (needs a KV cache that can roll back). */
  prefixReuse: boolean;
  /** Why `fastPath` or `prefixReuse` is false; absent when both are true. */
  fastPathOff?: FastPathOff;
  loadMs: number;
}

/**
 * Why the fast path (or its prefix reuse) is off, as a stable code:
 * - 'no-token-access': the engine offers no token-level access at all (JSON decoding only);
 * - 'pipeline-shape': the runtime's internals are not the ones this version was written against;
 * - 'no-forward': the runtime has no way to forward tokens without failing (no usable forward call);
 * - 'no-rollback': the engine offers no KV rollback and says no more;
 * - 'no-kv-state-kind': the runtime does not say what kind of KV state it keeps (older WebLLM);
 * - 'not-kv-cache': the model keeps a recurrent state or no paged KV cache, which cannot be rolled back;
 * - 'sliding-window': the model uses a sliding-window KV cache, which has already dropped early positions;
 * - 'no-rollback-builtin': the model library lacks the KV rollback function (`vm.builtin.kv_state_popn`).
 */
export type FastPathOffCode =
  | 'no-token-access'
  | 'pipeline-shape'
  | 'no-forward'
  | 'no-rollback'
  | 'no-kv-state-kind'
  | 'not-kv-cache'
  | 'sliding-window'
  | 'no-rollback-builtin';

export interface FastPathOff {
  code: FastPathOffCode;
  /** One sentence for people, naming what is missing. */
  message: string;
}
