/** LoadProgressTracker against the report texts WebLLM 0.2.86 produces (idx:8201-8227, 8744, 18335). */
import { describe, expect, test } from 'vitest';
import type { LoadProgress } from '../../src/core/types.js';
import { LoadProgressTracker } from '../../src/engine/load-progress.js';

const MiB = 1024 * 1024;

function track(totalBytes?: number) {
  const events: LoadProgress[] = [];
  return { events, tracker: new LoadProgressTracker((p) => events.push(p), totalBytes) };
}

describe('LoadProgressTracker', () => {
  test('maps each WebLLM phase and restarts progress per phase', () => {
    const { events, tracker } = track(300 * MiB);
    tracker.emit({ phase: 'preflight', progress: 0, text: 'Checking WebGPU' });
    tracker.fromWebLLM({ progress: 0, timeElapsed: 0, text: 'Start to fetch params' });
    tracker.fromWebLLM({ progress: 0.5, timeElapsed: 1, text: 'Fetching param cache[2/4]: 150MB fetched. 50% completed, 1 secs elapsed.' });
    tracker.fromWebLLM({ progress: 0.25, timeElapsed: 2, text: 'Loading model from cache[1/4]: 75MB loaded. 25% completed, 2 secs elapsed.' });
    tracker.fromWebLLM({ progress: 0.1, timeElapsed: 3, text: 'Loading GPU shader modules[10/100]: 10% completed, 3 secs elapsed.' });
    tracker.fromWebLLM({ progress: 1, timeElapsed: 4, text: 'Finish loading on WebGPU - google' });
    expect(events.map((e) => [e.phase, e.progress])).toEqual([
      ['preflight', 0],
      ['fetching', 0],
      ['fetching', 0.5],
      ['loading', 0.25],
      ['compiling', 0.1],
      ['compiling', 1],
    ]);
    expect(events[2]).toMatchObject({ loadedBytes: 150 * MiB, totalBytes: 300 * MiB });
    expect(events[3]).toMatchObject({ loadedBytes: 75 * MiB, totalBytes: 300 * MiB });
  });

  test('without a known total, bytes come from the MB in the text', () => {
    const { events, tracker } = track();
    tracker.fromWebLLM({ progress: 0.3, timeElapsed: 1, text: 'Fetching param cache[3/10]: 1234MB fetched. 30% completed, 1 secs elapsed.' });
    expect(events[0]).toMatchObject({ phase: 'fetching', loadedBytes: 1234 * MiB });
    expect(events[0]!.totalBytes).toBeUndefined();
  });

  test('never goes backwards: not within a phase, not to an earlier phase', () => {
    const { events, tracker } = track();
    tracker.emit({ phase: 'fetching', progress: 0.6, text: 'a' });
    tracker.emit({ phase: 'fetching', progress: 0.4, text: 'b' });
    expect(tracker.emit({ phase: 'preflight', progress: 1, text: 'c' })).toBe(false);
    tracker.fromWebLLM({ progress: Number.NaN, timeElapsed: 0, text: 'Start to fetch params' });
    expect(events.map((e) => [e.phase, e.progress, e.text])).toEqual([
      ['fetching', 0.6, 'a'],
      ['fetching', 0.6, 'b'],
      ['fetching', 0.6, 'Start to fetch params'],
    ]);
  });

  test('clamps to 0..1, keeps unknown texts in the current phase, and goes quiet after stop()', () => {
    const { events, tracker } = track();
    tracker.emit({ phase: 'loading', progress: 7, text: 'x' });
    tracker.fromWebLLM({ progress: 0.2, timeElapsed: 0, text: 'Something new' });
    tracker.stop();
    tracker.emit({ phase: 'ready', progress: 1, text: 'y' });
    expect(events.map((e) => [e.phase, e.progress, e.text])).toEqual([
      ['loading', 1, 'x'],
      ['loading', 1, 'Something new'],
    ]);
  });

  test('a throwing listener does not break the load', () => {
    const tracker = new LoadProgressTracker(() => {
      throw new Error('listener bug');
    });
    expect(tracker.emit({ phase: 'preflight', progress: 0, text: 'x' })).toBe(true);
  });
});
