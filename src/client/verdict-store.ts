/**
 * The on-device store of verdicts: IndexedDB, least recently used entries evicted beyond a cap.
 *
 * An entry is { key, usedAt, verdict }: the key is a hex SHA-256 digest (persistent-verdicts.ts says of
 * what), the verdict holds only what the model said (rating, categories, probability, its raw answer, and for
 * a windowed check the window count and the unsafe spans as offsets), never a judged text. Lookups and writes that arrive in the same task share one transaction, so a history of 500
 * messages costs a handful of transactions, not 500.
 *
 * Everything here is best effort: without IndexedDB (some private modes, a blocked or full storage) lookups
 * find nothing and writes are dropped; no check ever fails because of the store.
 */
import { AegisError } from '../core/errors.js';
import type { Verdict } from '../core/types.js';

/** What is kept of a verdict (see the header); the rest is rebuilt on a hit. */
export type StoredVerdict = Pick<Verdict, 'safe' | 'target' | 'rating' | 'categories' | 'raw'> &
  Partial<Pick<Verdict, 'unsafeProbability' | 'windows' | 'unsafeSpans'>>;

interface Entry {
  key: string;
  usedAt: number;
  verdict: StoredVerdict;
}

const DB_VERSION = 1;
const VERDICTS = 'verdicts';
const META = 'meta';
const BY_USE = 'usedAt';
/**
 * Recency of found verdicts is written this much later: a read-write transaction makes the read-only ones
 * behind it wait, and a history's lookups come in a burst.
 */
const TOUCH_DELAY_MS = 250;

function promisify<T>(request: IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}

function done(tx: IDBTransaction): Promise<void> {
  return new Promise((resolve, reject) => {
    tx.oncomplete = () => resolve();
    tx.onerror = () => reject(tx.error);
    tx.onabort = () => reject(tx.error ?? new Error('transaction aborted'));
  });
}

function openDatabase(name: string): Promise<IDBDatabase> {
  return new Promise((resolve, reject) => {
    if (typeof indexedDB === 'undefined') return reject(new Error('IndexedDB is not available'));
    const request = indexedDB.open(name, DB_VERSION);
    request.onupgradeneeded = () => {
      const db = request.result;
      if (!db.objectStoreNames.contains(VERDICTS)) db.createObjectStore(VERDICTS, { keyPath: 'key' }).createIndex(BY_USE, BY_USE);
      if (!db.objectStoreNames.contains(META)) db.createObjectStore(META);
    };
    request.onsuccess = () => {
      const db = request.result;
      // Another tab upgrading the schema: step aside rather than block it.
      db.onversionchange = () => db.close();
      resolve(db);
    };
    request.onerror = () => reject(request.error);
    request.onblocked = () => reject(new Error('IndexedDB open is blocked'));
  });
}

interface PendingGet {
  key: string;
  resolve(verdict: StoredVerdict | undefined): void;
}

interface PendingPut {
  verdict: StoredVerdict;
  written: Array<() => void>;
}

export interface VerdictStoreOptions {
  /** Database name (one per origin is shared by every guard on it). */
  name: string;
  /** Entries kept; the least recently used beyond it are deleted. */
  maxEntries: number;
}

export class VerdictStore {
  private db?: Promise<IDBDatabase | undefined>;
  private gets: PendingGet[] = [];
  private puts = new Map<string, PendingPut>();
  /** Keys found by lookups, whose recency is written with the next write batch. */
  private touched = new Set<string>();
  private reading?: Promise<void>;
  /** The write batch in progress (batches run one after another). */
  private writing?: Promise<void>;
  private writeTimer?: ReturnType<typeof setTimeout>;
  private writeDue = Infinity;
  /** Keeps `usedAt` strictly increasing within this page, so recency has no ties. */
  private clock = 0;

  constructor(private readonly options: VerdictStoreOptions) {}

  private database(): Promise<IDBDatabase | undefined> {
    this.db ??= openDatabase(this.options.name).catch(() => undefined);
    return this.db;
  }

  private now(): number {
    this.clock = Math.max(this.clock + 1, Date.now());
    return this.clock;
  }

  /** The stored verdict for `key` (marked as just used); undefined when there is none (or no store). */
  get(key: string): Promise<StoredVerdict | undefined> {
    return new Promise((resolve) => {
      this.gets.push({ key, resolve });
      this.scheduleRead();
    });
  }

  private scheduleRead(): void {
    // Reads asked for within one task share a read-only transaction (the browser runs those side by side).
    this.reading ??= new Promise<void>((resolve) => setTimeout(resolve, 0))
      .then(() => this.readBatch())
      .finally(() => {
        this.reading = undefined;
        if (this.gets.length > 0) this.scheduleRead();
      });
  }

  /** Stores a verdict with the next batch; resolves once written (or dropped: failures are not reported). */
  put(key: string, verdict: StoredVerdict): Promise<void> {
    return new Promise((resolve) => {
      const pending = this.puts.get(key);
      this.puts.set(key, { verdict, written: [...(pending?.written ?? []), resolve] });
      this.scheduleWrite();
    });
  }

