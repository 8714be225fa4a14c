/**
 * The demo page's UI, mounted by `mountDemo(root, { guard })`. The shipped page (main.ts) passes a real
 * WebLLM guard; tests pass a guard over the scripted engine. Every message goes through `<aegis-guard>`:
 * a prompt is "sent" only once the guard allowed it, and a reply (typed, pasted, or a canned one streamed
 * word by word) is shown only as the guard releases it.
 */
import { html, nothing, render, type TemplateResult } from 'lit';
import type { Guard, ModelOption } from '../src/client/types.js';
import type { AegisError } from '../src/core/errors.js';
import type { ModelInfo } from '../src/core/types.js';
import { defineAegisGuard } from '../src/element/define.js';
import type { AegisBlockEvent, AegisErrorEvent, AegisVerdictEvent } from '../src/element/events/events.js';
import { CANNED_REPLIES, streamWords } from './canned-replies.js';
import { probeGpu } from './gpu-report.js';
import { LocalModelError, filesFromInput, forgetLocalModel, planLocalModel, storeLocalModel } from './local-model.js';
import { type ModelChoice, defaultChoice, toModelOption } from './model-choice.js';
import { type ModelPanelState, modelPanelView } from './model-panel.js';
import { type LogEntry, verdictLogView } from './verdict-log.js';
import './styles.css';

export interface DemoOptions {
  /** The guard every message of the page uses. */
  guard: Guard;
  /** Where `guard` was told to load its model from (shown in the model panel). */
  model?: ModelChoice;
  /** Called when the reader picks another model (the shipped page remembers it for the next visit). */
  onModelChosen?: (choice: ModelChoice) => void;
  /** Milliseconds between the words of a canned reply. Default 60. */
  wordDelayMs?: number;
  /** The page URL local model folders are stored under. Default: `document.baseURI`. */
  pageUrl?: string;
}

export interface DemoHandle {
  /** Removes the UI and stops listening to the guard (the guard itself is the caller's). */
  dispose(): void;
}

type Delivery = 'checking' | 'sent' | 'blocked' | 'failed';

interface ChatMessage {
  n: number;
  id: string;
  role: 'user' | 'assistant';
  text?: string;
  stream?: AsyncIterable<string>;
  /** For a reply: the element id of the prompt it answers. */
  forId?: string;
  /** For a prompt: whether it was sent. */
  delivery?: Delivery;
  /** For a prompt being checked: its text, to put back into the message box if it is not sent. */
  draft?: string;
  /** The text that was put back into the message box. */
  restored?: string;
}

const DELIVERY_TEXT: Record<Delivery, string> = {
  checking: 'Checking before sending…',
  sent: 'Sent',
  blocked: 'Not sent: the guard blocked it',
  failed: 'Not sent: it could not be checked',
};

let instances = 0;

class DemoApp {
  private readonly messages: ChatMessage[] = [];
  private readonly log: LogEntry[] = [];
  private readonly panel: ModelPanelState;
  private readonly prefix = `demo${++instances}-`;
  private readonly unsubscribe: Array<() => void> = [];
  private logSeq = 0;
  private disposed = false;

  constructor(
    private readonly root: HTMLElement,
    private readonly options: DemoOptions,
  ) {
    const guard = options.guard;
    this.panel = { choice: options.model ?? defaultChoice(), status: guard.state === 'ready' ? 'ready' : guard.state === 'failed' ? 'failed' : 'loading' };
    this.unsubscribe.push(
      guard.on('progress', (progress) => {
        // Progress reports travel on their own channel and can arrive just after 'ready': trust the state.
        if (guard.state === 'loading') this.update(() => Object.assign(this.panel, { status: 'loading', progress }));
      }),
      guard.on('ready', (info) => this.onReady(info)),
      guard.on('error', (error) => this.onGuardError(error)),
    );
    // The state before we subscribed: an earlier load may already have finished or failed.
    guard.ready.then(
      (info) => this.onReady(info),
      (error: AegisError) => this.onGuardError(error),
    );
    void probeGpu().then((gpu) => this.update(() => (this.panel.gpu = gpu)));
    root.classList.add('aegis-demo');
    // Lit renders beside existing children: drop the page's static "Loading the demo…" first.
    root.replaceChildren();
    this.render();
  }

