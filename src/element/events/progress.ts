import type { LoadProgress } from '../../core/types.js';

export interface AegisProgressEventDetail {
  progress: LoadProgress;
}

/** Fired while the element waits for the model to load, for each progress report of the guard. */
export class AegisProgressEvent extends Event {
  readonly detail: AegisProgressEventDetail;

  constructor(detail: AegisProgressEventDetail) {
    super('aegis-progress', { bubbles: true, composed: true, cancelable: false });
    this.detail = detail;
  }
}

declare global {
  interface GlobalEventHandlersEventMap {
    'aegis-progress': AegisProgressEvent;
  }
}
