/**
 * The worker's waiting line. One model runs one check at a time, so order matters: prompt checks go before
 * reply checks (a user is waiting to send), first-come first-served within each class.
 */
import type { Target } from '../core/types.js';

const PRIORITY: Record<Target, number> = { prompt: 0, response: 1 };

export class CheckQueue<T extends { target: Target }> {
  private readonly lanes: T[][] = [[], []];

  get size(): number {
    return this.lanes[0]!.length + this.lanes[1]!.length;
  }

  push(item: T): void {
    this.lanes[PRIORITY[item.target]]!.push(item);
  }

  /** The next item to run, or undefined when empty. */
  shift(): T | undefined {
    return this.lanes[0]!.shift() ?? this.lanes[1]!.shift();
  }

  /** Removes an item that has not started yet. Returns whether it was queued. */
  remove(item: T): boolean {
    for (const lane of this.lanes) {
      const at = lane.indexOf(item);
      if (at >= 0) {
        lane.splice(at, 1);
        return true;
      }
    }
    return false;
  }

  /** Empties the queue and returns what was in it, in run order. */
  drain(): T[] {
    const all = [...this.lanes[0]!, ...this.lanes[1]!];
    this.lanes[0] = [];
    this.lanes[1] = [];
    return all;
  }
}