  dispose(): void {
    this.disposed = true;
    for (const off of this.unsubscribe) off();
    render(nothing, this.root);
  }

  private update(change: () => void): void {
    if (this.disposed) return;
    change();
    this.render();
  }

  private onReady(info: ModelInfo): void {
    this.update(() => Object.assign(this.panel, { status: 'ready', info, error: undefined, progress: undefined }));
  }

  private onGuardError(error: AegisError): void {
    // Only a failed load leaves the guard without a model; other errors belong to single checks.
    if (this.options.guard.state !== 'failed') return;
    this.update(() => Object.assign(this.panel, { status: 'failed', error, info: undefined, progress: undefined }));
  }

  private chooseModel(choice: ModelChoice): void {
    this.options.onModelChosen?.(choice);
    this.update(() => Object.assign(this.panel, { choice, status: 'loading', progress: undefined, info: undefined, error: undefined }));
    this.options.guard.reload(toModelOption(choice) as ModelOption).catch(() => {
      // Reported through the guard's 'error' event.
    });
  }

  private async storeFolder(list: FileList): Promise<void> {
    this.update(() => Object.assign(this.panel, { storeError: undefined }));
    try {
      const { name, files } = filesFromInput(list);
      const plan = await planLocalModel(name, files);
      const gpu = this.panel.gpu;
      if (plan.variant === 'q4f16_1' && gpu?.ok && !gpu.report.shaderF16) {
        // Storing gigabytes this GPU cannot run helps no one: say so before anything is written.
        throw new LocalModelError(
          'This folder holds the `q4f16_1` build, which needs the WebGPU feature `shader-f16`, and this GPU has none. Pick a `q4f32_1` build (`build-model --quantization q4f32_1`).',
        );
      }
      const stored = await storeLocalModel(plan, this.options.pageUrl ?? document.baseURI, (storing) => this.update(() => (this.panel.storing = storing)));
      this.update(() => (this.panel.storing = undefined));
      this.chooseModel({ kind: 'local', name, variant: plan.variant, bytes: plan.totalBytes, ...stored });
    } catch (error) {
      const message = error instanceof LocalModelError ? error.message : `Storing the folder failed: ${String(error)}`;
      this.update(() => Object.assign(this.panel, { storing: undefined, storeError: message }));
    }
  }

  private async forgetFolder(): Promise<void> {
    const choice = this.panel.choice;
    if (choice.kind !== 'local') return;
    await forgetLocalModel(choice.weightsUrl);
    this.chooseModel(defaultChoice());
  }

  /** The prompt a new reply answers: the last prompt, if it was sent. */
  private replyTarget(): ChatMessage | undefined {
    const last = [...this.messages].reverse().find((m) => m.role === 'user');
    return last?.delivery === 'sent' ? last : undefined;
  }

  private addMessage(message: Omit<ChatMessage, 'n' | 'id'>): void {
    const n = this.messages.length + 1;
    this.update(() => this.messages.push({ ...message, n, id: `${this.prefix}m${n}` }));
    // Bring the new message into view (it renders in the next frame).
    requestAnimationFrame(() => this.root.querySelector(`#${this.prefix}m${n}`)?.scrollIntoView({ block: 'nearest' }));
  }

  private sendPrompt(form: HTMLFormElement): void {
    const field = form.elements.namedItem('prompt') as HTMLTextAreaElement;
    const text = field.value.trim();
    if (!text) return;
    // The box empties as the message goes out; if it is not sent (blocked, or not checkable) it comes back.
    field.value = '';
    this.addMessage({ role: 'user', text, delivery: 'checking', draft: text });
  }