  /** The salt of this origin's keys, created on first use (see persistent-verdicts.ts). */
  async salt(): Promise<string | undefined> {
    const db = await this.database();
    if (!db) return undefined;
    try {
      const tx = db.transaction(META, 'readwrite');
      const store = tx.objectStore(META);
      let salt = (await promisify(store.get('salt'))) as string | undefined;
      if (typeof salt !== 'string') {
        salt = Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, '0')).join('');
        store.put(salt, 'salt');
      }
      await done(tx);
      return salt;
    } catch {
      return undefined;
    }
  }

  /**
   * Deletes every stored verdict and the salt. Resolves once done (at once when there is no store); rejects
   * with an `AegisError` when the browser refuses, since the caller wants the data gone.
   */
  async clear(): Promise<void> {
    await this.writing;
    for (const { written } of this.puts.values()) for (const resolve of written) resolve();
    this.puts.clear();
    this.touched.clear();
    const db = await this.database();
    if (!db) return;
    try {
      const tx = db.transaction([VERDICTS, META], 'readwrite');
      tx.objectStore(VERDICTS).clear();
      tx.objectStore(META).clear();
      await done(tx);
    } catch (error) {
      throw new AegisError(`The verdicts stored on this device could not be deleted: ${String(error)}`, { cause: error });
    }
  }

  /** Number of stored verdicts (tests and benchmarks). */
  async size(): Promise<number> {
    const db = await this.database();
    if (!db) return 0;
    return promisify(db.transaction(VERDICTS).objectStore(VERDICTS).count());
  }

  /** Writes what is pending now (puts and recency), resolving once committed or dropped. */
  flush(): Promise<void> {
    clearTimeout(this.writeTimer);
    this.writeTimer = undefined;
    this.writeDue = Infinity;
    const batch = (this.writing ?? Promise.resolve()).then(() => this.writeBatch());
    const tracked: Promise<void> = batch.finally(() => {
      if (this.writing === tracked) this.writing = undefined;
    });
    this.writing = tracked;
    return tracked;
  }

  /** Closes the database once what is pending is written. */
  close(): void {
    void this.flush().then(() => this.db?.then((db) => db?.close()));
  }

  private async readBatch(): Promise<void> {
    const gets = this.gets;
    this.gets = [];
    const db = await this.database();
    try {
      if (!db) throw new Error('no database');
      const store = db.transaction(VERDICTS).objectStore(VERDICTS);
      await Promise.all(
        gets.map(async (g) => {
          const entry = (await promisify(store.get(g.key))) as Entry | undefined;
          if (entry) this.touched.add(g.key);
          g.resolve(entry?.verdict);
        }),
      );
      if (this.touched.size > 0) this.scheduleWrite(TOUCH_DELAY_MS);
    } catch {
      for (const g of gets) g.resolve(undefined);
    }
  }

  private scheduleWrite(delayMs = 0): void {
    // A task later at the soonest, not a microtask: verdicts and lookups that finish close together share
    // one transaction. An earlier deadline replaces a later one.
    const due = performance.now() + delayMs;
    if (this.writeTimer !== undefined && this.writeDue <= due) return;
    clearTimeout(this.writeTimer);
    this.writeDue = due;
    this.writeTimer = setTimeout(() => void this.flush(), delayMs);
  }

  private async writeBatch(): Promise<void> {
    const puts = this.puts;
    const touched = this.touched;
    if (puts.size === 0 && touched.size === 0) return;
    this.puts = new Map();
    this.touched = new Set();
    const settle = () => {
      for (const { written } of puts.values()) for (const resolve of written) resolve();
    };
    const db = await this.database();
    if (!db) return settle();
    try {
      const tx = db.transaction(VERDICTS, 'readwrite');
      const store = tx.objectStore(VERDICTS);
      await Promise.all(
        [...touched].filter((key) => !puts.has(key)).map(async (key) => {
          const entry = (await promisify(store.get(key))) as Entry | undefined;
          if (entry) store.put({ ...entry, usedAt: this.now() });
        }),
      );
      for (const [key, { verdict }] of puts) store.put({ key, usedAt: this.now(), verdict } satisfies Entry);
      if (puts.size > 0) await this.evict(store);
      await done(tx);
    } catch {
      // Dropped (storage full, database closed): the verdicts are simply judged again next time.
    } finally {
      settle();
    }
  }

  /** Deletes the least recently used entries beyond the cap (inside the writing transaction). */
  private async evict(store: IDBObjectStore): Promise<void> {
    let surplus = (await promisify(store.count())) - this.options.maxEntries;
    if (surplus <= 0) return;
    await new Promise<void>((resolve, reject) => {
      const cursor = store.index(BY_USE).openCursor();
      cursor.onsuccess = () => {
        const at = cursor.result;
        if (!at || surplus <= 0) return resolve();
        at.delete();
        surplus--;
        at.continue();
      };
      cursor.onerror = () => reject(cursor.error);
    });
  }
}
