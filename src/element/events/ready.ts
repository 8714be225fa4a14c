import type { ModelInfo } from '../../core/types.js';

export interface AegisReadyEventDetail {
  info: ModelInfo;
}

/** Fired once per model load when the element's guard is ready (also when it already was when the element first used it). */
export class AegisReadyEvent extends Event {
  readonly detail: AegisReadyEventDetail;

  constructor(detail: AegisReadyEventDetail) {
    super('aegis-ready', { bubbles: true, composed: true, cancelable: false });
    this.detail = detail;
  }
}

declare global {
  interface GlobalEventHandlersEventMap {
    'aegis-ready': AegisReadyEvent;
  }
}
