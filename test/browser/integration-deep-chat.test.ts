/**
 * deep-chat helpers with the real <deep-chat> element (deep-chat 2.4.2) and a local function handler (no
 * network), over a real guard with the scripted engine. What matters is what deep-chat renders: a watcher on
 * its shadow DOM records whether unsafe text ever appeared, at any moment.
 */
import 'deep-chat';
import type { DeepChat } from 'deep-chat';
import type { Handler, Signals } from 'deep-chat/dist/types/handler';
import { afterEach, describe, expect, test, vi } from 'vitest';
import { deepChatGuard, lastUserMessage } from '../../src/integrations/deep-chat.js';
import { guardPerTest } from '../helpers/guard-per-test.js';

const testGuard = guardPerTest();
let mounted: HTMLElement | undefined;
afterEach(() => {
  mounted?.remove();
  mounted = undefined;
});

function sentences(n: number, unsafeAt?: number): string {
  return Array.from({ length: n }, (_, i) => `Tip ${i}: let the dough rest${i === unsafeAt ? ' [[unsafe:Violence]]' : ''}.`).join(' ');
}

interface Mounted {
  chat: DeepChat;
  /** Everything the chat's shadow DOM showed, snapshot at every mutation. */
  everShown: () => string[];
  text: () => string;
}

async function mount(configure: (chat: DeepChat) => void): Promise<Mounted> {
  const chat = document.createElement('deep-chat') as DeepChat;
  // deep-chat shows a generic text for service errors unless told to show the message itself.
  chat.errorMessages = { displayServiceErrorMessages: true };
  configure(chat);
  const rendered = new Promise<void>((resolve) => (chat.onComponentRender = () => resolve()));
  document.body.append(chat);
  mounted = chat;
  await rendered;
  const root = chat.shadowRoot!;
  // deep-chat may render again after the first report (properties set before it connected); a message
  // submitted before its input exists is silently dropped, which a busy machine makes likely.
  await vi.waitFor(() => expect(root.querySelector('#text-input')).not.toBeNull(), { timeout: 20_000 });
  await new Promise((r) => setTimeout(r, 0));
  const snapshots: string[] = [];
  new MutationObserver(() => snapshots.push(root.textContent ?? '')).observe(root, { subtree: true, childList: true, characterData: true });
  return { chat, everShown: () => snapshots, text: () => root.textContent ?? '' };
}

/** A streaming handler that sends the reply word by word and stops when told to. */
function streamingHandler(reply: string, mode: 'delta' | 'cumulative' = 'delta') {
  const state = { calls: 0, sent: 0, stopped: false, bodies: [] as unknown[] };
  const words = reply.match(/\s*\S+|\s+/g) ?? [];
  const handler: Handler = (body: unknown, signals: Signals) => {
    state.calls++;
    state.bodies.push(body);
    signals.stopClicked.listener = () => (state.stopped = true);
    void (async () => {
      signals.onOpen();
      let soFar = '';
      for (const word of words) {
        if (state.stopped) return;
        soFar += word;
        state.sent++;
        await signals.onResponse(mode === 'delta' ? { text: word } : { text: soFar, overwrite: true });
        await new Promise((r) => setTimeout(r, 0));
      }
      signals.onClose();
    })();
  };
  return { handler, state };
}

const SMALL = { chunkTokens: 30, contextTokens: 8 };

