/** `npx tsx src/eval/node/cli-main.ts eval ...` in a source checkout: what bin/aegis-guard.js runs once built. */
import { main } from './cli.js';

const [command, ...rest] = process.argv.slice(2);
if (command !== 'eval') {
  process.stderr.write('usage: cli-main.ts eval --model <folder URL or path> [options] (see --help)\n');
  process.exitCode = 2;
} else process.exitCode = await main(rest);
