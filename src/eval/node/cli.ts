/**
 * `npx aegis-guard eval ...` (dispatched here by bin/aegis-guard.js). Exit codes: 0 done, 1 failed,
 * 2 usage or set-up error, 3 no usable model.
 */
import { runEvalCli } from './eval-cli.js';
import { runMain } from './run-main.js';

export function main(argv: string[]): Promise<number> {
  return runMain(() => runEvalCli(argv), 'aegis-guard eval');
}
