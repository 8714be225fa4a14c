/**
 * What the Node side (CLI, smoke:real) and the evaluation page say to each other through Playwright. Plain
 * data only: it crosses the DevTools protocol as JSON.
 */
import type { LoadProgress } from '../../core/types.js';
import type { EvalItem, EvalProgress, EvalReport, ItemResult, SetInfo } from '../types.js';

export interface PageRunConfig {
  model: {
    weightsUrl: string;
    variant?: 'auto' | 'q4f16_1' | 'q4f32_1';
    modelLibUrl?: string;
    contextWindow?: number;
  };
  threshold?: number;
  /** Per-check timeout in ms (the guard's `timeout`). */
  timeout?: number;
  /** A module worker URL running `aegis-guard/worker` (default: the package's own worker). */
  workerUrl?: string;
  items: EvalItem[];
  resume: ItemResult[];
  compareJson: boolean;
  sets: Record<string, SetInfo>;
  run: Record<string, unknown>;
}

export type PageRunOutcome =
  | { ok: true; report: EvalReport }
  | { ok: false; error: { name: string; code?: string; message: string; details?: Record<string, unknown> } };

/** Functions the Node side exposes on the page (window[name]). */
export const PAGE_CALLBACKS = {
  result: '__aegisEvalResult',
  progress: '__aegisEvalProgress',
  load: '__aegisEvalLoad',
} as const;

export interface PageCallbacks {
  __aegisEvalResult(result: ItemResult): Promise<void>;
  __aegisEvalProgress(progress: Omit<EvalProgress, 'last'>): Promise<void>;
  __aegisEvalLoad(progress: LoadProgress): Promise<void>;
}

/** What the page exposes for the Node side to call. */
export interface PageApi {
  run(config: PageRunConfig): Promise<PageRunOutcome>;
}

export const PAGE_API = '__aegisEval';
