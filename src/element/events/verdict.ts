import type { Target, Verdict } from '../../core/types.js';

export interface AegisVerdictEventDetail {
  /** The guard's verdict, exactly as `Guard.checkPrompt`/`checkResponse` returned it. */
  verdict: Verdict;
  /** 'prompt' for a user message, 'response' for an assistant message. */
  target: Target;
  /** For a streamed reply: the character range of the whole reply this verdict covers. */
  chunk?: { start: number; end: number };
}

/**
 * Fired for every verdict the element receives (a streamed reply gets one per checked chunk), before the
 * element shows the outcome. Not cancelable: to let a blocked message through, cancel `aegis-block`.
 */
export class AegisVerdictEvent extends Event {
  readonly detail: AegisVerdictEventDetail;

  constructor(detail: AegisVerdictEventDetail) {
    super('aegis-verdict', { bubbles: true, composed: true, cancelable: false });
    this.detail = detail;
  }
}

declare global {
  interface GlobalEventHandlersEventMap {
    'aegis-verdict': AegisVerdictEvent;
  }
}
