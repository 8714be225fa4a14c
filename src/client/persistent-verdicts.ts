/**
 * Verdicts kept on the device between visits, so a returning user's history is not judged again.
 *
 * The key of a verdict is SHA-256 over everything the verdict depends on: this origin's random salt, the
 * model's identity (model-identity.ts: model, variant, weights folder, library, digests of the weight index
 * and the chat config), the prompt format (a digest of the rendered template), the judging logic's version,
 * and the request itself (target, texts, custom categories, policy, wantCategories; `requestKey`). What is
 * stored under it is what the model said (verdict-store.ts), never the texts. Only model verdicts are
 * stored: a failure, a timeout or an unreadable answer is judged again next time.
 *
 * It lives on the page, not in the worker: a stored verdict is answered without waiting for the worker to
 * start (it loads WebLLM) or the model to load, and every option stays with the guard that set it.
 */
import { AegisAbortError, AegisInputError } from '../core/errors.js';
import { OUTPUT_LEAD } from '../core/parse.js';
import { decide, requestKey } from '../core/policy.js';
import { renderCheckPrompt } from '../core/prompt.js';
import type { TextSpan, Verdict, ViolatedCategory } from '../core/types.js';
import { untilAborted } from '../core/until-aborted.js';
import type { CheckRequest, ModelSource } from '../worker/protocol.js';
import { sha256Hex } from '../core/sha256.js';
import { modelIdentity } from './model-identity.js';
import { VerdictStore, type StoredVerdict } from './verdict-store.js';

/** The `persistentCache` option: `false` turns it off; an object sets its size. */
export interface PersistentCacheOptions {
  /** Verdicts kept on this device (least recently used ones go first). Default 10,000 (~2 MB). */
  maxEntries?: number;
}

export const DEFAULT_MAX_STORED_VERDICTS = 10_000;
/** The IndexedDB database every guard of an origin shares. */
export const VERDICT_DB_NAME = 'aegis-guard-verdicts';
/** Bump when the judges decide differently for the same model output (new parsing, new decoding). */
const JUDGING_VERSION = 'aegis-guard/judging/1';
/** How long the model's identity may take to establish before checks go ahead without the store. */
const IDENTITY_TIMEOUT_MS = 10_000;
const checkCancelled = () => new AegisAbortError('The check was cancelled.');

/** Validates the option; undefined when the store is off. Throws `AegisInputError` on a bad value. */
export function resolvePersistentCache(option: unknown): Required<PersistentCacheOptions> | undefined {
  if (option === false) return undefined;
  if (option === undefined || option === true) return { maxEntries: DEFAULT_MAX_STORED_VERDICTS };
  if (typeof option !== 'object' || option === null || Array.isArray(option)) {
    throw new AegisInputError('persistentCache must be true, false or { maxEntries }.');
  }
  const { maxEntries = DEFAULT_MAX_STORED_VERDICTS, ...rest } = option as Record<string, unknown>;
  const unknown = Object.keys(rest);
  if (unknown.length > 0) throw new AegisInputError(`Unknown persistentCache option(s): ${unknown.join(', ')}.`);
  if (typeof maxEntries !== 'number' || !Number.isInteger(maxEntries) || maxEntries < 1) {
    throw new AegisInputError(`persistentCache.maxEntries must be a positive integer; got ${String(maxEntries)}.`);
  }
  return { maxEntries };
}

let promptFormat: Promise<string> | undefined;
/** A digest of the template a check is rendered into: any change to the prompt gives new keys. */
function promptFormatDigest(): Promise<string> {
  promptFormat ??= sha256Hex(
    JSON.stringify([
      renderCheckPrompt({ user: '{USER}' }).text,
      renderCheckPrompt({ user: '{USER}', response: '{REPLY}' }).text,
      OUTPUT_LEAD,
      JUDGING_VERSION,
    ]),
  );
  return promptFormat;
}

