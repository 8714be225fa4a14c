/** Test guards that are disposed after each test, so no worker outlives the test that made it. */
import { afterEach } from 'vitest';
import type { GuardOptions } from '../../src/client/types.js';
import { createTestGuard, type TestGuard } from './test-guard.js';

/** Registers the clean-up and returns the factory to use inside tests. */
export function guardPerTest(): (options?: GuardOptions) => TestGuard {
  const made: TestGuard[] = [];
  afterEach(() => {
    for (const t of made.splice(0)) t.guard.dispose();
  });
  return (options = {}) => {
    const t = createTestGuard(options);
    made.push(t);
    return t;
  };
}
