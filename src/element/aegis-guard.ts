import { LitElement, html, nothing, type PropertyValues, type TemplateResult } from 'lit';
import { property, state } from 'lit/decorators.js';
import type { Guard, ModelOption } from '../client/types.js';
import { type AegisError, AegisInputError } from '../core/errors.js';
import type { CustomCategory, LoadProgress, ModelInfo, TextSpan, Verdict } from '../core/types.js';
import type { GuardStreamOptions, StreamSource } from '../stream/types.js';
import { aegisGuardStyles } from './aegis-guard.styles.js';
import { CheckController, type JudgedText } from './check-controller.js';
import { AegisBlockEvent } from './events/block.js';
import { AegisErrorEvent } from './events/error.js';
import { AegisProgressEvent } from './events/progress.js';
import { AegisReadyEvent } from './events/ready.js';
import { AegisVerdictEvent } from './events/verdict.js';
import { categoriesConverter } from './categories-attribute.js';
import { RECHECK_WHEN_READY_CODES, errorFromFailure, reasonFor, toAegisError } from './failure.js';
import { type AegisGuardLabels, defaultLabels, mergeLabels } from './labels.js';
import { type MessageInput, type MessageRole, checkRole, promptFromElement, visibleText } from './message-input.js';
import { inRenderSlot } from './render-scheduler.js';
import { unsafePieces } from './unsafe-pieces.js';

/** Where a message is in its life. `loading`, `checking` and `streaming` are in progress; the rest are settled. */
export type AegisGuardState = 'idle' | 'loading' | 'checking' | 'streaming' | 'allowed' | 'blocked' | 'error';

/** How an allowed message got through, for its badge. */
type AllowedHow = 'checked' | 'unchecked' | 'overridden';

const IN_PROGRESS = new Set<AegisGuardState>(['loading', 'checking', 'streaming']);
/** Properties whose change means the message must be judged again. */
const INPUT_PROPERTIES = ['role', 'prompt', 'htmlFor', 'text', 'stream', 'guard', 'model', 'categories', 'failMode', 'threshold'] as const;

function progressKey(p: LoadProgress | undefined): string {
  return p ? `${p.phase} ${Math.round(p.progress * 100)} ${Math.round((p.loadedBytes ?? 0) / 1e6)} ${p.totalBytes ?? ''}` : '';
}

