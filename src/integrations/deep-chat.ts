/**
 * `aegis-guard/integrations/deep-chat`: helpers for the deep-chat web component (`<deep-chat>`, v2).
 *
 * - `requestInterceptor`: judges the user's message before it is sent; an unsafe one is answered with
 *   `{ error }`, which makes deep-chat cancel the request and show the error.
 * - `streamHandler(handler)`: wraps a streaming `connect.handler` (`connect: { stream: true, handler }`). The
 *   handler's `signals.onResponse({ text })` deltas (or cumulative `{ text, overwrite: true }` updates) are
 *   held back and passed to deep-chat chunk by chunk once judged safe. On an unsafe chunk the handler is told
 *   to stop (its `signals.stopClicked.listener`, the same hook deep-chat's stop button uses) and deep-chat
 *   gets `{ error }`, which ends the message.
 * - `responseInterceptor`: for whole (non-streamed) replies: judges `text` / `html` and turns an unsafe reply
 *   into `{ error }`. Text released by `streamHandler` is recognised and passed through unchanged.
 *
 * Why streaming goes through the handler and not the response interceptor: in deep-chat's streaming paths
 * the interceptor is called once per event and must return something to display for it, and it is not told
 * when the stream ends, so it cannot hold text back until judged. (With `connect.url` SSE streams it gets
 * one event at a time; with `webModel` it gets the cumulative text each token.) For those, fetch in your own
 * `connect.handler` and wrap it with `streamHandler`.
 */
import type { Guard } from '../client/types.js';
import { AegisError } from '../core/errors.js';
import type { Verdict } from '../core/types.js';
import { guardStream } from '../stream/guard-stream.js';
import type { GuardStreamOptions } from '../stream/types.js';
import type { DeepChatHandler, DeepChatRequestDetails, DeepChatResponse, DeepChatResponseDetails, DeepChatSignals } from './deep-chat-types.js';
import { pushSource } from './push-source.js';

export type { DeepChatHandler, DeepChatRequestDetails, DeepChatResponse, DeepChatResponseDetails, DeepChatSignals } from './deep-chat-types.js';

export interface DeepChatGuardOptions {
  /** Shown instead of sending an unsafe user message. */
  blockedPromptMessage?: string;
  /** Shown when a reply is blocked (text already released stays shown). */
  blockedReplyMessage?: string;
  /** Shown when a reply could not be judged (fail closed). */
  failedMessage?: string;
  /** Chunking of replies (see `GuardStreamOptions`); release is always after-check here. */
  stream?: Omit<GuardStreamOptions, 'release' | 'signal'>;
  onBlock?: (block: { target: 'prompt' | 'response'; verdict: Verdict }) => void;
}

export interface DeepChatGuard {
  requestInterceptor: (details: DeepChatRequestDetails) => Promise<DeepChatResponseDetails>;
  responseInterceptor: (response: DeepChatResponse | DeepChatResponse[]) => Promise<DeepChatResponse | DeepChatResponse[]>;
  streamHandler: (handler: DeepChatHandler) => DeepChatHandler;
}

/** An error the wrapped handler reported itself (`onResponse({ error })`): shown as it is. */
class HandlerError extends Error {}

const DEFAULTS = {
  blockedPromptMessage: 'This message was blocked by the safety guard.',
  blockedReplyMessage: 'The rest of this reply was blocked by the safety guard.',
  failedMessage: 'The reply could not be checked, so it is not shown.',
};

/** The text of the last user message in a deep-chat request body (`{ messages: [{ role, text }] }`). */
export function lastUserMessage(body: unknown): string {
  const messages = (body as { messages?: unknown } | null)?.messages;
  if (!Array.isArray(messages)) return '';
  for (let i = messages.length - 1; i >= 0; i--) {
    const m = messages[i] as { role?: unknown; text?: unknown } | null;
    if (m && (m.role === undefined || m.role === 'user') && typeof m.text === 'string') return m.text;
  }
  return '';
}

