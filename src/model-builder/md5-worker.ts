/**
 * MD5 of the shard files on a worker thread, so hashing (about a fifth of the CPU time of a conversion)
 * runs beside the quantization instead of after it. Chunks are copied to the worker; at most LIMIT bytes
 * wait in its queue, so memory stays bounded when the worker falls behind.
 */
import { Worker } from 'node:worker_threads';

// Inline (eval) worker: it runs the same from TypeScript sources under tsx/vitest and from dist/.
const SOURCE = `
const { parentPort } = require('node:worker_threads');
const { createHash } = require('node:crypto');
const hashes = new Map();
parentPort.on('message', (m) => {
  if (m.t === 'u') {
    let h = hashes.get(m.id);
    if (!h) { h = createHash('md5'); hashes.set(m.id, h); }
    h.update(new Uint8Array(m.b));
    parentPort.postMessage({ t: 'a', n: m.b.byteLength });
  } else if (m.t === 'd') {
    const h = hashes.get(m.id) || createHash('md5');
    hashes.delete(m.id);
    parentPort.postMessage({ t: 'h', id: m.id, hex: h.digest('hex') });
  }
});
`;

const LIMIT = 64 * 1024 * 1024;

type Message = { t: 'a'; n: number } | { t: 'h'; id: number; hex: string };

export class Md5Worker {
  private readonly worker = new Worker(SOURCE, { eval: true });
  private inflight = 0;
  private drained: Array<() => void> = [];
  private readonly digests = new Map<number, { resolve: (hex: string) => void; reject: (e: unknown) => void }>();
  private nextId = 0;
  private failure: unknown;

  constructor() {
    this.worker.on('message', (m: Message) => {
      if (m.t === 'a') {
        this.inflight -= m.n;
        if (this.inflight <= LIMIT) this.wake();
      } else {
        this.digests.get(m.id)?.resolve(m.hex);
        this.digests.delete(m.id);
      }
    });
    this.worker.on('error', (e) => this.fail(e));
    this.worker.on('exit', (code) => {
      if (code !== 0) this.fail(new Error(`md5 worker exited with ${code}`));
    });
  }

  /** A new hash; returns its id. */
  start(): number {
    return this.nextId++;
  }

  /** Adds a copy of `bytes` to hash `id`; waits while too much is queued. */
  async update(id: number, bytes: Uint8Array): Promise<void> {
    if (this.failure) throw this.failure;
    while (this.inflight > LIMIT) await new Promise<void>((r) => this.drained.push(r));
    const copy = new Uint8Array(bytes); // a copy (Buffer#slice would be a view)
    this.inflight += copy.byteLength;
    this.worker.postMessage({ t: 'u', id, b: copy.buffer }, [copy.buffer]);
  }

  digest(id: number): Promise<string> {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      this.digests.set(id, { resolve, reject });
      this.worker.postMessage({ t: 'd', id });
    });
  }

  async close(): Promise<void> {
    await this.worker.terminate();
  }

  private wake(): void {
    const waiting = this.drained;
    this.drained = [];
    for (const w of waiting) w();
  }

  private fail(error: unknown): void {
    this.failure = error;
    for (const d of this.digests.values()) d.reject(error);
    this.digests.clear();
    this.wake();
  }
}