  private promptField(): HTMLTextAreaElement | null {
    return this.root.querySelector<HTMLTextAreaElement>('form.prompt textarea[name="prompt"]');
  }

  /** A prompt that was not sent goes back into the message box, unless something new was typed there. */
  private restoreDraft(message: ChatMessage): void {
    const field = this.promptField();
    if (!field || message.draft === undefined) return;
    if (field.value.trim() === '') {
      field.value = message.draft;
      message.restored = message.draft;
    }
    message.draft = undefined;
  }

  /** A prompt sent after all (it was judged again once the model loaded) leaves the box it was put back into. */
  private clearRestored(message: ChatMessage): void {
    const field = this.promptField();
    if (field && message.restored !== undefined && field.value === message.restored) field.value = '';
    message.draft = message.restored = undefined;
  }

  private addReply(form: HTMLFormElement): void {
    const target = this.replyTarget();
    const field = form.elements.namedItem('reply') as HTMLTextAreaElement;
    const text = field.value.trim();
    if (!target || !text) return;
    field.value = '';
    this.addMessage({ role: 'assistant', text, forId: target.id });
  }

  private streamCanned(form: HTMLFormElement): void {
    const target = this.replyTarget();
    const select = form.elements.namedItem('canned') as HTMLSelectElement;
    const reply = CANNED_REPLIES.find((r) => r.id === select.value);
    if (!target || !reply) return;
    this.addMessage({ role: 'assistant', stream: streamWords(reply.text, this.options.wordDelayMs ?? 60), forId: target.id });
  }

  private messageOf(event: Event): ChatMessage | undefined {
    const id = (event.target as Element | null)?.id;
    return this.messages.find((m) => m.id === id);
  }

  private setDelivery(message: ChatMessage | undefined, delivery: Delivery): void {
    if (message?.role !== 'user' || message.delivery === delivery) return;
    this.update(() => (message.delivery = delivery));
    if (delivery === 'sent') this.clearRestored(message);
    else if (delivery === 'blocked' || delivery === 'failed') this.restoreDraft(message);
  }

  private onVerdict(event: AegisVerdictEvent): void {
    const message = this.messageOf(event);
    if (!message) return;
    const { verdict, chunk } = event.detail;
    this.update(() => this.log.push({ seq: ++this.logSeq, message: message.n, role: message.role, verdict, ...(chunk ? { chunk } : {}) }));
    if (verdict.safe) this.setDelivery(message, 'sent');
  }

  private onBlock(event: AegisBlockEvent): void {
    this.setDelivery(this.messageOf(event), 'blocked');
  }

  private onError(event: AegisErrorEvent): void {
    const message = this.messageOf(event);
    if (!message) return;
    // Errors without a verdict (bad input, cancelled stream) get their own log line.
    if (!event.detail.verdict) this.update(() => this.log.push({ seq: ++this.logSeq, message: message.n, role: message.role, error: event.detail.error }));
    this.setDelivery(message, 'failed');
  }

