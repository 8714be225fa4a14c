/**
 * HTTP to the Hugging Face Hub as its clients must speak it: redirects followed by hand (resolve URLs of
 * large files answer 302 to a CDN on another host, which refuses a second credential, so the token goes only
 * to the endpoint's own origin), `Accept-Encoding: identity` (a compressed body would not match the
 * Content-Length the resume logic counts on), and the Hub's answers turned into typed errors: the
 * `X-Error-Code` header tells a gated repo from an unknown one, a missing revision from a missing file.
 */
import { DownloadError, HubAccessError, HubNotFoundError, HubResponseError, type BuildError } from './errors.js';
import type { Progress } from './progress.js';

export interface HubClient {
  endpoint: string;
  token: string | undefined;
  fetch: typeof fetch;
  progress: Progress;
}

/** A failure worth another attempt: network errors, 5xx, 429, a body cut short. */
export class RetryableError extends Error {
  override name = 'RetryableError';
  constructor(
    message: string,
    options?: { cause?: unknown },
    /** From a Retry-After header: wait at least this long before the next attempt. */
    readonly retryAfterMs?: number,
  ) {
    super(message, options);
  }
}

/** Retry-After in milliseconds (seconds or an HTTP date), or undefined. */
function retryAfter(res: Response): number | undefined {
  const value = res.headers.get('retry-after');
  if (!value) return undefined;
  const seconds = Number(value);
  const ms = Number.isFinite(seconds) ? seconds * 1000 : Date.parse(value) - Date.now();
  return Number.isFinite(ms) && ms > 0 ? ms : undefined;
}

/** How often and how long a Hub request is tried again (every Hub call shares it: files, file lists, access checks). */
export interface RetryPolicy {
  /** Attempts after the first. */
  retries: number;
  /** Milliseconds to wait before retry `attempt` (0-based), when the Hub did not say how long. */
  retryDelayMs: (attempt: number) => number;
  /** Waits `ms` milliseconds (a test hook records the waits instead). */
  sleep: (ms: number) => Promise<void>;
}

/** The longest Retry-After honoured: a Hub asking for more is treated as if it had asked for this. */
export const MAX_RETRY_AFTER_MS = 60_000;

/**
 * Runs `attempt` until it returns, throws something other than RetryableError, or `policy.retries` retries
 * have failed (then the last RetryableError is thrown). Before each retry it waits the policy's delay, or
 * longer when the Hub's Retry-After asked for more (at most MAX_RETRY_AFTER_MS).
 */
export async function withRetries<T>(policy: RetryPolicy, attempt: (n: number) => Promise<T>): Promise<T> {
  for (let n = 0; ; n++) {
    try {
      return await attempt(n);
    } catch (error) {
      if (!(error instanceof RetryableError) || n >= policy.retries) throw error;
      await policy.sleep(Math.max(policy.retryDelayMs(n), Math.min(MAX_RETRY_AFTER_MS, error.retryAfterMs ?? 0)));
    }
  }
}

const MAX_REDIRECTS = 10;

export interface HubResponse {
  res: Response;
  /** The URL that answered, after redirects. */
  url: string;
}

/**
 * One request with the Hub's redirects followed. Network failures become RetryableError; HTTP statuses are
 * the caller's to judge (see `hubStatusError`).
 */
export async function hubFetch(
  hub: HubClient,
  url: string,
  options: { method?: 'GET' | 'HEAD'; headers?: Record<string, string>; followRedirects?: boolean } = {},
): Promise<HubResponse> {
  const endpointOrigin = new URL(hub.endpoint).origin;
  let current = url;
  for (let hop = 0; ; hop++) {
    const headers: Record<string, string> = { 'accept-encoding': 'identity', ...options.headers };
    if (hub.token && new URL(current).origin === endpointOrigin) headers.authorization = `Bearer ${hub.token}`;
    let res: Response;
    try {
      res = await hub.fetch(current, { method: options.method ?? 'GET', headers, redirect: 'manual' });
    } catch (error) {
      throw new RetryableError(`network error from ${current}: ${(error as Error).message}`, { cause: error });
    }
    const location = res.headers.get('location');
    if (res.status < 300 || res.status >= 400 || res.status === 304 || options.followRedirects === false) return { res, url: current };
    await res.body?.cancel();
    if (!location) throw new HubResponseError(`${current} answered ${res.status} without a Location header`, current, res.status);
    if (hop >= MAX_REDIRECTS) throw new HubResponseError(`${url} redirected more than ${MAX_REDIRECTS} times (last to ${location})`, url, res.status);
    try {
      current = new URL(location, current).href;
    } catch (error) {
      throw new HubResponseError(`${current} redirected to an invalid URL ${JSON.stringify(location)}`, current, res.status, { cause: error });
    }
  }
}