/**
 * @summary Wraps one chat message and keeps it off the screen until the on-device safety model has judged it.
 *
 * @documentation README.md#the-aegis-guard-element
 * @status experimental
 * @since 0.1.0
 *
 * @slot - The message, when it is not given through the `text` property. Slotted content stays in the light
 *   DOM but is not rendered (no slot is assigned), so it is hidden from view, from find-in-page and from
 *   assistive technology until the message is allowed. Only its text is judged.
 *
 * @event {AegisVerdictEvent} aegis-verdict - Every verdict, before the element shows the outcome (one per checked chunk for a stream).
 * @event {AegisBlockEvent} aegis-block - The message was judged unsafe. Cancelable: `preventDefault()` lets it through.
 * @event {AegisErrorEvent} aegis-error - The message could not be judged; it stays hidden (fail closed).
 * @event {AegisProgressEvent} aegis-progress - Model download/initialisation progress while this message waits for it.
 * @event {AegisReadyEvent} aegis-ready - The element's guard has its model loaded.
 *
 * @csspart base - The wrapper of everything the element renders.
 * @csspart content - The message, once allowed (or shown anyway).
 * @csspart unsafe-span - In a long message shown although unsafe, each stretch the guard found unsafe (a `<mark>`).
 * @csspart badge - The small "Checked" badge of an allowed message (with the `badge` attribute).
 * @csspart status - The loading/checking box.
 * @csspart progress - The progress bar's track (loading state).
 * @csspart progress-indicator - The progress bar's filled part.
 * @csspart progress-label - The percent and downloaded/total bytes line.
 * @csspart placeholder - The blocked placeholder.
 * @csspart placeholder-message - The sentence naming the violated categories in plain words.
 * @csspart reveal-button - The "Show anyway" button.
 * @csspart revealed-notice - The note above a message shown anyway, with the "Hide" button.
 * @csspart hide-button - The "Hide" button of a message shown anyway.
 * @csspart error - The fail-closed error placeholder.
 * @csspart error-reason - The plain-words reason inside the error placeholder.
 * @csspart error-details - The disclosure with the error's technical message.
 * @csspart retry-button - The "Retry" button.
 *
 * @cssproperty [--aegis-guard-muted-color=light-dark(#4b5563, #b4bcc8)] - Text colour of placeholders.
 * @cssproperty [--aegis-guard-placeholder-background=light-dark(#f3f4f6, #22262c)] - Background of placeholders.
 * @cssproperty [--aegis-guard-placeholder-border=light-dark(#d1d5db, #3b424c)] - Border of placeholders.
 * @cssproperty [--aegis-guard-blocked-accent=light-dark(#b42318, #f97066)] - Accent of the blocked placeholder.
 * @cssproperty [--aegis-guard-error-accent=light-dark(#9a3412, #fdba74)] - Accent of the error placeholder and warning badges.
 * @cssproperty [--aegis-guard-unsafe-highlight=light-dark(#fee4e2, #55160c)] - Background of the unsafe stretches of a long message shown anyway.
 * @cssproperty [--aegis-guard-allowed-accent=light-dark(#067647, #6ce9a6)] - Colour of the "Checked" badge.
 * @cssproperty [--aegis-guard-progress-color=light-dark(#1d4ed8, #60a5fa)] - Progress bar and spinner colour.
 * @cssproperty [--aegis-guard-progress-track=light-dark(#e5e7eb, #374151)] - Progress bar track colour.
 * @cssproperty [--aegis-guard-focus-ring=light-dark(#1d4ed8, #93c5fd)] - Focus outline of the buttons.
 * @cssproperty [--aegis-guard-border-radius=0.5rem] - Corner radius of placeholders.
 * @cssproperty [--aegis-guard-spacing=0.5rem] - Inner spacing of placeholders.
 *
 * @cssstate idle - Nothing to judge (no text yet).
 * @cssstate loading - Waiting for the model to load.
 * @cssstate checking - Being judged.
 * @cssstate streaming - A streamed reply: released text shown, the rest being judged.
 * @cssstate allowed - Judged safe and shown.
 * @cssstate blocked - Judged unsafe and hidden.
 * @cssstate error - Could not be judged; hidden.
 */
export class AegisGuardElement extends LitElement {
  static override styles = aegisGuardStyles;

  /**
   * Whose message this is: `user` (the prompt is judged) or `assistant` (the reply is judged, in the light of
   * the prompt it answers). Note that this shadows the ARIA `role` attribute; browsers ignore these two
   * values as ARIA roles.
   */
  @property() override role: MessageRole = 'user';

  /** For an assistant message: the user prompt it answers. */
  @property() prompt?: string;

  /** For an assistant message: the id of the element (usually the user's `<aegis-guard>`) holding the prompt it answers. */
  @property({ attribute: 'for' }) htmlFor?: string;

  /**
   * The message as plain text. It is rendered as text (never parsed as HTML) and enters the DOM only once
   * allowed. Takes precedence over slotted content. Property only: an attribute would put it in the DOM.
   */
  @property({ attribute: false }) text?: string;

  /**
   * An assistant reply as a stream of text deltas (async iterable or ReadableStream). Text is shown as the
   * stream guard releases it; a blocked chunk hides the reply. While set, `text` and slotted content are
   * ignored. A stream can be read once.
   */
  @property({ attribute: false }) stream?: StreamSource;

  /** Options for the stream guard (`chunkTokens`, `contextTokens`, `release`), read when a stream starts. */
  @property({ attribute: false }) streamOptions?: Omit<GuardStreamOptions, 'signal'>;

  /** Which model the shared guard loads (an id or the URL of a model folder). Ignored when `guard` is set. */
  @property() model?: ModelOption;

  /** Custom categories: comma-separated names, or a JSON array of `{name, description}`. Ignored when `guard` is set. */
  @property({ converter: categoriesConverter }) categories?: CustomCategory[];

  /** `closed` (default): a failed check hides the message. `open`: it is shown, badged "Not checked". Ignored when `guard` is set. */
  @property({ attribute: 'fail-mode' }) failMode?: 'closed' | 'open';

