/** A minimal typed event emitter; listener failures are reported, never propagated into the guard. */
export class Emitter<M extends object> {
  private readonly listeners = new Map<keyof M, Set<(value: never) => void>>();

  on<K extends keyof M>(event: K, listener: (value: M[K]) => void): () => void {
    let set = this.listeners.get(event);
    if (!set) this.listeners.set(event, (set = new Set()));
    set.add(listener as (value: never) => void);
    return () => set.delete(listener as (value: never) => void);
  }

  emit<K extends keyof M>(event: K, value: M[K]): void {
    for (const listener of this.listeners.get(event) ?? []) {
      try {
        (listener as (value: M[K]) => void)(value);
      } catch (error) {
        queueMicrotask(() => {
          throw error;
        });
      }
    }
  }

  clear(): void {
    this.listeners.clear();
  }
}
