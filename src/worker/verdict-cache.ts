/**
 * A bounded least-recently-used map from request key to a finished judgement. Chat UIs re-render and re-check
 * the same messages often; a repeat is answered without touching the GPU.
 *
 * Bounded twice: by entries and by the total length of the keys, which hold the judged texts verbatim. Long
 * inputs are judged now (up to `maxInputChars`, 1,000,000 by default), so 512 entries alone could pin a
 * gigabyte of text in the worker; the character budget keeps the memory flat whatever the texts are.
 */
export class LruCache<V> {
  private readonly map = new Map<string, V>();
  private chars = 0;

  /**
   * @param capacity most entries kept
   * @param maxChars most key characters kept in all (an entry whose key alone is longer is not kept)
   */
  constructor(
    readonly capacity: number,
    readonly maxChars = 16_000_000,
  ) {}

  get(key: string): V | undefined {
    const value = this.map.get(key);
    if (value === undefined) return undefined;
    // Re-insert to mark as most recently used (Map keeps insertion order).
    this.map.delete(key);
    this.map.set(key, value);
    return value;
  }

  set(key: string, value: V): void {
    if (this.capacity <= 0 || key.length > this.maxChars) return;
    this.delete(key);
    this.map.set(key, value);
    this.chars += key.length;
    while (this.map.size > this.capacity || this.chars > this.maxChars) {
      this.delete(this.map.keys().next().value as string);
    }
  }

  clear(): void {
    this.map.clear();
    this.chars = 0;
  }

  get size(): number {
    return this.map.size;
  }

  /** Total characters of the keys held. */
  get keyChars(): number {
    return this.chars;
  }

  private delete(key: string): void {
    if (this.map.delete(key)) this.chars -= key.length;
  }
}
