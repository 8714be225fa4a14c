/**
 * Types of the evaluation harness (`aegis-guard/eval`). All plain data: a report is JSON, and saved item
 * results are what a run resumes from.
 */
import type { FastPathOff, Rating, Target, VerdictTimings, VerdictTokens } from '../core/types.js';

export type Label = 'safe' | 'unsafe';

/** One labelled text to judge. */
export interface EvalItem {
  /** Unique within its set. */
  id: string;
  /** The set it belongs to (metrics are computed per set). Default `'default'`. */
  set?: string;
  target: Target;
  /** The user's prompt (for a response item: the prompt the reply answers). */
  prompt: string;
  /** The assistant's reply; required when `target` is `'response'`. */
  response?: string;
  label: Label;
  /**
   * Aegis category codes (`S1`..`S23`) the set's own annotation maps to, for category agreement. Only for
   * unsafe items of sets that annotate categories.
   */
  categories?: string[];
}

/** What an item's check came to, kept small enough to save one JSON line per item. */
export interface CheckSummary {
  /** The guard's decision (true: the text may be shown). */
  safe: boolean;
  rating: Rating;
  unsafeProbability?: number;
  /** Category codes the model named (names it wrote that the taxonomy does not know are kept as names). */
  categories: string[];
  source: 'model' | 'cache' | 'failure';
  /** Why the check failed (`source: 'failure'`), or why the model's answer could not be read. */
  failure?: { code: string; message: string };
  timings: VerdictTimings;
  tokens: VerdictTokens;
}

/** The result of one item, as saved for resuming. */
export interface ItemResult {
  id: string;
  set: string;
  target: Target;
  label: Label;
  /** The item's annotated category codes (see EvalItem.categories). */
  categories?: string[];
  /** The check on the path the run measures (the fast path when `compareJson` and the model has one). */
  check: CheckSummary;
  /** The same item on the JSON path, when the run compares the two paths. */
  json?: CheckSummary;
}

export interface EvalProgress {
  /** Items finished, resumed ones included. */
  done: number;
  total: number;
  /** Items taken from saved results instead of being checked again. */
  resumed: number;
  /** Checks that failed (fail-closed verdicts) so far. */
  failures: number;
  elapsedMs: number;
  /** Estimated time left, from the pace of the items checked in this run; undefined until one finished. */
  etaMs?: number;
  /** The item just finished (absent for the first report, before any check). */
  last?: ItemResult;
}

export interface EvaluateOptions {
  /** Stops the run: pending checks are cancelled and `evaluate` rejects with `AegisAbortError`. */
  signal?: AbortSignal;
  onProgress?: (progress: EvalProgress) => void;
  /** Called once per item checked in this run (not for resumed ones), before progress; save it to resume. */
  onResult?: (result: ItemResult) => void | Promise<void>;
  /**
   * Results saved by an earlier, interrupted run. An item whose id, set, target and label match a saved
   * result (and which has its JSON-path check when `compareJson` is on) is not checked again.
   */
  resume?: Iterable<ItemResult>;
  /** Also check every item on the JSON path and report where it disagrees with the fast path. */
  compareJson?: boolean;
  /** Checks in flight at once (the worker still runs one at a time). Default 1: latency figures stay clean. */
  concurrency?: number;
  /** Thresholds for the sweep over P(unsafe). Default 0, 0.05, ..., 1. */
  sweep?: number[];
  /** Set metadata (title, provenance, published figures) to carry into the report, by set id. */
  sets?: Record<string, SetInfo>;
  /** Free-form facts about the run to carry into the report (the CLI records its arguments here). */
  run?: Record<string, unknown>;
}

/** Where a set came from, for the report. */
export interface SetSource {
  url: string;
  revision: string;
  licence: string;
  /** How the file was obtained in this run. */
  obtained?: 'download' | 'cache' | 'local';
  sha256?: string;
  /** The revision the server reported (the Hub's X-Repo-Commit), when it differs from the one asked for. */
  resolvedRevision?: string;
}

export interface SetInfo {
  title?: string;
  sources?: SetSource[];
  /** How the set's labels were mapped to safe/unsafe. */
  labelMapping?: string;
  published?: PublishedFigure[];
}

/** A figure published for AegisGuard 2.0 on a set. */
export interface PublishedFigure {
  metric: 'f1';
  value: number;
  source: string;
  url?: string;
  note?: string;
  /** The figure the project's goal is held against (F1 within 1 point). */
  goal?: boolean;
}

export interface Confusion {
  tp: number;
  fp: number;
  tn: number;
  fn: number;
}

