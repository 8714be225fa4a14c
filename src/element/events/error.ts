import type { AegisError } from '../../core/errors.js';
import type { Verdict } from '../../core/types.js';

export interface AegisErrorEventDetail {
  /** What went wrong, as a typed aegis-guard error (branch on `error.code`). */
  error: AegisError;
  /** The fail-closed verdict, when the failure came back as one (most do). */
  verdict?: Verdict;
}

/** Fired when the message could not be judged; the element keeps it hidden (fail closed) and offers a retry. */
export class AegisErrorEvent extends Event {
  readonly detail: AegisErrorEventDetail;

  constructor(detail: AegisErrorEventDetail) {
    super('aegis-error', { bubbles: true, composed: true, cancelable: false });
    this.detail = detail;
  }
}

declare global {
  interface GlobalEventHandlersEventMap {
    'aegis-error': AegisErrorEvent;
  }
}
