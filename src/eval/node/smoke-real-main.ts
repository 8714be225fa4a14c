/** Entry point of `npm run smoke:real` (see smoke-real.ts). */
import { runMain } from './run-main.js';
import { runSmokeCli } from './smoke-real.js';

process.exitCode = await runMain(
  () => runSmokeCli(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr, env: process.env, cwd: process.env.INIT_CWD ?? process.cwd() }),
  'smoke:real',
);
