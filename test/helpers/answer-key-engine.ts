/**
 * The scripted engine answering from a planted answer key instead of markers: the key maps a judged text
 * (a prompt, or a reply) to what the model says about it. Texts the key does not know fall back to the
 * markers (so `[[fault:engine]]` still works), and with no marker to P(unsafe) 0.02.
 *
 * The key is planted by `plant(key)` (through Comlink, see answer-key.worker.ts) or, when the weights URL
 * contains `answer-key`, read from `answer-key.json` in the weights folder during load (for pages the
 * test cannot reach into, e.g. the CLI's).
 */
import type { EngineLoadResult, LoadOptions, ModelSpec } from '../../src/engine/engine.js';
import { ScriptedEngine, scriptedVerdict } from './scripted-engine.js';
import type { ScriptedAnswer, WrittenRatings } from './scripted-token-session.js';

export interface PlantedAnswer {
  /** P(unsafe) the model gives the text; it is rated unsafe iff p >= 0.5. */
  p: number;
  /** Category names it writes when unsafe. Default ['Violence']. */
  categories?: string[];
  /** The JSON path (complete()) answers as if P(unsafe) were this: a planted fast/JSON disagreement. */
  jsonP?: number;
  /** The model writes this instead of a verdict: unreadable output, a fail-closed verdict. */
  raw?: string;
}

export type AnswerKey = Record<string, PlantedAnswer>;

/** The marker text that makes the scripted engine answer as `answer` says. */
function asMarkers(answer: PlantedAnswer, path: 'complete' | 'tokens'): string {
  if (answer.raw !== undefined) return `[[raw:${answer.raw}]]`;
  const p = path === 'complete' && answer.jsonP !== undefined ? answer.jsonP : answer.p;
  return `[[unsafe:${(answer.categories ?? ['Violence']).join(', ')}]][[p:${p}]]`;
}

export class AnswerKeyEngine extends ScriptedEngine {
  private key = new Map<string, PlantedAnswer>();

  plant(key: AnswerKey): void {
    this.key = new Map(Object.entries(key));
  }

  override async load(spec: ModelSpec, options?: LoadOptions): Promise<EngineLoadResult> {
    if (spec.weightsUrl.includes('answer-key')) {
      const response = await fetch(new URL('answer-key.json', spec.weightsUrl));
      if (!response.ok) throw new Error(`answer-key.json: HTTP ${response.status}`);
      this.plant((await response.json()) as AnswerKey);
    }
    return super.load(spec, options);
  }

  protected override answerFor(user: string, response: string | undefined, written: WrittenRatings, path: 'complete' | 'tokens'): ScriptedAnswer {
    const keyed = (text: string) => {
      const answer = this.key.get(text);
      return answer ? asMarkers(answer, path) : text;
    };
    return scriptedVerdict(keyed(user), response === undefined ? undefined : keyed(response), written);
  }
}
