/** Reads what an `<aegis-guard>` must judge: its text (property or slotted content) and, for a reply, the prompt. */
import { AegisInputError } from '../core/errors.js';
import type { StreamSource } from '../stream/types.js';

export type MessageRole = 'user' | 'assistant';

export type MessageInput =
  | { kind: 'none' }
  | { kind: 'message'; role: MessageRole; text: string; prompt: string; from: 'text' | 'slot' }
  | { kind: 'stream'; prompt: string; source: StreamSource };

/** The text of slotted content as a reader sees it: markup dropped, runs of white space collapsed. */
export function visibleText(node: Node): string {
  return (node.textContent ?? '').replace(/\s+/gu, ' ').trim();
}

export function checkRole(role: unknown): MessageRole {
  if (role === 'user' || role === 'assistant') return role;
  throw new AegisInputError(`role must be "user" or "assistant", got ${JSON.stringify(role)}.`);
}

/** Finds the prompt a reply answers through `for`: the element with that id in the same document or shadow root. */
export function promptFromElement(host: Element, id: string): string {
  const root = host.getRootNode() as Document | ShadowRoot;
  const source = typeof root.getElementById === 'function' ? root.getElementById(id) : null;
  if (!source) throw new AegisInputError(`for="${id}": no element with that id holds the prompt this reply answers.`);
  const withText = source as Element & { messageText?: unknown };
  return typeof withText.messageText === 'string' ? withText.messageText : visibleText(source);
}
