/**
 * The worker re-checks every request it receives: the page-side client validates too, but a worker can be
 * driven by any code holding its port, and a malformed request must fail clearly, not deep in the engine.
 */
import { AegisInputError } from '../core/errors.js';
import { resolvePolicy } from '../core/policy.js';
import { validateCustomCategories } from '../core/taxonomy.js';
import { validateMaxInputChars } from '../windowing/limits.js';
import type { CheckRequest } from './protocol.js';

export function validateCheckRequest(request: CheckRequest): void {
  if (typeof request !== 'object' || request === null) throw new AegisInputError('A check request must be an object.');
  if (typeof request.id !== 'string' || request.id === '') throw new AegisInputError('A check request needs a non-empty string id.');
  if (request.target !== 'prompt' && request.target !== 'response') {
    throw new AegisInputError(`target must be 'prompt' or 'response', got ${JSON.stringify(request.target)}.`);
  }
  if (typeof request.user !== 'string') throw new AegisInputError('The user message must be a string.');
  if (request.target === 'response' && typeof request.response !== 'string') {
    throw new AegisInputError('A response check needs the reply text as a string.');
  }
  if (request.target === 'prompt' && request.response !== undefined) {
    throw new AegisInputError('A prompt check must not carry a reply; use target "response".');
  }
  if (request.timeoutMs !== undefined && !(Number.isFinite(request.timeoutMs) && request.timeoutMs >= 0)) {
    throw new AegisInputError('timeoutMs must be a non-negative number of milliseconds.');
  }
  if (request.judge !== undefined && request.judge !== 'auto' && request.judge !== 'fast' && request.judge !== 'json') {
    throw new AegisInputError(`judge must be 'auto', 'fast' or 'json', got ${JSON.stringify(request.judge)}.`);
  }
  if (request.maxInputChars !== undefined) validateMaxInputChars(request.maxInputChars);
  validateCustomCategories(request.categories);
  resolvePolicy(request.policy);
}
