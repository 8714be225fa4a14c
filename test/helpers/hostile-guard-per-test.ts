/** Hostile test guards that are disposed after each test, so no worker outlives the test that made it. */
import { afterEach } from 'vitest';
import { createHostileGuard, type HostileGuard } from './hostile-guard.js';

/** Registers the clean-up and returns the factory to use inside tests. */
export function hostileGuardPerTest(): typeof createHostileGuard {
  const made: HostileGuard[] = [];
  afterEach(() => {
    for (const t of made.splice(0)) t.guard.dispose();
  });
  return (options, config) => {
    const t = createHostileGuard(options, config);
    made.push(t);
    return t;
  };
}
