/**
 * Runs the checks of one `<aegis-guard>` (a Lit reactive controller): it chooses the guard, starts a run
 * when the message needs judging, and cancels it when the message changes or the element leaves the page.
 * Like @lit/task, each run has its own AbortController and a run that is no longer current reports nothing.
 * What the outcome means for the page (what is shown, which events fire, what is announced) is the element's.
 */
import type { ReactiveController, ReactiveControllerHost } from 'lit';
import type { Guard, ModelOption } from '../client/types.js';
import { AegisAbortError, type AegisError } from '../core/errors.js';
import type { CustomCategory, LoadProgress, ModelInfo, Verdict } from '../core/types.js';
import type { GuardStreamOptions, StreamSource } from '../stream/types.js';
import { toAegisError } from './failure.js';
import type { MessageInput } from './message-input.js';
import { latestProgress, sharedGuard, trackProgress } from './shared-guard.js';
import { runStream } from './stream-run.js';
import { stopWaiting, whenNearViewport } from './visibility.js';

/** The text a run judged, kept to show once allowed (never the live property, which may have changed). */
export interface JudgedText {
  text: string;
  from: 'text' | 'slot' | 'stream';
}

/** The element properties a run reads. */
export interface CheckHost extends ReactiveControllerHost, HTMLElement {
  guard?: Guard;
  model?: ModelOption;
  categories?: CustomCategory[];
  failMode?: 'closed' | 'open';
  threshold?: number;
  lazy: boolean;
  streamOptions?: Omit<GuardStreamOptions, 'signal'>;
}

/** What the controller tells the element. Nothing is reported for a run once it is no longer current. */
export interface CheckCallbacks {
  /** What to judge now; throws `AegisInputError` for a message that cannot be judged. */
  readInput(): MessageInput;
  /** There is nothing to judge (no text). */
  nothingToJudge(): void;
  /** The run waits for the model (`loading`, with the latest known progress) or is being judged (`checking`). */
  started(phase: 'loading' | 'checking', progress?: LoadProgress): void;
  /** A stream run: everything released so far (not a delta). */
  streamed(released: string): void;
  /** A verdict: the message's, or one chunk's of a stream. */
  verdict(verdict: Verdict, chunk?: { start: number; end: number }): void;
  /** The run's outcome. `allowedByGuard` is the guard's decision; `isCurrent()` turns false once the message changes. */
  settled(verdict: Verdict | undefined, judged: JudgedText, allowedByGuard: boolean, isCurrent: () => boolean): void;
  /** The message could not be judged. `code` defaults to the error's. */
  failed(error: AegisError, verdict?: Verdict, code?: string): void;
  /** The attached guard's load progress. */
  progress(progress: LoadProgress): void;
  /** The attached guard has its model; `first` is false when this load was reported already. */
  ready(info: ModelInfo, first: boolean): void;
}

export class CheckController implements ReactiveController {
  private needsRun = true;
  private run?: AbortController;
  private lastKind?: MessageInput['kind'];
  /** Bumped whenever the message changes or a run is cancelled: results of older runs are dropped. */
  private generation = 0;
  private nearViewport = false;
  private consumedStream?: StreamSource;
  private attachedGuard?: Guard;
  private detachGuard?: () => void;
  private readyInfo?: ModelInfo;

  constructor(
    private readonly host: CheckHost,
    private readonly on: CheckCallbacks,
  ) {
    host.addController(this);
  }

  /** The kind of the last run started (`stream` runs cannot be retried: a stream is read once). */
  get kind(): MessageInput['kind'] | undefined {
    return this.lastKind;
  }

  /** Whether this stream was read by a run already. */
  hasRead(stream: StreamSource): boolean {
    return this.consumedStream === stream;
  }

  /** Cancels the run in progress, if any; the message is judged again on the next update. */
  restart(): void {
    this.cancel('changed');
    this.needsRun = true;
  }

  /** Loads the model again if that is what failed (for `retry()`). */
  reloadFailedGuard(): void {
    const guard = this.attachedGuard;
    if (guard?.state === 'failed') guard.reload().catch(() => undefined);
  }

  hostConnected(): void {
    if (this.attachedGuard) this.attach(this.attachedGuard);
    if (this.needsRun) this.host.requestUpdate();
  }

