/**
 * Turns WebLLM's load reports into `LoadProgress` events. Pure (Node-testable).
 *
 * WebLLM reports `{progress, timeElapsed, text}` and restarts `progress` from 0 in every phase (internals
 * §3.6); the phase is only in the text. It reports nothing while it fetches the config, the model library
 * and the tokenizer, so the engine emits its own 'preflight' and 'fetching' events first.
 */
import type { LoadProgress } from '../core/types.js';

/** WebLLM's `InitProgressReport` (types.d.ts:167-175). */
export interface WebLLMProgressReport {
  progress: number;
  timeElapsed: number;
  text: string;
}

const PHASE_ORDER: LoadProgress['phase'][] = ['preflight', 'fetching', 'loading', 'compiling', 'ready'];
const MiB = 1024 * 1024;

// The texts WebLLM builds at idx:8201-8225 (tensor cache), idx:8744 (shaders), idx:18333 (done).
const FETCHING = /^Fetching param cache\[\d+\/\d+\]: (\d+)MB fetched/;
const LOADING = /^Loading model from cache\[\d+\/\d+\]: (\d+)MB loaded/;
const START_FETCH = /^Start to fetch params/;
const SHADERS = /^Loading GPU shader modules\[/;
const FINISHED = /^Finish loading on /;

/**
 * Keeps events in phase order and `progress` monotonic within a phase, as `LoadProgress` promises.
 * `totalBytes` (the sum of tensor-cache.json's shard sizes, when known) makes byte counts exact; without it
 * they are read from WebLLM's text, which rounds up to whole MiB.
 */
export class LoadProgressTracker {
  private phase = -1;
  private progress = 0;
  private stopped = false;

  constructor(
    private readonly sink: ((progress: LoadProgress) => void) | undefined,
    private totalBytes?: number,
  ) {}

  setTotalBytes(totalBytes: number | undefined): void {
    this.totalBytes = totalBytes;
  }

  /** After this nothing more is emitted (the load finished, failed or was cancelled). */
  stop(): void {
    this.stopped = true;
  }

  /** Emits an event unless it would move backwards; returns whether it was emitted. */
  emit(event: LoadProgress): boolean {
    if (this.stopped) return false;
    const phase = PHASE_ORDER.indexOf(event.phase);
    if (phase < this.phase) return false;
    let progress = Number.isFinite(event.progress) ? Math.min(1, Math.max(0, event.progress)) : 0;
    if (phase === this.phase) progress = Math.max(progress, this.progress);
    this.phase = phase;
    this.progress = progress;
    const out: LoadProgress = { phase: event.phase, progress, text: event.text };
    if (event.loadedBytes !== undefined) out.loadedBytes = event.loadedBytes;
    if (event.totalBytes !== undefined) out.totalBytes = event.totalBytes;
    try {
      this.sink?.(out);
    } catch {
      // A throwing listener must not break the load.
    }
    return true;
  }

  /** Translates one WebLLM report. Unknown texts keep the current phase. */
  fromWebLLM(report: WebLLMProgressReport): boolean {
    const text = String(report.text ?? '');
    const ratio = Number.isFinite(report.progress) ? report.progress : 0;
    const bytes = (mib: string | undefined) => {
      if (this.totalBytes !== undefined) return { loadedBytes: Math.round(ratio * this.totalBytes), totalBytes: this.totalBytes };
      return mib === undefined ? {} : { loadedBytes: Number(mib) * MiB };
    };
    let fetched: RegExpExecArray | null;
    if (START_FETCH.test(text)) return this.emit({ phase: 'fetching', progress: 0, text, ...bytes(undefined) });
    if ((fetched = FETCHING.exec(text))) return this.emit({ phase: 'fetching', progress: ratio, text, ...bytes(fetched[1]) });
    if ((fetched = LOADING.exec(text))) return this.emit({ phase: 'loading', progress: ratio, text, ...bytes(fetched[1]) });
    if (SHADERS.test(text)) return this.emit({ phase: 'compiling', progress: ratio, text });
    // The engine emits 'ready' itself once reload() has really succeeded (WebLLM reports before its
    // final device-lost check, idx:18331-18342).
    if (FINISHED.test(text)) return this.emit({ phase: 'compiling', progress: 1, text });
    const current = PHASE_ORDER[Math.max(this.phase, 0)] ?? 'preflight';
    return this.emit({ phase: current, progress: this.progress, text });
  }
}