/** Binary metrics with unsafe as the positive class. A metric whose denominator is 0 is null. */
export interface BinaryMetrics extends Confusion {
  n: number;
  precision: number | null;
  recall: number | null;
  f1: number | null;
  accuracy: number | null;
  falsePositiveRate: number | null;
}

export interface SweepPoint extends BinaryMetrics {
  threshold: number;
}

export interface PrPoint {
  /** Items with P(unsafe) at or above this score are called unsafe. */
  threshold: number;
  precision: number;
  recall: number;
}

/** Metrics that need P(unsafe): only items whose check reported one. */
export interface ScoreMetrics {
  /** Items with a probability (the rest: failures, or the JSON path). */
  scored: number;
  unscored: number;
  /** Average precision (area under the precision-recall curve, step-wise); null without positives. */
  auprc: number | null;
  prCurve: PrPoint[];
  sweep: SweepPoint[];
  /** The sweep threshold with the highest F1 (the lowest such threshold on ties). */
  bestF1?: { threshold: number; f1: number };
}

export interface CategoryAgreement {
  /** Unsafe items with annotated categories that the model also called unsafe (with a model answer). */
  evaluated: number;
  /** Of those, the ones where the model named at least one annotated category. */
  agreed: number;
  rate: number | null;
  /** Per annotated category code: how often it was annotated, and how often the model named it then. */
  perCategory: Record<string, { annotated: number; named: number }>;
}

export interface LatencySummary {
  /** Checks answered by the model now (cache hits and failures excluded). */
  count: number;
  /** From leaving the worker's queue to the verdict (queue time excluded), in ms. */
  serviceMs: Percentiles | null;
  prefillMs: Percentiles | null;
  decodeMs: Percentiles | null;
}

export interface Percentiles {
  p50: number;
  p90: number;
  p95: number;
  p99: number;
  max: number;
  mean: number;
}

export interface FailureSummary {
  /** Checks that failed (they count as unsafe decisions when the guard fails closed). */
  count: number;
  byCode: Record<string, number>;
  /** Up to 20 failed items, for a first look. */
  examples: Array<{ id: string; code: string; message: string }>;
}

/** The fast path against the JSON path on the same items. */
export interface PathComparison {
  /** Items both paths answered (no failure on either). */
  compared: number;
  agreed: number;
  agreement: number | null;
  /**
   * Items where the two paths' choices differ (the fast path's choice is P(unsafe) >= 0.5, whatever the
   * guard's threshold), or where exactly one path failed.
   */
  disagreements: Array<{
    id: string;
    fast: Rating | 'failure';
    json: Rating | 'failure';
    unsafeProbability?: number;
  }>;
  /** The JSON path's metrics on the same items. */
  jsonMetrics: BinaryMetrics;
}

export interface SetReport {
  set: string;
  title?: string;
  target: Target | 'mixed';
  items: number;
  positives: number;
  negatives: number;
  metrics: BinaryMetrics;
  scores: ScoreMetrics;
  categories?: CategoryAgreement;
  latency: LatencySummary;
  failures: FailureSummary;
  /** Present when the run compared the paths (or says why it could not). */
  comparison?: PathComparison | { skipped: string };
  sources?: SetSource[];
  labelMapping?: string;
  /** Published figures with our difference (measured - published), in F1 points x100 rounding left to readers. */
  published?: Array<PublishedFigure & { difference: number | null }>;
}

/** Facts about the model and runtime the run used. */
export interface RunInfo {
  startedAt: string;
  finishedAt: string;
  /** Milliseconds spent checking in this run (resumed items excluded). */
  durationMs: number;
  model?: {
    modelId: string;
    variant: string;
    weightsUrl: string;
    modelLibUrl: string;
    contextWindow: number;
    fastPath: boolean;
    /** Whether the template prefix stays in the KV cache between checks (when the runtime reports it). */
    prefixReuse?: boolean;
    /** Why the fast path or its prefix reuse is off (ModelInfo.fastPathOff). */
    fastPathOff?: FastPathOff;
    loadMs: number;
    gpu: { vendor: string; architecture: string; description: string; isFallbackAdapter: boolean; shaderF16: boolean };
  };
  /** The WebLLM version this package pins (its peer dependency). */
  webllmVersion: string;
  /** Set by the caller (the CLI reads it from package.json); 'unknown' otherwise. */
  aegisGuardVersion: string;
  userAgent?: string;
  compareJson: boolean;
  resumed: number;
  [key: string]: unknown;
}

export interface EvalReport {
  schema: 'aegis-guard/eval-report/1';
  run: RunInfo;
  sets: SetReport[];
}
