/**
 * The evaluation metrics computed again, as plainly as possible and by other formulas than
 * src/eval/metrics.ts (which sorts and accumulates), for tests to compare against.
 */
import type { BinaryMetrics } from '../../src/eval/types.js';

export function referenceMetrics(pairs: Array<{ positive: boolean; predicted: boolean }>): BinaryMetrics {
  const tp = pairs.filter((p) => p.positive && p.predicted).length;
  const fp = pairs.filter((p) => !p.positive && p.predicted).length;
  const tn = pairs.filter((p) => !p.positive && !p.predicted).length;
  const fn = pairs.filter((p) => p.positive && !p.predicted).length;
  const precision = tp + fp > 0 ? tp / (tp + fp) : null;
  const recall = tp + fn > 0 ? tp / (tp + fn) : null;
  // Harmonic mean where both exist; 0 when nothing was right but something was said or missed.
  let f1: number | null;
  if (tp + fp + fn === 0) f1 = null;
  else if (precision !== null && recall !== null && precision + recall > 0) f1 = (2 * precision * recall) / (precision + recall);
  else f1 = 0;
  return {
    tp,
    fp,
    tn,
    fn,
    n: pairs.length,
    precision,
    recall,
    f1,
    accuracy: pairs.length ? (tp + tn) / pairs.length : null,
    falsePositiveRate: fp + tn > 0 ? fp / (fp + tn) : null,
  };
}

/** Average precision as the mean, over positives, of the precision among all items scored at least as high. */
export function referenceAveragePrecision(pairs: Array<{ positive: boolean; score: number }>): number | null {
  const positives = pairs.filter((p) => p.positive);
  if (positives.length === 0) return null;
  let total = 0;
  for (const p of positives) {
    const atOrAbove = pairs.filter((q) => q.score >= p.score);
    total += atOrAbove.filter((q) => q.positive).length / atOrAbove.length;
  }
  return total / positives.length;
}

/** The smallest value with at least q% of the values at or below it. */
export function referencePercentile(values: number[], q: number): number {
  const candidates = [...new Set(values)].sort((a, b) => a - b);
  return candidates.find((v) => values.filter((x) => x <= v).length >= (q / 100) * values.length)!;
}