export function deepChatGuard(guard: Guard, options: DeepChatGuardOptions = {}): DeepChatGuard {
  const messages = { ...DEFAULTS, ...options };
  /** Responses this module produced from judged text: the response interceptor lets them through. */
  const judged = new WeakSet<object>();
  const mark = <T extends DeepChatResponse>(r: T): T => {
    judged.add(r);
    return r;
  };
  let lastPrompt = '';

  const failure = (error: unknown) => (error instanceof AegisError ? `${messages.failedMessage} (${error.code})` : messages.failedMessage);

  /** Runs one reply through the stream guard, sending what is released to `send`. */
  const judgeReply = async (
    prompt: string,
    source: AsyncIterable<string>,
    send: (r: DeepChatResponse) => Promise<void> | void,
    onBlocked?: () => void,
  ): Promise<'allowed' | 'blocked' | 'failed'> => {
    try {
      for await (const event of guardStream(guard, prompt, source, options.stream ?? {})) {
        if (event.type === 'text') await send(mark({ text: event.text }));
        else if (event.type === 'end' && event.outcome === 'blocked') {
          onBlocked?.();
          options.onBlock?.({ target: 'response', verdict: event.verdict });
          await send(mark({ error: messages.blockedReplyMessage }));
          return 'blocked';
        }
      }
      return 'allowed';
    } catch (error) {
      onBlocked?.();
      await send(mark({ error: error instanceof HandlerError ? error.message : failure(error) }));
      return 'failed';
    }
  };

  return {
    async requestInterceptor(details) {
      const prompt = lastUserMessage(details.body);
      lastPrompt = prompt;
      if (prompt === '') return details;
      try {
        const verdict = await guard.checkPrompt(prompt);
        if (verdict.safe) return details;
        options.onBlock?.({ target: 'prompt', verdict });
        return { error: messages.blockedPromptMessage };
      } catch (error) {
        return { error: failure(error) };
      }
    },

    async responseInterceptor(response) {
      const list = Array.isArray(response) ? response : [response];
      if (list.every((r) => judged.has(r))) return response;
      const text = list.map((r) => (typeof r?.text === 'string' ? r.text : typeof r?.html === 'string' ? r.html : '')).join('\n');
      if (text === '') return response;
      let verdictText: DeepChatResponse | undefined;
      const whole = (async function* () {
        yield text;
      })();
      const outcome = await judgeReply(lastPrompt, whole, (r) => {
        if (r.error) verdictText = r;
      });
      return outcome === 'allowed' ? response : verdictText!;
    },

    streamHandler(handler) {
      return (body: unknown, signals: DeepChatSignals) => {
        const innerStop = { listener: () => {} };
        const source = pushSource(() => innerStop.listener());
        let cumulative = '';
        // deep-chat's stop button: stop the wrapped handler and the guard.
        signals.stopClicked.listener = () => {
          innerStop.listener();
          source.end();
        };
        const innerSignals: DeepChatSignals = {
          ...signals,
          onOpen: () => {},
          onClose: () => source.end(),
          stopClicked: innerStop,
          onResponse: async (response) => {
            const r = Array.isArray(response) ? response[0] : response;
            if (!r) return;
            if (typeof r.error === 'string') return source.fail(new HandlerError(r.error));
            if (typeof r.text !== 'string') return source.fail(new Error('aegis-guard judges text replies only (no html or files in a guarded stream).'));
            if (!r.overwrite) {
              cumulative += r.text;
              return source.push(r.text);
            }
            // Cumulative updates: only growth can be judged; rewriting released text cannot be undone.
            if (!r.text.startsWith(cumulative)) return source.fail(new Error('A cumulative update rewrote text that was already shown.'));
            const delta = r.text.slice(cumulative.length);
            cumulative = r.text;
            if (delta) source.push(delta);
          },
        };
        signals.onOpen();
        const prompt = lastUserMessage(body) || lastPrompt;
        void judgeReply(prompt, source.iterable, (r) => signals.onResponse(r), () => innerStop.listener()).then((outcome) => {
          // An error response already ended deep-chat's message; only an allowed reply needs closing.
          if (outcome === 'allowed') signals.onClose();
        });
        handler(body, innerSignals);
      };
    },
  };
}
