/**
 * Test worker: the real guard service over the scripted engine whose token session rolls back wrongly
 * (skewed-session.ts). The skew comes from the weights URL, e.g. `/__fixtures/scripted-fast/skew=1/`
 * (`skew=-1`, `skew=ignored`); without it the rollback is exact.
 */
import * as Comlink from 'comlink';
import type { EngineLoadResult, LoadOptions, ModelSpec, TokenSession } from '../../src/engine/engine.js';
import { createServiceApi } from '../../src/worker/expose.js';
import { ScriptedEngine } from './scripted-engine.js';
import { skewedSession, type RollbackSkew } from './skewed-session.js';

class SkewedEngine extends ScriptedEngine {
  private skew: RollbackSkew = 0;
  /** One wrapper per session: the judge keys its prefix state on the session object. */
  private wrapped?: { inner: TokenSession; outer: TokenSession };

  override async load(spec: ModelSpec, options?: LoadOptions): Promise<EngineLoadResult> {
    const match = /\/skew=([^/]+)\//.exec(spec.weightsUrl);
    this.skew = !match ? 0 : match[1] === 'ignored' ? 'ignored' : Number(match[1]);
    return super.load(spec, options);
  }

  override tokens(): TokenSession | undefined {
    const inner = super.tokens();
    if (!inner) return undefined;
    if (this.wrapped?.inner !== inner) this.wrapped = { inner, outer: skewedSession(inner, this.skew) };
    return this.wrapped.outer;
  }
}

const engine = new SkewedEngine();
Comlink.expose({ ...createServiceApi(engine), stats: () => engine.stats });