  private messageView(m: ChatMessage): TemplateResult {
    return html`<li class="message ${m.role}">
      <div class="who">${m.role === 'user' ? 'You' : 'Assistant'} <span class="muted">#${m.n}</span></div>
      <aegis-guard
        id=${m.id}
        role=${m.role}
        label=${m.role === 'user' ? `Your message #${m.n}` : `Reply #${m.n}`}
        for=${m.forId ?? nothing}
        badge
        .guard=${this.options.guard}
        .text=${m.text}
        .stream=${m.stream}
        .streamOptions=${{ chunkTokens: 24, contextTokens: 12 }}
      ></aegis-guard>
      ${m.delivery ? html`<div class="delivery ${m.delivery}">${DELIVERY_TEXT[m.delivery]}</div>` : nothing}
    </li>`;
  }

  private chatView(): TemplateResult {
    const target = this.replyTarget();
    const lastPrompt = [...this.messages].reverse().find((m) => m.role === 'user');
    const replyLegend = target
      ? `Assistant reply to #${target.n}`
      : lastPrompt?.delivery === 'checking'
        ? `Assistant reply (waiting for #${lastPrompt.n} to be checked)`
        : lastPrompt
          ? 'Assistant reply (the last message was not sent)'
          : 'Assistant reply (send a message first)';
    return html`<section class="chat" aria-labelledby="chat-title">
      <h2 id="chat-title">Chat</h2>
      ${this.messages.length === 0
        ? html`<p class="muted empty">No messages yet. Type one below: it is judged on this device before it is sent.</p>`
        : nothing}
      <ol
        class="messages"
        @aegis-verdict=${(e: AegisVerdictEvent) => this.onVerdict(e)}
        @aegis-block=${(e: AegisBlockEvent) => this.onBlock(e)}
        @aegis-error=${(e: AegisErrorEvent) => this.onError(e)}
      >
        ${this.messages.map((m) => this.messageView(m))}
      </ol>
      <form
        class="composer prompt"
        @submit=${(e: SubmitEvent) => {
          e.preventDefault();
          this.sendPrompt(e.currentTarget as HTMLFormElement);
        }}
      >
        <label for=${`${this.prefix}prompt`}>Your message <span class="muted">(checked before it is sent)</span></label>
        <textarea
          id=${`${this.prefix}prompt`}
          name="prompt"
          rows="2"
          @keydown=${(e: KeyboardEvent) => {
            if (e.key === 'Enter' && !e.shiftKey) {
              e.preventDefault();
              (e.currentTarget as HTMLTextAreaElement).form?.requestSubmit();
            }
          }}
        ></textarea>
        <button type="submit">Send</button>
      </form>
      <form
        class="composer reply"
        @submit=${(e: SubmitEvent) => {
          e.preventDefault();
          this.addReply(e.currentTarget as HTMLFormElement);
        }}
      >
        <fieldset ?disabled=${!target}>
          <legend>${replyLegend}</legend>
          <label for=${`${this.prefix}reply`}>Type or paste a reply <span class="muted">(checked before it is shown)</span></label>
          <textarea id=${`${this.prefix}reply`} name="reply" rows="2"></textarea>
          <div class="row">
            <button type="submit">Add reply</button>
            <label for=${`${this.prefix}canned`}>or stream</label>
            <select id=${`${this.prefix}canned`} name="canned">
              ${CANNED_REPLIES.map((r) => html`<option value=${r.id}>${r.label}</option>`)}
            </select>
            <button type="button" @click=${(e: Event) => this.streamCanned((e.currentTarget as HTMLButtonElement).form!)}>Stream it</button>
          </div>
        </fieldset>
      </form>
    </section>`;
  }

  private render(): void {
    render(
      html`<header class="demo-header">
          <h1>aegis-guard</h1>
          <p>Every message is judged by AegisGuard 2.0 on this device, in the browser, before it is shown. Nothing is sent anywhere.</p>
        </header>
        <main class="demo-main">
          ${this.chatView()}
          <aside class="side">
            ${modelPanelView(this.panel, {
              loadUrl: (url) => this.chooseModel({ kind: 'url', url }),
              loadFolder: (files) => void this.storeFolder(files),
              forgetFolder: () => void this.forgetFolder(),
            })}
            ${verdictLogView(this.log)}
          </aside>
        </main>`,
      this.root,
    );
  }
}

/** Mounts the demo UI into `root`. */
export function mountDemo(root: HTMLElement, options: DemoOptions): DemoHandle {
  // Called, not only imported: a bundler keeps it whatever package.json's sideEffects says.
  defineAegisGuard();
  const app = new DemoApp(root, options);
  return { dispose: () => app.dispose() };
}