const isCategory = (c: unknown): c is ViolatedCategory =>
  typeof c === 'object' && c !== null && typeof (c as ViolatedCategory).name === 'string' &&
  ((c as ViolatedCategory).code === null || typeof (c as ViolatedCategory).code === 'string');

const isOffset = (n: unknown): n is number => typeof n === 'number' && Number.isInteger(n) && n >= 0;
const isSpan = (s: unknown): s is TextSpan =>
  typeof s === 'object' && s !== null && isOffset((s as TextSpan).start) && isOffset((s as TextSpan).end) && (s as TextSpan).start <= (s as TextSpan).end;

/** A stored entry read back: only if it has the shape this version writes (anything else is a miss). */
function readable(stored: StoredVerdict | undefined, request: CheckRequest): stored is StoredVerdict {
  if (typeof stored !== 'object' || stored === null) return false;
  const p = stored.unsafeProbability;
  return (
    typeof stored.safe === 'boolean' &&
    (stored.windows === undefined || (isOffset(stored.windows) && stored.windows > 0)) &&
    (stored.unsafeSpans === undefined || (Array.isArray(stored.unsafeSpans) && stored.unsafeSpans.every(isSpan))) &&
    stored.target === request.target &&
    (stored.rating === 'safe' || stored.rating === 'unsafe') &&
    Array.isArray(stored.categories) &&
    stored.categories.every(isCategory) &&
    typeof stored.raw === 'string' &&
    (p === undefined || (typeof p === 'number' && p >= 0 && p <= 1))
  );
}

/** A stored verdict as the `source: 'cache'` verdict for `request`, found in `totalMs`. */
function recalled(stored: StoredVerdict, request: CheckRequest, totalMs: number): Verdict {
  const { unsafeProbability, windows, unsafeSpans } = stored;
  // A single check's decision is made again under the request's policy (which is part of the key); a
  // windowed one was made per window and is read back.
  const safe =
    windows === undefined
      ? decide({ rating: stored.rating, categories: stored.categories, unsafeProbability, failed: false }, request.policy)
      : stored.safe;
  return {
    safe,
    target: request.target,
    rating: stored.rating,
    categories: stored.categories.map((c) => ({ code: c.code, name: c.name })),
    source: 'cache',
    ...(unsafeProbability === undefined ? {} : { unsafeProbability }),
    raw: stored.raw,
    timings: { queuedMs: 0, prefillMs: 0, decodeMs: 0, totalMs },
    tokens: { prompt: 0, completion: 0 },
    ...(windows === undefined ? {} : { windows }),
    ...(unsafeSpans === undefined ? {} : { unsafeSpans: unsafeSpans.map((s) => ({ start: s.start, end: s.end })) }),
  };
}

function withTimeout<T>(promise: Promise<T>, ms: number, fallback: T): Promise<T> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(fallback), ms);
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      () => {
        clearTimeout(timer);
        resolve(fallback);
      },
    );
  });
}

/**
 * Writes not yet committed, from any guard on this page: a lookup waits for them, so a verdict one guard
 * stored is found by every later lookup on the page (a second guard, a guard made after a dispose).
 */
const writing = new Set<Promise<void>>();

/**
 * Resolves once every verdict stored so far on this page is committed, with the recency of the ones found
 * (tests, benchmarks).
 */
export async function storedVerdictsWritten(): Promise<void> {
  while (writing.size > 0) await Promise.all(writing);
  await Promise.all([...live].map((verdicts) => verdicts.flush()));
}

/** Every open store on this page: clearing forgets their cached salts too. */
const live = new Set<PersistentVerdicts>();

export class PersistentVerdicts {
  private readonly store: VerdictStore;
  private source?: ModelSource;
  private identity?: Promise<string | undefined>;
  private salt?: Promise<string | undefined>;

  constructor(options: Required<PersistentCacheOptions>) {
    this.store = new VerdictStore({ name: VERDICT_DB_NAME, maxEntries: options.maxEntries });
    live.add(this);
  }

  /** Forgets the salt read from the store (it was deleted): the next key uses a new one. */
  forgetSalt(): void {
    this.salt = undefined;
  }