  /** P(unsafe) at or above which the message is blocked, when the engine reports it. Ignored when `guard` is set. */
  @property({ type: Number }) threshold?: number;

  /** An explicit guard. Default: the page-wide guard shared by every element with the same model options. */
  @property({ attribute: false }) guard?: Guard;

  /** Removes the "Show anyway" control from blocked messages. */
  @property({ type: Boolean, attribute: 'no-reveal' }) noReveal = false;

  /** Shows a small "Checked" badge on allowed messages. */
  @property({ type: Boolean }) badge = false;

  /**
   * For long histories: the message is judged only once it comes near the viewport, and while off-screen the
   * browser skips its rendering (`content-visibility: auto`, estimated at 3em tall until first shown).
   */
  @property({ type: Boolean, reflect: true }) lazy = false;

  /**
   * What is announced to screen readers (politely): `all` verdicts, only `problems` (blocked and failed
   * messages; good for long histories), or `none`.
   */
  @property() announce: 'all' | 'problems' | 'none' = 'all';

  /** Replacement labels for this element (see `setDefaultLabels` for the whole page). */
  @property({ attribute: false }) labels?: Partial<AegisGuardLabels>;

  /**
   * What this message is called in its placeholders and announcements, e.g. "Message 3" or "Reply to message
   * 2" ("This message is hidden…" by default), so that placeholders side by side say which message each is.
   */
  @property() label?: string;

  @state() private current: AegisGuardState = 'idle';
  @state() private progress?: LoadProgress;
  @state() private lastVerdict?: Verdict;
  @state() private lastError?: AegisError;
  @state() private failureCode?: string;
  @state() private shown?: JudgedText;
  @state() private streamed = '';
  @state() private revealed = false;
  @state() private allowedHow: AllowedHow = 'checked';
  @state() private announcement = '';

  private readonly internals = this.attachInternals();
  private readonly checks = new CheckController(this, {
    readInput: () => this.readInput(),
    nothingToJudge: () => {
      this.current = 'idle';
    },
    started: (phase, progress) => {
      this.current = phase;
      if (phase === 'loading') this.progress = progress;
    },
    streamed: (released) => {
      this.streamed = released;
      if (released) this.current = 'streaming';
    },
    verdict: (verdict, chunk) => this.emit(new AegisVerdictEvent(chunk ? { verdict, target: 'response', chunk } : { verdict, target: verdict.target })),
    settled: (verdict, judged, allowedByGuard, isCurrent) => this.settle(verdict, judged, allowedByGuard, isCurrent),
    failed: (error, verdict, code) => this.fail(error, verdict, code),
    progress: (progress) => this.onProgress(progress),
    ready: (info, first) => this.onReady(info, first),
  });
  private mutations?: MutationObserver;
  private reflected?: AegisGuardState;
  private merged?: { base: AegisGuardLabels; own: Partial<AegisGuardLabels> | undefined; labels: AegisGuardLabels };

  /** Where the message is: idle, loading, checking, streaming, allowed, blocked or error. Also the `state` attribute and `:state()`. */
  get state(): AegisGuardState {
    return this.current;
  }

  /** The last verdict (for a stream: of the last chunk checked). */
  get verdict(): Verdict | undefined {
    return this.lastVerdict;
  }

  /** Why the message could not be judged, in the error state. */
  get error(): AegisError | undefined {
    return this.lastError;
  }

  /** The text this element judges: `text`, else the slotted content's text. */
  get messageText(): string {
    return this.text ?? visibleText(this);
  }

  /** Judges the message again (e.g. after the page changed the guard's model). */
  recheck(): void {
    this.invalidate();
  }

  /** Error state: loads the model again if that is what failed, then judges the message again. */
  retry(): void {
    this.checks.reloadFailedGuard();
    this.invalidate();
  }

  /** Blocked state: shows the message anyway (unless `no-reveal`). */
  reveal(): void {
    if (this.current !== 'blocked' || this.noReveal) return;
    this.revealed = true;
    this.flush();
  }

  /** Hides a message shown anyway again. */
  conceal(): void {
    this.revealed = false;
    this.flush();
  }

