/**
 * A one-line progress bar with rate and ETA on a terminal (redrawn in place); on anything else (CI logs,
 * pipes) one line per 10%.
 */
import type { LoadProgress } from '../../core/types.js';
import type { EvalProgress } from '../types.js';

export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '?';
  const s = Math.round(ms / 1000);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = s % 60;
  return h > 0 ? `${h}h${String(m).padStart(2, '0')}m` : m > 0 ? `${m}m${String(sec).padStart(2, '0')}s` : `${sec}s`;
}

export function formatProgress(p: Omit<EvalProgress, 'last'>, width = 28): string {
  const fraction = p.total === 0 ? 1 : p.done / p.total;
  const filled = Math.round(fraction * width);
  const checked = p.done - p.resumed;
  const rate = checked > 0 && p.elapsedMs > 0 ? `${((checked * 1000) / p.elapsedMs).toFixed(2)}/s` : '–/s';
  return (
    `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${p.done}/${p.total} ${(fraction * 100).toFixed(0).padStart(3)}% ` +
    `${rate} ETA ${p.etaMs === undefined ? '?' : formatDuration(p.etaMs)}` +
    `${p.resumed ? ` (${p.resumed} resumed)` : ''}${p.failures ? ` failures ${p.failures}` : ''}`
  );
}

export interface ProgressBar {
  load(progress: LoadProgress): void;
  update(progress: Omit<EvalProgress, 'last'>): void;
  /** Ends the bar's line (call before printing anything else). */
  end(): void;
}

export function progressBar(stream: NodeJS.WriteStream = process.stderr): ProgressBar {
  const tty = stream.isTTY === true;
  let lastTenth = -1;
  let lastLoad = '';
  let open = false;
  const draw = (line: string) => {
    if (tty) {
      stream.write(`\r${line.slice(0, (stream.columns ?? 120) - 1).padEnd(Math.min(stream.columns ?? 120, 120) - 1)}`);
      open = true;
    } else stream.write(`${line}\n`);
  };
  return {
    load(p) {
      const line = `loading model: ${p.phase} ${Math.round(p.progress * 100)}% ${p.text}`;
      const key = `${p.phase}:${Math.floor(p.progress * 10)}`;
      if (tty || key !== lastLoad) draw(line);
      lastLoad = key;
    },
    update(p) {
      const tenth = p.total === 0 ? 10 : Math.floor((p.done / p.total) * 10);
      if (tty || tenth !== lastTenth) draw(formatProgress(p));
      lastTenth = tenth;
    },
    end() {
      if (open) stream.write('\n');
      open = false;
    },
  };
}
