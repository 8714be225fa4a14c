/**
 * Whether an engine's loaded model offers the fast path, and why not: what `ModelInfo.fastPath`,
 * `prefixReuse` and `fastPathOff` report. Engine-agnostic (the port only).
 */
import type { Engine, FastPathStatus } from './engine.js';

const NO_TOKEN_ACCESS: FastPathStatus = {
  fastPath: false,
  prefixReuse: false,
  fastPathOff: { code: 'no-token-access', message: 'The engine offers no token-level access; checks decode the JSON answer.' },
};

const NO_ROLLBACK: FastPathStatus = {
  fastPath: true,
  prefixReuse: false,
  fastPathOff: {
    code: 'no-rollback',
    message: 'The engine cannot roll back its KV cache; every check prefills the whole prompt.',
  },
};

/**
 * The engine's own report when it gives one that agrees with what `tokens()` offers now, else one derived
 * from `tokens()`. A report never claims more than the session offers: a claimed fast path without a session,
 * or prefix reuse without `truncate`, is replaced by the derived status.
 */
export function fastPathStatusOf(engine: Engine): FastPathStatus {
  let session: ReturnType<Engine['tokens']>;
  try {
    session = engine.tokens();
  } catch {
    return NO_TOKEN_ACCESS;
  }
  let reported: FastPathStatus | undefined;
  try {
    reported = engine.fastPathStatus?.();
  } catch {
    reported = undefined;
  }
  if (!session) return reported && !reported.fastPath && reported.fastPathOff ? reported : NO_TOKEN_ACCESS;
  if (!session.truncate) {
    return reported && reported.fastPath && !reported.prefixReuse && reported.fastPathOff ? reported : NO_ROLLBACK;
  }
  return { fastPath: true, prefixReuse: true };
}