export interface StatusContext {
  repo: string;
  revision: string;
  /** The repo path asked for; undefined for an API call about the whole repo. */
  path: string | undefined;
  url: string;
}

/** The model page, where a gated repo's licence is accepted. */
export function modelPageUrl(endpoint: string, repo: string): string {
  return `${endpoint}/${repo}`;
}

/**
 * The typed error for a non-2xx answer, or RetryableError for 5xx / 429. Reads (and releases) the body only
 * to free the connection; the Hub's explanation is in its headers.
 */
export async function hubStatusError(hub: HubClient, res: Response, ctx: StatusContext, licence?: string): Promise<BuildError | RetryableError> {
  await res.body?.cancel().catch(() => undefined);
  const code = res.headers.get('x-error-code') ?? '';
  const hubSays = res.headers.get('x-error-message');
  const status = res.status;
  const token = hub.token !== undefined && hub.token !== '';
  if (status >= 500 || status === 429) return new RetryableError(`HTTP ${status} from ${ctx.url}`, undefined, retryAfter(res));
  const page = modelPageUrl(hub.endpoint, ctx.repo);
  if (code === 'RepoNotFound') {
    return new HubNotFoundError(
      `there is no model repo ${ctx.repo} on ${hub.endpoint}${token ? '' : ' (or it is private: set HF_TOKEN to a token that can read it)'}; check the id`,
      ctx.url,
      status,
      'repo',
      ctx.repo,
    );
  }
  if (code === 'RevisionNotFound') {
    return new HubNotFoundError(`${ctx.repo} has no revision ${ctx.revision} (a branch, tag or commit of the repo)`, ctx.url, status, 'revision', ctx.repo);
  }
  if (status === 401 || status === 403) {
    const gated = code === 'GatedRepo';
    const licenceName = licence ?? (gated ? await licenceOf(hub, ctx.repo) : undefined);
    const accept = `accept its licence${licenceName ? ` (${licenceName})` : ''} at ${page} (logged in to the Hub)`;
    let message: string;
    if (gated && !token) {
      message = `${ctx.repo} is gated: ${accept}, then set HF_TOKEN to a read token of that account (create one at ${hub.endpoint}/settings/tokens); no HF_TOKEN is set`;
    } else if (gated) {
      message = `the account of HF_TOKEN has no access to the gated ${ctx.repo} yet: ${accept} and wait until the request is approved (the page says when), then run the command again`;
    } else if (token && status === 401) {
      message = `${hub.endpoint} refused HF_TOKEN for ${ctx.repo} (HTTP 401: the token is invalid or expired); create a read token at ${hub.endpoint}/settings/tokens`;
    } else {
      message = `${ctx.url} answered ${status}: ${ctx.repo} is gated or private. ${accept[0]!.toUpperCase()}${accept.slice(1)} and set HF_TOKEN to a read token of that account${token ? ' (the HF_TOKEN given was refused)' : ' (no HF_TOKEN is set)'}`;
    }
    return new HubAccessError(message, ctx.url, status, ctx.repo, page, gated, token);
  }
  if (status === 404) {
    const what = ctx.path === undefined ? `${ctx.url} (404)` : `no file ${ctx.path} at revision ${ctx.revision}`;
    return new HubNotFoundError(`${ctx.repo} has ${what}`, ctx.url, status, ctx.path === undefined ? 'repo' : 'file', ctx.repo);
  }
  return new DownloadError(`${ctx.url} answered HTTP ${status}${hubSays ? ` (${hubSays})` : ''}`, ctx.url, status);
}

/** Refuses an HTML page where a file or JSON was expected (a proxy, a login portal, a wrong HF_ENDPOINT). */
export function assertNotHtml(hub: HubClient, res: Response, url: string): void {
  const type = res.headers.get('content-type') ?? '';
  if (/^\s*text\/html/i.test(type)) {
    void res.body?.cancel().catch(() => undefined);
    throw new HubResponseError(
      `${url} answered an HTML page instead of the file: HF_ENDPOINT (${hub.endpoint}) may point at a web page, a proxy or a login portal rather than the Hub`,
      url,
      res.status,
    );
  }
}

/** The licence a repo's card declares (best effort, for the gated-repo message; undefined when unknown). */
async function licenceOf(hub: HubClient, repo: string): Promise<string | undefined> {
  try {
    const { res } = await hubFetch(hub, `${hub.endpoint}/api/models/${repo}`);
    if (!res.ok || !/json/i.test(res.headers.get('content-type') ?? '')) {
      await res.body?.cancel();
      return undefined;
    }
    const info = (await res.json()) as { cardData?: { license?: unknown; license_name?: unknown } };
    const name = info.cardData?.license_name ?? info.cardData?.license;
    return typeof name === 'string' && /^[\w.+ -]{1,60}$/.test(name) ? name : undefined;
  } catch {
    return undefined;
  }
}
