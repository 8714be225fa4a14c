/**
 * `aegis-guard/stream`: the stream guard on its own (also available as `guard.guardStream(...)`), and the
 * main-thread token estimate it sizes chunks with.
 */
export { guardStream, STREAM_DEFAULTS, type ResponseChecker } from './guard-stream.js';
export type { GuardStreamEvent, GuardStreamOptions, StreamSource } from './types.js';
export { estimateTokens } from '../windowing/token-estimate.js';
export { PROMPT_ELISION } from '../windowing/prompt-budget.js';
