/**
 * Reads a streamed reply through the stream guard for an `<aegis-guard>`: released text is accumulated and
 * handed over whole (retractions applied), verdicts and the end are passed on. Nothing is reported once the
 * run is no longer current (the message changed or the element was removed).
 */
import type { Guard } from '../client/types.js';
import type { Verdict } from '../core/types.js';
import { guardStream } from '../stream/guard-stream.js';
import type { GuardStreamEvent, GuardStreamOptions, StreamSource } from '../stream/types.js';

export interface StreamRunCallbacks {
  isCurrent(): boolean;
  /** Everything released so far (not a delta). */
  onText(released: string): void;
  onVerdict(verdict: Verdict, chunk: { start: number; end: number }): void;
  onEnd(end: Extract<GuardStreamEvent, { type: 'end' }> & { verdict?: Verdict }): void;
  onError(error: unknown): void;
}

export async function runStream(guard: Guard, prompt: string, source: StreamSource, options: GuardStreamOptions, on: StreamRunCallbacks): Promise<void> {
  let released = '';
  try {
    for await (const event of guardStream(guard, prompt, source, options)) {
      if (!on.isCurrent()) return;
      switch (event.type) {
        case 'text':
          released += event.text;
          on.onText(released);
          break;
        case 'retract':
          released = released.slice(0, event.from);
          on.onText(released);
          break;
        case 'verdict':
          on.onVerdict(event.verdict, { start: event.start, end: event.end });
          break;
        case 'end':
          on.onEnd(event);
          return;
      }
    }
  } catch (error) {
    if (on.isCurrent()) on.onError(error);
  }
}
