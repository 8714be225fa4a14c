/** An error the CLI reports as one plain line and an exit code (2: usage or set-up, 3: no usable model). */
export class CliError extends Error {
  override name = 'CliError';
  constructor(
    message: string,
    readonly exitCode: number = 2,
  ) {
    super(message);
  }
}