describe('deep-chat', () => {
  test('a streamed unsafe reply never appears in the chat; the handler is stopped and an error is shown', async () => {
    const { guard } = testGuard();
    const reply = sentences(30, 7);
    const { handler, state } = streamingHandler(reply);
    const kit = deepChatGuard(guard, { stream: SMALL });
    const { chat, everShown, text } = await mount((c) => {
      c.connect = { stream: true, handler: kit.streamHandler(handler) };
      c.requestInterceptor = kit.requestInterceptor;
      c.responseInterceptor = kit.responseInterceptor;
    });
    chat.submitUserMessage({ text: 'How long should dough rest?' });
    await vi.waitFor(() => expect(text()).toContain('The rest of this reply was blocked by the safety guard.'), { timeout: 20_000 });
    expect(everShown().length).toBeGreaterThan(0);
    expect(everShown().some((s) => s.includes('[[unsafe') || s.includes('Violence]]'))).toBe(false);
    // Safe text before the unsafe chunk was shown.
    expect(text()).toContain('Tip 0: let the dough rest.');
    // The wrapped handler was told to stop through its own stop hook.
    expect(state.stopped).toBe(true);
    expect(lastUserMessage(state.bodies[0])).toBe('How long should dough rest?');
  });

  test('a streamed safe reply is shown whole, cumulative updates included', async () => {
    const { guard } = testGuard();
    const reply = sentences(8);
    const { handler } = streamingHandler(reply, 'cumulative');
    const kit = deepChatGuard(guard, { stream: SMALL });
    const { chat, text } = await mount((c) => {
      c.connect = { stream: true, handler: kit.streamHandler(handler) };
      c.requestInterceptor = kit.requestInterceptor;
      c.responseInterceptor = kit.responseInterceptor;
    });
    chat.submitUserMessage({ text: 'Tips for bread?' });
    await vi.waitFor(() => expect(text()).toContain('Tip 7: let the dough rest.'), { timeout: 20_000 });
    // Each tip once: the released chunks were appended, not repeated.
    expect(text().split('Tip 3:').length).toBe(2);
    expect(text()).not.toContain('blocked');
  });

  test("the wrapped handler's own error is shown after the judged text before it", async () => {
    const { guard } = testGuard();
    const kit = deepChatGuard(guard, { stream: SMALL });
    const handler: Handler = (_body: unknown, signals: Signals) => {
      void (async () => {
        signals.onOpen();
        for (const word of sentences(5).match(/\s*\S+/g)!) await signals.onResponse({ text: word });
        await signals.onResponse({ error: 'The model server went away.' });
      })();
    };
    const { chat, text } = await mount((c) => {
      c.connect = { stream: true, handler: kit.streamHandler(handler) };
    });
    chat.submitUserMessage({ text: 'Tips?' });
    await vi.waitFor(() => expect(text()).toContain('The model server went away.'), { timeout: 20_000 });
    expect(text()).toContain('Tip 4: let the dough rest.');
  });

  test('an unsafe user message is stopped by the request interceptor; the handler is never called', async () => {
    const { guard } = testGuard();
    const { handler, state } = streamingHandler(sentences(3));
    const blocks: string[] = [];
    const kit = deepChatGuard(guard, { onBlock: (b) => blocks.push(b.target) });
    const { chat, text } = await mount((c) => {
      c.connect = { stream: true, handler: kit.streamHandler(handler) };
      c.requestInterceptor = kit.requestInterceptor;
    });
    chat.submitUserMessage({ text: 'how do I hurt someone [[unsafe:Violence]]' });
    await vi.waitFor(() => expect(text()).toContain('This message was blocked by the safety guard.'), { timeout: 20_000 });
    expect(state.calls).toBe(0);
    expect(blocks).toEqual(['prompt']);
  });

  test('a whole (non-streamed) unsafe reply is replaced by an error by the response interceptor', async () => {
    const { guard } = testGuard();
    const kit = deepChatGuard(guard);
    const unsafe = sentences(4, 2);
    const handler: Handler = (_body: unknown, signals: Signals) => {
      void signals.onResponse({ text: unsafe });
    };
    const { chat, everShown, text } = await mount((c) => {
      c.connect = { handler };
      c.requestInterceptor = kit.requestInterceptor;
      c.responseInterceptor = kit.responseInterceptor;
    });
    chat.submitUserMessage({ text: 'Tips?' });
    await vi.waitFor(() => expect(text()).toContain('The rest of this reply was blocked by the safety guard.'), { timeout: 20_000 });
    expect(everShown().some((s) => s.includes('Tip 0'))).toBe(false);
  });

  test('a whole safe reply passes the response interceptor unchanged', async () => {
    const { guard } = testGuard();
    const kit = deepChatGuard(guard);
    const handler: Handler = (_body: unknown, signals: Signals) => {
      void signals.onResponse({ text: 'Let it rise for an hour.' });
    };
    const { chat, text } = await mount((c) => {
      c.connect = { handler };
      c.requestInterceptor = kit.requestInterceptor;
      c.responseInterceptor = kit.responseInterceptor;
    });
    chat.submitUserMessage({ text: 'How long?' });
    await vi.waitFor(() => expect(text()).toContain('Let it rise for an hour.'), { timeout: 20_000 });
  });
});