  override connectedCallback(): void {
    super.connectedCallback();
    this.mutations ??= new MutationObserver(() => {
      if (this.text !== undefined || this.stream !== undefined) return;
      const wasShowingSlot = this.shown?.from === 'slot';
      this.invalidate();
      // The changed content is live in the slot: take the slot away before the browser can paint it.
      if (wasShowingSlot) this.flush();
    });
    this.mutations.observe(this, { childList: true, subtree: true, characterData: true });
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    this.mutations?.disconnect();
  }

  /** The check controller starts a run right after this (its hostUpdate), before render. */
  protected override willUpdate(changed: PropertyValues<this>): void {
    if (INPUT_PROPERTIES.some((name) => changed.has(name))) this.reset();
  }

  protected override updated(changed: PropertyValues<this>): void {
    if (changed.has('current' as keyof AegisGuardElement)) this.reflectState();
  }

  /** Renders wait for a slot in an upcoming frame (see render-scheduler.ts), so hundreds of messages never render at once. */
  protected override scheduleUpdate(): Promise<void> {
    return new Promise<void>((resolve, reject) =>
      inRenderSlot(() => {
        try {
          super.scheduleUpdate();
          resolve();
        } catch (error) {
          reject(error);
        }
      }),
    );
  }

  /** Applies a pending update now: for changes that hide content, which must not wait for a frame. */
  private flush(): void {
    if (this.isUpdatePending) this.performUpdate();
  }

  /** Forget the outcome; the message is judged again on the next update. */
  private invalidate(): void {
    this.reset();
    this.requestUpdate();
  }

  private reset(): void {
    this.checks.restart();
    this.current = 'idle';
    this.progress = undefined;
    this.lastVerdict = undefined;
    this.lastError = undefined;
    this.failureCode = undefined;
    this.shown = undefined;
    this.streamed = '';
    this.revealed = false;
    this.allowedHow = 'checked';
    this.announcement = '';
  }

  private readInput(): MessageInput {
    const role = checkRole(this.role);
    if (this.stream !== undefined) {
      if (role !== 'assistant') throw new AegisInputError('A stream can only be given to an assistant message (role="assistant").');
      if (this.checks.hasRead(this.stream)) {
        throw new AegisInputError('This reply stream was already read; give the element a new stream, or the full reply as `text`.');
      }
      return { kind: 'stream', prompt: this.promptText(), source: this.stream };
    }
    const from = this.text !== undefined ? 'text' : 'slot';
    const text = this.messageText;
    if (text.trim() === '') return { kind: 'none' };
    return { kind: 'message', role, text, prompt: role === 'assistant' ? this.promptText() : '', from };
  }

  private promptText(): string {
    if (this.prompt !== undefined) return this.prompt;
    if (this.htmlFor) return promptFromElement(this, this.htmlFor);
    return '';
  }

  /** A verdict (or a stream's end) decides what is shown. `allowedByGuard` is the guard's decision. */
  private settle(verdict: Verdict | undefined, shown: JudgedText, allowedByGuard: boolean, isCurrent: () => boolean): void {
    if (verdict) this.lastVerdict = verdict;
    if (allowedByGuard) {
      this.allow(shown, verdict?.source === 'failure' ? 'unchecked' : 'checked');
      return;
    }
    if (verdict?.source === 'failure') {
      this.fail(verdict.failure ? errorFromFailure(verdict.failure) : toAegisError('The check failed.'), verdict, verdict.failure?.code);
      return;
    }
    const block = new AegisBlockEvent({ verdict: verdict!, target: verdict?.target ?? 'response', categories: verdict?.categories ?? [] });
    this.emit(block);
    // A listener may have changed the message while handling the event.
    if (!isCurrent()) return;
    if (block.defaultPrevented) {
      this.allow(shown, 'overridden');
      return;
    }
    this.shown = shown;
    this.current = 'blocked';
    this.announceIf('problems', this.labelSet().announceBlocked(this.categoryWords(), this.label || undefined));
  }

  private allow(shown: JudgedText, how: AllowedHow): void {
    this.shown = shown;
    this.allowedHow = how;
    this.current = 'allowed';
    this.announceIf('all', this.labelSet().announceAllowed);
  }

