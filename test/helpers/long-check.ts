/**
 * Node-side harness for long checks: the windowed judge over the scripted engines (fast path with the real
 * tokenizer, JSON path with the estimate), recording what the model actually received, window by window.
 */
import { verdictFromJudgement } from '../../src/core/verdict.js';
import type { Verdict } from '../../src/core/types.js';
import type { Engine, TokenSession } from '../../src/engine/engine.js';
import { judgeFast } from '../../src/worker/fast-judge.js';
import { judgeByJson } from '../../src/worker/json-judge.js';
import type { Judge, Judgement } from '../../src/worker/judge.js';
import type { CheckRequest } from '../../src/worker/protocol.js';
import { windowed } from '../../src/worker/windowed-judge.js';
import { undefuse } from './long-text.js';
import { NODE_SPEC, NodeFastEngine, judgeContext, type NodeFastEngineOptions } from './node-fast-engine.js';
import { ScriptedEngine, scriptedVerdict } from './scripted-engine.js';
import type { TextTokenizer } from './scripted-token-session.js';

const CONVERSATION = /<BEGIN CONVERSATION>\n\nuser: ([\s\S]*?)\n\n(?:response: agent: ([\s\S]*?)\n\n)?<END CONVERSATION>/;

/** One conversation as the model received it (defuser marks removed). */
export interface Received {
  user: string;
  response?: string;
}

export interface LongCheckEngine {
  engine: Engine;
  judge: Judge;
  /** Conversations the model received, in order, one per judged window (repeats of one check merged). */
  received: Received[];
}

/** The fast path: the windowed fast judge over the scripted KV-cache model. */
export async function fastLongCheck(tokenizer: TextTokenizer, options: NodeFastEngineOptions = {}): Promise<LongCheckEngine & { engine: NodeFastEngine }> {
  const received: Received[] = [];
  const engine = new NodeFastEngine(tokenizer, {
    ...options,
    answer: (user, response, written, writtenText) => {
      // Called at every forward after the assistant header. The first of a check has no rating written yet
      // (the cache ends with `{"User Safety": "`); later ones are the same check's decode steps.
      if (Object.keys(written).length === 0) {
        received.push({ user: undefuse(user), ...(response === undefined ? {} : { response: undefuse(response) }) });
      }
      return (options.answer ?? scriptedVerdict)(user, response, written, writtenText);
    },
  });
  await engine.load(NODE_SPEC);
  return { engine, judge: windowed(judgeFast), received };
}

/** The JSON path: the windowed JSON judge over the scripted engine without token access. */
export async function jsonLongCheck(engine: ScriptedEngine = new ScriptedEngine()): Promise<LongCheckEngine & { engine: ScriptedEngine }> {
  await engine.load(NODE_SPEC);
  const received: Received[] = [];
  const start = engine.stats.prompts.length;
  return {
    engine,
    judge: windowed(judgeByJson),
    get received() {
      received.length = 0;
      for (const prompt of engine.stats.prompts.slice(start)) {
        const m = CONVERSATION.exec(prompt);
        if (m) received.push({ user: undefuse(m[1]!), ...(m[2] === undefined ? {} : { response: undefuse(m[2]) }) });
      }
      return received;
    },
  };
}

/** Runs one check and returns the judgement and the verdict the service would send. */
export async function runCheck(
  { engine, judge }: LongCheckEngine,
  request: CheckRequest,
  signal?: AbortSignal,
): Promise<{ judgement: Judgement; verdict: Verdict; decisions: ReturnType<typeof judgeContext>['decisions'] }> {
  const context = judgeContext(signal);
  const judgement = await judge(engine, request, context);
  return { judgement, verdict: verdictFromJudgement(judgement, request, { queuedMs: 0, totalMs: 0 }, false), decisions: context.decisions };
}

/** A TokenSession passing every call to `session`, with some replaced (for counting, aborting, yielding). */
export function delegateSession(session: TokenSession, overrides: Partial<Pick<TokenSession, 'encode' | 'forward'>>): TokenSession {
  return {
    encode: overrides.encode ?? ((text) => session.encode(text)),
    decode: (ids) => session.decode(ids),
    kvLength: () => session.kvLength(),
    cacheEpoch: () => session.cacheEpoch(),
    forward: overrides.forward ?? ((ids, signal) => session.forward(ids, signal)),
    reset: () => session.reset(),
    ...(session.truncate ? { truncate: (length: number) => session.truncate!(length) } : {}),
    get contextWindow() {
      return session.contextWindow;
    },
  };
}