  hostDisconnected(): void {
    stopWaiting(this.host);
    // A move (remove + insert in one task) keeps its check; a real removal cancels it.
    queueMicrotask(() => {
      if (this.host.isConnected) return;
      this.cancel('detached');
      this.detachGuard?.();
      this.detachGuard = undefined;
    });
  }

  /** Started before render, not after: the state it reports goes into this render instead of forcing another. */
  hostUpdate(): void {
    if (this.needsRun && this.host.isConnected && !this.run) this.start();
  }

  private cancel(why: 'changed' | 'detached'): void {
    this.generation++;
    if (!this.run) return;
    this.run.abort(new AegisAbortError(why === 'changed' ? 'The message changed.' : 'The element was removed from the page.'));
    this.run = undefined;
    if (this.lastKind === 'stream' && why === 'detached') {
      // The stream was read part-way and cannot be read again.
      this.on.failed(new AegisAbortError('The reply stream was cancelled before it was fully checked.'), undefined, 'stream-cancelled');
    } else {
      // A run is only ever pending while the message is in progress: it is started again on the next update.
      this.needsRun = true;
    }
  }

  private start(): void {
    let input: MessageInput;
    try {
      input = this.on.readInput();
    } catch (error) {
      this.needsRun = false;
      this.on.failed(toAegisError(error));
      return;
    }
    if (input.kind === 'none') {
      this.needsRun = false;
      this.on.nothingToJudge();
      return;
    }
    this.on.started('checking');
    if (this.host.lazy && !this.nearViewport) {
      whenNearViewport(this.host, () => {
        this.nearViewport = true;
        if (this.needsRun && this.host.isConnected && !this.run) this.host.requestUpdate();
      });
      return;
    }
    this.needsRun = false;
    let guard: Guard;
    try {
      const { model, categories, failMode, threshold } = this.host;
      guard = this.host.guard ?? sharedGuard({ model, categories, failMode, threshold });
    } catch (error) {
      this.on.failed(toAegisError(error));
      return;
    }
    this.attach(guard);
    if (guard.state === 'idle' || guard.state === 'loading') this.on.started('loading', latestProgress(guard));
    const controller = new AbortController();
    this.run = controller;
    this.lastKind = input.kind;
    const generation = this.generation;
    const isCurrent = () => this.generation === generation && this.run === controller;
    const stillCurrent = () => this.generation === generation;
    if (input.kind === 'stream') {
      this.consumedStream = input.source;
      void runStream(guard, input.prompt, input.source, { ...this.host.streamOptions, signal: controller.signal }, {
        isCurrent,
        onText: (text) => this.on.streamed(text),
        onVerdict: (verdict, chunk) => this.on.verdict(verdict, chunk),
        onEnd: (end) => {
          this.run = undefined;
          if (stillCurrent()) this.on.settled(end.verdict, { text: end.text, from: 'stream' }, end.outcome === 'allowed', stillCurrent);
        },
        onError: (error) => {
          this.run = undefined;
          this.on.failed(toAegisError(error));
        },
      });
      return;
    }
    const check =
      input.role === 'user'
        ? guard.checkPrompt(input.text, { signal: controller.signal })
        : guard.checkResponse(input.prompt, input.text, { signal: controller.signal });
    check.then(
      (verdict) => {
        if (!isCurrent()) return;
        this.run = undefined;
        this.on.verdict(verdict);
        if (stillCurrent()) this.on.settled(verdict, { text: input.text, from: input.from }, verdict.safe, stillCurrent);
      },
      (error: unknown) => {
        if (!isCurrent()) return;
        this.run = undefined;
        this.on.failed(toAegisError(error));
      },
    );
  }

  private attach(guard: Guard): void {
    if (this.attachedGuard === guard && this.detachGuard) return;
    this.detachGuard?.();
    this.attachedGuard = guard;
    trackProgress(guard);
    const offProgress = guard.on('progress', (progress) => this.on.progress(progress));
    const offReady = guard.on('ready', (info) => this.onReady(guard, info));
    this.detachGuard = () => {
      offProgress();
      offReady();
    };
    if (guard.state === 'ready') guard.ready.then((info) => this.onReady(guard, info), () => undefined);
  }

  private onReady(guard: Guard, info: ModelInfo): void {
    if (this.attachedGuard !== guard || !this.host.isConnected) return;
    const first = this.readyInfo !== info;
    this.readyInfo = info;
    this.on.ready(info, first);
  }
}
