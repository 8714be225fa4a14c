/**
 * A judge turns one check request into the model's raw judgement using the Engine port. The JSON judge
 * (json-judge.ts) generates the model's whole JSON answer; the fast judge reads the rating from the first
 * output token's logits. Both report the rating early through `onDecision`.
 */
import type { Engine } from '../engine/engine.js';
import type { ModelJudgement as Judgement } from '../core/verdict.js';
import type { Decision } from '../core/types.js';
import type { CheckRequest } from './protocol.js';

export type { Judgement };

export interface JudgeContext {
  signal: AbortSignal;
  onDecision(decision: Decision): void;
}

export type Judge = (engine: Engine, request: CheckRequest, context: JudgeContext) => Promise<Judgement>;