  private fail(error: AegisError, verdict?: Verdict, code: string = error.code): void {
    this.lastError = error;
    this.failureCode = code;
    this.current = 'error';
    this.announceIf('problems', this.labelSet().announceError(this.reason(), this.label || undefined));
    this.emit(new AegisErrorEvent(verdict ? { error, verdict } : { error }));
  }

  /** Dispatches one of the element's event objects (a helper, so the manifest lists only the documented events). */
  private emit(event: Event): boolean {
    return this.dispatchEvent(event);
  }

  private announceIf(level: 'all' | 'problems', text: string): void {
    if (this.announce === 'none' || (this.announce === 'problems' && level === 'all')) return;
    this.announcement = text;
  }

  private onProgress(progress: LoadProgress): void {
    if (this.current !== 'loading') return;
    // Re-render only when what is shown changes (whole percents, phase, bytes line).
    if (progressKey(progress) !== progressKey(this.progress)) this.progress = progress;
    this.emit(new AegisProgressEvent({ progress }));
  }

  private onReady(info: ModelInfo, first: boolean): void {
    if (first) this.emit(new AegisReadyEvent({ info }));
    if (this.current === 'loading') this.current = 'checking';
    // A message that failed because the model was missing gets its chance once the model is there.
    if (this.current === 'error' && this.checks.kind !== 'stream' && RECHECK_WHEN_READY_CODES.has(this.failureCode ?? '')) this.invalidate();
  }

  private reflectState(): void {
    const s = this.current;
    this.setAttribute('state', s);
    const states = (this.internals as ElementInternals & { states?: Set<string> }).states;
    if (!states) return;
    try {
      if (this.reflected) states.delete(this.reflected);
      states.add(s);
      this.reflected = s;
    } catch {
      // Browsers before CustomStateSet accepted plain names; the `state` attribute still works there.
    }
  }

  /** The labels in force, merged once per change of the page defaults or of `labels` (renders ask often). */
  private labelSet(): AegisGuardLabels {
    const base = defaultLabels();
    if (this.merged?.base !== base || this.merged.own !== this.labels) {
      this.merged = { base, own: this.labels, labels: mergeLabels(base, this.labels) };
    }
    return this.merged.labels;
  }

  private categoryWords(): string[] {
    const names = this.labelSet().categoryNames;
    const words = (this.lastVerdict?.categories ?? []).map((c) => (c.code && names[c.code]) || c.name);
    return [...new Set(words)];
  }

  private reason(): string {
    return reasonFor(this.failureCode ?? this.lastError?.code ?? 'engine-failed', this.lastError?.message ?? '', this.labelSet());
  }

  protected override render(): TemplateResult {
    const labels = this.labelSet();
    const busy = IN_PROGRESS.has(this.current);
    return html`
      <div part="base" aria-busy=${busy ? 'true' : 'false'}>${this.renderState(labels)}</div>
      <div class="visually-hidden" role="status" aria-live="polite" aria-atomic="true">${this.announcement}</div>
    `;
  }

  private renderState(labels: AegisGuardLabels): TemplateResult | typeof nothing {
    switch (this.current) {
      case 'idle':
        return nothing;
      case 'loading':
        return this.renderLoading(labels);
      case 'checking':
        return html`<div part="status">
          <div class="status-line"><span class="indicator" aria-hidden="true"></span>${this.role === 'assistant' ? labels.checkingReply : labels.checkingPrompt}</div>
        </div>`;
      case 'streaming':
        return html`<div part="content" class="text">${this.streamed}</div>
          <div class="streaming-note"><span class="indicator" aria-hidden="true"></span>${labels.streaming}</div>`;
      case 'allowed':
        return html`${this.renderContent()}${this.badge ? this.renderBadge(labels) : nothing}`;
      case 'blocked':
        return this.revealed ? this.renderRevealed(labels) : this.renderBlocked(labels);
      case 'error':
        return this.renderError(labels);
    }
  }

