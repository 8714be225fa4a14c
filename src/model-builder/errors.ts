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
  | 'hub-access'
  | 'hub-not-found'
  | 'hub-layout'
  | 'hub-bad-response'
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

/** A Hugging Face download failed (HTTP status, network, size mismatch); the subclasses below say why. */
export class DownloadError extends BuildError {
  override readonly code: BuildErrorCode = 'download-failed';
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

/**
 * The Hub refused access (401/403): a gated repo whose licence is not accepted, a private repo, or a refused
 * token. `modelPage` is where the licence is accepted; `tokenGiven` says whether HF_TOKEN was sent.
 */
export class HubAccessError extends DownloadError {
  override readonly code = 'hub-access';
  override name = 'HubAccessError';
  constructor(
    message: string,
    url: string,
    status: number,
    readonly repo: string,
    readonly modelPage: string,
    readonly gated: boolean,
    readonly tokenGiven: boolean,
    options?: { cause?: unknown },
  ) {
    super(message, url, status, options);
  }
}

/** The Hub has no such repo, revision or file (404, or 401 for an unknown repo without a token). */
export class HubNotFoundError extends DownloadError {
  override readonly code: BuildErrorCode = 'hub-not-found';
  override name = 'HubNotFoundError';
  constructor(
    message: string,
    url: string,
    status: number | undefined,
    readonly what: 'repo' | 'revision' | 'file',
    readonly repo: string,
    options?: { cause?: unknown },
  ) {
    super(message, url, status, options);
  }
}

/**
 * A repo does not hold the checkpoint where it was looked for (its root, or the subfolder given). `candidates`
 * are the folders of the repo that do hold `file` ('' is the root), from the Hub's file list.
 */
export class HubLayoutError extends HubNotFoundError {
  override readonly code = 'hub-layout';
  override name = 'HubLayoutError';
  constructor(
    message: string,
    url: string,
    repo: string,
    readonly file: string,
    readonly subfolder: string,
    readonly candidates: readonly string[],
    options?: { cause?: unknown },
  ) {
    super(message, url, 404, 'file', repo, options);
  }
}

/** The Hub (or what HF_ENDPOINT points at) answered something that is not what the API returns: an HTML page, bad JSON, a redirect loop. */
export class HubResponseError extends DownloadError {
  override readonly code = 'hub-bad-response';
  override name = 'HubResponseError';
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
