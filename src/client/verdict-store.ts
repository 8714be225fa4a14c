/**
 * The on-device store of verdicts: IndexedDB, least recently used entries evicted beyond a cap.
 *
 * An entry is { key, usedAt, verdict }: the key is a hex SHA-256 digest (persistent-verdicts.ts says of
 * what), the verdict holds only what the model said (rating, categories, probability, its raw answer), never
 * a judged text. Lookups and writes that arrive in the same task share one transaction, so a history of 500
 * messages costs a handful of transactions, not 500.
 *
 * Everything here is best effort: without IndexedDB (some private modes, a blocked or full storage) lookups
 * find nothing and writes are dropped; no check ever fails because of the store.
 */
import { AegisError } from '../core/errors.js';
import type { Verdict } from '../core/types.js';

/** What is kept of a verdict (see the header); the rest is rebuilt on a hit. */
export type StoredVerdict = Pick<Verdict, 'safe' | 'target' | 'rating' | 'categories' | 'raw'> & { unsafeProbability?: number };

interface Entry {
  key: string;
  usedAt: number;
  verdict: StoredVerdict;
}

const DB_VERSION = 1;
const VERDICTS = 'verdicts';
const META = 'meta';
const BY_USE = 'usedAt';

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
  private flushing?: Promise<void>;
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

  /** The stored verdict for `key`, marked as just used; undefined when there is none (or no store). */
  get(key: string): Promise<StoredVerdict | undefined> {
    return new Promise((resolve) => {
      this.gets.push({ key, resolve });
      this.schedule();
    });
  }

  /** Stores a verdict with the next batch; resolves once written (or dropped: failures are not reported). */
  put(key: string, verdict: StoredVerdict): Promise<void> {
    return new Promise((resolve) => {
      const pending = this.puts.get(key);
      this.puts.set(key, { verdict, written: [...(pending?.written ?? []), resolve] });
      this.schedule();
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
    await this.flushing;
    for (const { written } of this.puts.values()) for (const resolve of written) resolve();
    this.puts.clear();
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

  close(): void {
    void this.db?.then((db) => db?.close());
  }

  private schedule(): void {
    if (this.flushing) return;
    // Everything asked for in this task goes into one transaction.
    this.flushing = Promise.resolve()
      .then(() => this.flush())
      .finally(() => {
        this.flushing = undefined;
        if (this.gets.length > 0 || this.puts.size > 0) this.schedule();
      });
  }

  private async flush(): Promise<void> {
    const gets = this.gets;
    const puts = this.puts;
    this.gets = [];
    this.puts = new Map();
    const settle = () => {
      for (const g of gets) g.resolve(undefined);
      for (const { written } of puts.values()) for (const resolve of written) resolve();
    };
    const db = await this.database();
    if (!db) return settle();
    try {
      const tx = db.transaction(VERDICTS, 'readwrite');
      const store = tx.objectStore(VERDICTS);
      const found = await Promise.all(gets.map((g) => promisify(store.get(g.key)) as Promise<Entry | undefined>));
      found.forEach((entry, i) => {
        if (entry) store.put({ ...entry, usedAt: this.now() });
        gets[i]!.resolve(entry?.verdict);
      });
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
