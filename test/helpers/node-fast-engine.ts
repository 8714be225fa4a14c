/**
 * Node-side scripted engine with token access: the scripted engine's complete() (JSON path) plus a
 * ScriptedTokenSession over the real Llama-3 tokenizer, answering with the same markers. For judge-level
 * tests and the fast-verdicts benchmark, where no worker or browser is needed.
 */
import { resolvePolicy } from '../../src/core/policy.js';
import type { CustomCategory, Decision, Policy, Target } from '../../src/core/types.js';
import type { ModelSpec, TokenSession } from '../../src/engine/engine.js';
import type { JudgeContext } from '../../src/worker/judge.js';
import type { CheckRequest } from '../../src/worker/protocol.js';
import { ScriptedEngine, scriptedVerdict } from './scripted-engine.js';
import {
  ScriptedTokenSession,
  emptyTokenSessionStats,
  type ScriptedAnswerFn,
  type TextTokenizer,
  type TokenSessionStats,
} from './scripted-token-session.js';

export const NODE_SPEC: ModelSpec = {
  modelId: 'scripted',
  variant: 'q4f32_1',
  weightsUrl: 'http://localhost/scripted-model/',
  baseModel: 'Llama-3.1-8B-Instruct',
  requiredFeatures: [],
  contextWindow: 4096,
};

export interface NodeFastEngineOptions {
  rollback?: boolean;
  contextWindow?: number;
  answer?: ScriptedAnswerFn;
  /** Wraps the session (e.g. to break it on purpose). */
  wrap?: (session: ScriptedTokenSession) => TokenSession;
}

export class NodeFastEngine extends ScriptedEngine {
  readonly tokenStats: TokenSessionStats = emptyTokenSessionStats();
  readonly scriptedSession: ScriptedTokenSession;
  private readonly exposed: TokenSession;

  constructor(tokenizer: TextTokenizer, options: NodeFastEngineOptions = {}) {
    super();
    this.scriptedSession = new ScriptedTokenSession({
      tokenizer,
      contextWindow: options.contextWindow ?? 4096,
      rollback: options.rollback ?? true,
      answer: options.answer ?? scriptedVerdict,
      // The same delay and fault markers as in the browser (needs load() first, like every engine).
      beforeForward: (context) => this.beforeForward(context),
      stats: this.tokenStats,
    });
    this.exposed = options.wrap ? options.wrap(this.scriptedSession) : this.scriptedSession;
  }

  override tokens(): TokenSession | undefined {
    return this.exposed;
  }
}

let counter = 0;
export function checkRequest(
  target: Target,
  user: string,
  options: { response?: string; categories?: CustomCategory[]; policy?: Partial<Policy>; wantCategories?: boolean } = {},
): CheckRequest {
  return {
    id: `c${++counter}`,
    target,
    user,
    ...(options.response === undefined ? {} : { response: options.response }),
    categories: options.categories ?? [],
    policy: resolvePolicy(options.policy),
    ...(options.wantCategories ? { wantCategories: true } : {}),
  };
}

export function judgeContext(signal: AbortSignal = new AbortController().signal): JudgeContext & { decisions: Decision[] } {
  const decisions: Decision[] = [];
  return { signal, decisions, onDecision: (d) => decisions.push(d) };
}
