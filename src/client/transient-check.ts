/**
 * An internal check option: the check is judged as usual, but the verdicts kept on this device are neither
 * searched nor added to. For texts that are never checked again as such, like the chunks of a streamed reply:
 * each would cost a hash of its texts and a write, and push real history out of the store's LRU.
 *
 * Not public API: a symbol key, absent from `CheckOptions`, so no option name is taken and no user sets it
 * by accident. (`Symbol.for`, so two copies of this module in one bundle still agree.)
 */
import type { CheckOptions } from './types.js';

export const TRANSIENT_CHECK: unique symbol = Symbol.for('aegis-guard/transient-check');

/** `CheckOptions` with the internal flag. */
export type TransientCheckOptions = CheckOptions & { [TRANSIENT_CHECK]?: boolean };

/** Whether `options` asks to bypass the device's verdict store. */
export function isTransientCheck(options: CheckOptions): boolean {
  return (options as TransientCheckOptions)[TRANSIENT_CHECK] === true;
}