  private renderLoading(labels: AegisGuardLabels): TemplateResult {
    const p = this.progress;
    // Joined mid-load with no report yet: an indeterminate bar (no value) rather than a made-up 0%.
    if (!p) {
      return html`<div part="status">
        <div class="status-line"><span class="indicator" aria-hidden="true"></span>${labels.loading}</div>
        <div part="progress" role="progressbar" aria-label=${labels.progressBar}><div part="progress-indicator" class="indeterminate"></div></div>
      </div>`;
    }
    const percent = Math.round(Math.min(1, Math.max(0, p.progress)) * 100);
    const bytes = p.loadedBytes !== undefined && p.totalBytes ? { loaded: labels.bytes(p.loadedBytes, labels.locale), total: labels.bytes(p.totalBytes, labels.locale) } : {};
    const line = labels.loadingProgress({ percent, phase: p.phase, ...bytes });
    return html`<div part="status">
      <div class="status-line"><span class="indicator" aria-hidden="true"></span>${labels.loading}</div>
      <div part="progress" role="progressbar" aria-label=${labels.progressBar} aria-valuemin="0" aria-valuemax="100" aria-valuenow=${percent} aria-valuetext=${line}>
        <div part="progress-indicator" style="inline-size: ${percent}%"></div>
      </div>
      <div part="progress-label">${line}</div>
    </div>`;
  }

  /** The judged message: the snapshot as text, or the slot (only ever rendered in this method). */
  private renderContent(): TemplateResult | typeof nothing {
    const shown = this.shown;
    if (!shown) return nothing;
    if (shown.from === 'slot') return html`<div part="content"><slot></slot></div>`;
    const spans = this.pointedSpans();
    if (!spans) return html`<div part="content" class="text">${shown.text}</div>`;
    // Each piece is a text binding: marked or not, the message is never parsed as HTML.
    const pieces = unsafePieces(shown.text, spans).map((p) => (p.unsafe ? html`<mark part="unsafe-span">${p.text}</mark>` : p.text));
    return html`<div part="content" class="text">${pieces}</div>`;
  }

  /**
   * The spans of a long message that were found unsafe, when it is shown although unsafe (shown anyway, or its
   * block vetoed). A message judged in one window has its whole text as the span: nothing to point at.
   */
  private pointedSpans(): readonly TextSpan[] | undefined {
    const verdict = this.lastVerdict;
    if (!verdict || verdict.safe || verdict.source === 'failure' || (verdict.windows ?? 1) < 2) return undefined;
    return verdict.unsafeSpans?.length ? verdict.unsafeSpans : undefined;
  }

  private renderBadge(labels: AegisGuardLabels): TemplateResult {
    const text = this.allowedHow === 'unchecked' ? labels.badgeUnchecked : this.allowedHow === 'overridden' ? labels.badgeOverridden : labels.badgeAllowed;
    return html`<span part="badge" class=${this.allowedHow}>${text}</span>`;
  }

  private renderBlocked(labels: AegisGuardLabels): TemplateResult {
    const words = this.categoryWords();
    return html`<div part="placeholder">
      <p class="message"><span part="placeholder-message">${labels.blocked(words, this.label || undefined)}</span></p>
      ${this.noReveal
        ? nothing
        : html`<div class="actions"><button part="reveal-button" type="button" @click=${this.reveal}>${labels.showAnyway}</button></div>`}
    </div>`;
  }

  private renderRevealed(labels: AegisGuardLabels): TemplateResult {
    return html`<div part="revealed-notice">
        <span>${labels.revealedNotice(this.categoryWords())}</span>
        <button part="hide-button" type="button" @click=${this.conceal}>${labels.hideAgain}</button>
      </div>
      ${this.renderContent()}`;
  }

  private renderError(labels: AegisGuardLabels): TemplateResult {
    const canRetry = this.checks.kind !== 'stream';
    return html`<div part="error">
      <p class="message"><span part="error-reason">${labels.error(this.reason(), this.label || undefined)}</span></p>
      ${canRetry ? html`<div class="actions"><button part="retry-button" type="button" @click=${this.retry}>${labels.retry}</button></div>` : nothing}
      ${this.lastError?.message
        ? html`<details part="error-details"><summary>${labels.errorDetails}</summary><code>${this.lastError.message}</code></details>`
        : nothing}
    </div>`;
  }
}
