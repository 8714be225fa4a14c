/**
 * The published F1 figures of AegisGuard 2.0 the sets are compared with, cited the same way by every set.
 * Values are as printed in each source.
 */
import type { PublishedFigure } from '../types.js';

const AEGIS_PAPER_URL = 'https://arxiv.org/abs/2501.09004';

/**
 * The Aegis 2.0 paper's F1 for Llama3.1-AegisGuard, trained with and without topic following. `goal`: the
 * with-topic figure is the one the project's accuracy goal is held against on this set.
 */
export function aegisPaperF1(withTopic: number, withoutTopic: number, { goal = false } = {}): PublishedFigure[] {
  return [
    {
      metric: 'f1',
      value: withTopic,
      source: 'Aegis 2.0 paper (arXiv 2501.09004), Llama3.1-AegisGuard with topic following',
      url: AEGIS_PAPER_URL,
      ...(goal ? { goal: true } : {}),
    },
    { metric: 'f1', value: withoutTopic, source: 'Aegis 2.0 paper, Llama3.1-AegisGuard without topic following', url: AEGIS_PAPER_URL },
  ];
}

/** The Qwen3Guard technical report's F1 for NemoGuard-8B (its Table 2 is prompts, Table 3 responses), from its own harness. */
export function qwen3GuardReportF1(value: number, table: 2 | 3): PublishedFigure {
  return { metric: 'f1', value, source: `Qwen3Guard technical report, Table ${table} (NemoGuard-8B)`, note: 'third-party harness' };
}
