/**
 * The worker's waiting line. One model runs one check at a time, so order matters: prompt checks go before
 * reply checks (a user is waiting to send), first-come first-served within each class.
 *
 * One exception: right after a prompt check, a waiting reply check on that same prompt goes next. The fast
 * path keeps the prompt in the KV cache as a rollback point (prefix-cache.ts), so that reply then prefills
 * only itself; judged after every other prompt it would prefill its prompt again. A history of N turns
 * loaded at once costs N prompt prefills instead of 2N, and a waiting prompt is delayed by one reply check.
 */
import type { Target } from '../core/types.js';

const PRIORITY: Record<Target, number> = { prompt: 0, response: 1 };
/** How far into the reply lane a follower is looked for: bounds the work per shift on a long queue. */
const FOLLOWER_SCAN = 64;

export class CheckQueue<T extends { target: Target }> {
  private readonly lanes: T[][] = [[], []];

  get size(): number {
    return this.lanes[0]!.length + this.lanes[1]!.length;
  }

  push(item: T): void {
    this.lanes[PRIORITY[item.target]]!.push(item);
  }

  /**
   * The next item to run, or undefined when empty. `follows(item)` says whether a waiting reply check
   * continues what has just run; the first such one among the oldest replies goes before the prompts.
   */
  shift(follows?: (item: T) => boolean): T | undefined {
    if (follows) {
      const replies = this.lanes[1]!;
      const end = Math.min(replies.length, FOLLOWER_SCAN);
      for (let i = 0; i < end; i++) {
        if (follows(replies[i]!)) return replies.splice(i, 1)[0];
      }
    }
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
