/**
 * Paces `<aegis-guard>` renders across animation frames. A chat history of hundreds of messages would
 * otherwise render (and style, and lay out) every message in one frame — one long main-thread task — and
 * verdicts that arrive in a burst would do the same. Each frame runs a batch of element updates and stops
 * early once BUDGET_MS of script has run; the rest wait for the next frame. The batch adapts to the machine:
 * it halves after a frame that took too long (script plus the style and layout it caused, measured from
 * one frame to the next) and grows slowly while frames are short. Updates that hide content never wait
 * (the element flushes those itself).
 */
type Job = () => void;

const MIN_BATCH = 4;
const MAX_BATCH = 64;
const BUDGET_MS = 6;
/** A frame longer than this (while draining back to back) means the last batch cost too much. */
const LONG_FRAME_MS = 40;
/** Hidden tabs never fire requestAnimationFrame; work still has to finish there. */
const HIDDEN_TAB_FALLBACK_MS = 100;

const queue: Job[] = [];
let scheduled = false;
let batch = 16;
/** When the previous drain ran, if the queue was still busy then. */
let lastDrain: number | undefined;

function onNextFrame(callback: () => void): void {
  let done = false;
  const run = () => {
    if (done) return;
    done = true;
    callback();
  };
  if (typeof requestAnimationFrame === 'function') requestAnimationFrame(run);
  setTimeout(run, HIDDEN_TAB_FALLBACK_MS);
}

function drain(): void {
  scheduled = false;
  const start = performance.now();
  if (lastDrain !== undefined) {
    const frame = start - lastDrain;
    batch = frame > LONG_FRAME_MS ? Math.max(MIN_BATCH, Math.floor(batch / 2)) : Math.min(MAX_BATCH, batch + 2);
  }
  let count = 0;
  while (queue.length > 0 && count < batch && (count === 0 || performance.now() - start < BUDGET_MS)) {
    const job = queue.shift()!;
    count++;
    try {
      job();
    } catch (error) {
      // One element's failure must not stall the others; report it where it happened.
      queueMicrotask(() => {
        throw error;
      });
    }
  }
  lastDrain = queue.length > 0 ? start : undefined;
  schedule();
}

function schedule(): void {
  if (scheduled || queue.length === 0) return;
  scheduled = true;
  onNextFrame(drain);
}

/** Runs `job` in an upcoming frame, in the order asked. */
export function inRenderSlot(job: Job): void {
  queue.push(job);
  schedule();
}
