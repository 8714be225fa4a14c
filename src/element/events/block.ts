import type { Target, Verdict, ViolatedCategory } from '../../core/types.js';

export interface AegisBlockEventDetail {
  verdict: Verdict;
  target: Target;
  /** The violated categories, as the model named them (codes resolved where known). */
  categories: ViolatedCategory[];
}

/**
 * Fired when the guard judged the message unsafe, before the blocked placeholder is shown.
 * Cancelable: `event.preventDefault()` lets the message through (the element then shows it as allowed, with
 * the "shown by the app" badge when `badge` is set).
 */
export class AegisBlockEvent extends Event {
  readonly detail: AegisBlockEventDetail;

  constructor(detail: AegisBlockEventDetail) {
    super('aegis-block', { bubbles: true, composed: true, cancelable: true });
    this.detail = detail;
  }
}

declare global {
  interface GlobalEventHandlersEventMap {
    'aegis-block': AegisBlockEvent;
  }
}
