/** Runs a CLI command: its exit code, or one plain error line and the error's exit code. */
import { CliError } from './cli-error.js';

export async function runMain(command: () => Promise<number>, name: string, stderr: NodeJS.WritableStream = process.stderr): Promise<number> {
  try {
    return await command();
  } catch (error) {
    if (error instanceof CliError) {
      stderr.write(`${name}: ${error.message}\n`);
      return error.exitCode;
    }
    stderr.write(`${name}: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    return 1;
  }
}