  /** Keys from now on are for the model `source` resolves to (again after a model switch). */
  bind(source: ModelSource, { now = false }: { now?: boolean } = {}): void {
    this.source = source;
    this.identity = undefined;
    if (now) void this.modelIdentity();
  }

  /** Established on first use (or at `bind` with `now`), once per source. */
  private modelIdentity(): Promise<string | undefined> {
    if (!this.source) return Promise.resolve(undefined);
    this.identity ??= withTimeout(modelIdentity(this.source), IDENTITY_TIMEOUT_MS, undefined);
    return this.identity;
  }

  /**
   * The key `request`'s verdict is stored under; undefined when there is none (no model identity, no salt).
   * It hashes the full texts (up to `maxInputChars` each), so a check computes it once, for both
   * `lookup` and `remember`.
   */
  private async keyFor(request: CheckRequest): Promise<string | undefined> {
    const identity = await this.modelIdentity();
    if (!identity) return undefined;
    this.salt ??= this.store.salt();
    const salt = await this.salt;
    if (!salt) return undefined;
    // Every part is a string, so plain JSON is already canonical.
    return sha256Hex(JSON.stringify(['aegis-guard/verdict-key/1', salt, identity, await promptFormatDigest(), requestKey(request)]));
  }

  /**
   * Looks `request` up: the stored verdict, as a `source: 'cache'` verdict (undefined when none is stored
   * or the store cannot answer), and the key to `remember` the model's verdict under. Rejects only with
   * `AegisAbortError` when `signal` aborts first.
   */
  async lookup(request: CheckRequest, signal?: AbortSignal): Promise<{ verdict?: Verdict; key?: string }> {
    const started = performance.now();
    const found = (async () => {
      await Promise.all(writing);
      const key = await this.keyFor(request).catch(() => undefined);
      return { key, stored: key === undefined ? undefined : await this.store.get(key) };
    })();
    const { key, stored } = await (signal ? untilAborted(found, signal, checkCancelled) : found);
    if (!readable(stored, request)) return { key };
    return { key, verdict: recalled(stored, request, performance.now() - started) };
  }

  /** Stores a model verdict under `key` (in the background; anything but a clean model verdict is ignored). */
  remember(key: string | undefined, verdict: Verdict): void {
    if (key === undefined || verdict.source !== 'model' || verdict.failure !== undefined) return;
    const write = this.store
      .put(key, {
        safe: verdict.safe,
        target: verdict.target,
        rating: verdict.rating,
        categories: verdict.categories.map((c) => ({ code: c.code, name: c.name })),
        ...(verdict.unsafeProbability === undefined ? {} : { unsafeProbability: verdict.unsafeProbability }),
        raw: verdict.raw,
        ...(verdict.windows === undefined ? {} : { windows: verdict.windows }),
        ...(verdict.unsafeSpans === undefined ? {} : { unsafeSpans: verdict.unsafeSpans.map((s) => ({ start: s.start, end: s.end })) }),
      })
      .catch(() => undefined)
      .finally(() => writing.delete(write));
    writing.add(write);
  }

  /** Writes what is pending now. */
  flush(): Promise<void> {
    return this.store.flush();
  }

  /** Number of stored verdicts on this origin. */
  size(): Promise<number> {
    return this.store.size();
  }

  /** Closes the database once this guard's pending writes are committed. */
  close(): void {
    live.delete(this);
    void Promise.all(writing).then(() => this.store.close());
  }
}

/** Deletes every verdict stored on this origin, and its salt (whatever guard stored them). */
export async function clearStoredVerdicts(): Promise<void> {
  // What was stored before this call goes too: let pending writes land first.
  await storedVerdictsWritten();
  for (const verdicts of live) verdicts.forgetSalt();
  const store = new VerdictStore({ name: VERDICT_DB_NAME, maxEntries: 1 });
  try {
    await store.clear();
  } finally {
    store.close();
  }
}
