/**
 * Reference data that only development and CI machines have, in `../shared` beside the project (Node only).
 * A user's clone has none of it: a test that compares against it runs when it is there and otherwise says, on
 * one line, what it skipped and why. No test may need it to pass.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** `../shared/` seen from the project root. */
export const REFERENCE_ROOT = fileURLToPath(new URL('../../../shared/', import.meta.url));

/** The absolute path of `../shared/<relative>`, or undefined when it is not there. */
export function referencePath(relative: string): string | undefined {
  const path = REFERENCE_ROOT + relative;
  return existsSync(path) ? path : undefined;
}

/**
 * `../shared/<relative>` when present; otherwise prints `skipped: <what> (../shared/<relative> is absent: reference
 * data on development machines only)` once and returns undefined. Use with `describe.skipIf(!path)`.
 */
export function referenceOrSkip(relative: string, what: string): string | undefined {
  const path = referencePath(relative);
  if (!path) console.log(`skipped: ${what} (../shared/${relative} is absent: reference data on development machines only)`);
  return path;
}
