/**
 * Typed errors of the model builder (Node only). The CLI prints `message` on one line and exits with 1;
 * programmatic callers branch on the class or the stable `code`.
 */

export type BuildErrorCode =
  | 'bad-arguments'
  | 'missing-file'
  | 'bad-checkpoint'
  | 'not-llama'
  | 'adapter-mismatch'
  | 'disk-full'
  | 'output-exists'
  | 'download-failed'
  | 'verify-failed';

export class BuildError extends Error {
  readonly code: BuildErrorCode = 'bad-checkpoint';
  override name = 'BuildError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** The command line or an option object is invalid. */
export class BuildArgumentError extends BuildError {
  override readonly code = 'bad-arguments';
  override name = 'BuildArgumentError';
}

/** A file the build needs is absent (a shard named by the index, config.json, tokenizer, adapter files...). */
export class MissingFileError extends BuildError {
  override readonly code = 'missing-file';
  override name = 'MissingFileError';
  constructor(
    message: string,
    readonly paths: readonly string[],
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** A checkpoint or output file is malformed: bad safetensors header, truncated data, wrong dtype, NaN... */
export class CheckpointError extends BuildError {
  override readonly code = 'bad-checkpoint';
  override name = 'CheckpointError';
}

/** The base model is not a Llama the stock WebLLM Llama model library can run. */
export class NotLlamaError extends BuildError {
  override readonly code = 'not-llama';
  override name = 'NotLlamaError';
}

/** The LoRA adapter does not fit the base model (base name, rank, shapes, unsupported PEFT features). */
export class AdapterMismatchError extends BuildError {
  override readonly code = 'adapter-mismatch';
  override name = 'AdapterMismatchError';
}

/** The disk filled up (ENOSPC) or does not have room for the output. */
export class DiskFullError extends BuildError {
  override readonly code = 'disk-full';
  override name = 'DiskFullError';
  constructor(
    message: string,
    readonly path: string,
    readonly neededBytes?: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** The output folder already holds a model and `--force` was not given. */
export class OutputExistsError extends BuildError {
  override readonly code = 'output-exists';
  override name = 'OutputExistsError';
}

/** A Hugging Face download failed (HTTP status, network, size mismatch). */
export class DownloadError extends BuildError {
  override readonly code = 'download-failed';
  override name = 'DownloadError';
  constructor(
    message: string,
    readonly url: string,
    readonly status?: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** verify-model found a difference between the output and what it should be. */
export class VerifyError extends BuildError {
  override readonly code = 'verify-failed';
  override name = 'VerifyError';
  constructor(
    message: string,
    readonly problems: readonly string[],
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** Turns ENOSPC (and EDQUOT) from a write into DiskFullError; rethrows anything else unchanged. */
export function rethrowDiskFull(error: unknown, path: string): never {
  const code = (error as { code?: unknown } | null)?.code;
  if (code === 'ENOSPC' || code === 'EDQUOT') {
    throw new DiskFullError(`disk full while writing ${path}: free some space and run the build again`, path, undefined, {
      cause: error,
    });
  }
  throw error;
}
