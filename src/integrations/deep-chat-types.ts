/**
 * The parts of deep-chat's (v2) interceptor and handler contract that `aegis-guard/integrations/deep-chat` uses,
 * written here as structural types. deep-chat's own declarations are reached only through deep paths without
 * file extensions (`deep-chat/dist/types/handler`), which `moduleResolution: node16`/`nodenext` rejects; with
 * these, the integration's types compile under any resolution and do not need deep-chat installed. They are
 * assignable both ways to deep-chat's `RequestInterceptor`, `ResponseInterceptor`, `Handler` and `Signals`
 * (test/node/package-consumers.test.ts checks that against the real package).
 */

/** One message deep-chat shows, or the reply a handler or interceptor gives it. */
export interface DeepChatResponse {
  text?: string;
  html?: string;
  /** Shown as an error; it ends the message. */
  error?: string;
  role?: string;
  /** The text replaces the message so far instead of being appended (streams). */
  overwrite?: boolean;
  custom?: unknown;
}

/** What deep-chat's `requestInterceptor` receives: the request it is about to send. */
export interface DeepChatRequestDetails {
  /** Whatever the connection sends (JSON); `any` as in deep-chat, so handlers typed either way fit. */
  body: any;
  headers?: Record<string, string>;
}

/** What a `requestInterceptor` returns: the (possibly changed) request, or `{ error }` to cancel it. */
export type DeepChatResponseDetails = DeepChatRequestDetails | { error: string };

/** The callbacks deep-chat gives a custom `connect.handler`. */
export interface DeepChatSignals {
  onResponse: (response: DeepChatResponse | DeepChatResponse[]) => Promise<void>;
  onOpen: () => void;
  onClose: () => void;
  /** deep-chat calls `listener` when the user presses stop; the handler sets it. */
  stopClicked: { listener: () => void };
  newUserMessage: { listener: (body: any) => void };
}

/** A custom `connect.handler` (`body`: the request body, as in deep-chat). */
export type DeepChatHandler = (body: any, signals: DeepChatSignals) => void;
