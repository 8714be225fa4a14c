/**
 * A hostile engine behind the real Engine port: the scripted engine (scripted-engine.ts), plus behaviours a
 * broken or buggy runtime can show. Chosen per check by a marker anywhere in the judged text:
 *   [[hostile:never]]            complete() never settles and ignores its abort signal
 *   [[hostile:ignore-abort:MS]]  ignores the signal, answers normally after MS ms
 *   [[hostile:busy:MS]]          blocks the worker thread for MS ms (a synchronous loop), then answers
 *   [[hostile:busy:forever]]     blocks the worker thread for good
 *   [[hostile:close]]            the worker calls self.close() mid-check (nothing is reported to the page)
 *   [[hostile:unclonable:K]]     answers with a value structured clone refuses: K = fn | symbol | proxy | getter
 *   [[hostile:throw:K]]          throws a non-Error: K = string | null | undefined | number | object |
 *                                no-proto | bad-tostring | symbol | error-getter
 *   [[hostile:late-callback]]    answers, then keeps calling onText with another rating after settling
 *   [[hostile:twice]]            returns a thenable that resolves twice (safe, then unsafe) and then rejects
 * Load behaviour follows the weights URL, as in the scripted engine, plus:
 *   `hostile-load-result`   load() resolves with an unclonable result (a function as modelLibUrl)
 *   `hostile-progress`      progress reports with functions, throwing getters, NaN, and reports after load
 * Counters (`hostile`) let tests see what ran; `stats` are the scripted engine's.
 */
import type { Completion, CompleteOptions, EngineLoadResult, LoadOptions, ModelSpec } from '../../src/engine/engine.js';
import { ScriptedEngine } from './scripted-engine.js';

export interface HostileStats {
  /** Completions that were still running (never ended) when last counted. */
  abandoned: number;
  lateCallbacks: number;
}

function hostileMarker(text: string): [kind: string, arg: string] | undefined {
  const match = /\[\[\s*hostile:([a-z-]+)(?::([^\]]*))?\]\]/.exec(text);
  return match ? [match[1]!, match[2] ?? ''] : undefined;
}

function busyFor(ms: number): void {
  const end = performance.now() + ms;
  // eslint-disable-next-line no-empty
  while (performance.now() < end) {}
}

const never = <T>() => new Promise<T>(() => undefined);

const wait = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Values a misbehaving runtime might throw instead of an Error. */
function thrownValue(kind: string): unknown {
  switch (kind) {
    case 'string':
      return 'engine exploded (a string)';
    case 'null':
      return null;
    case 'undefined':
      return undefined;
    case 'number':
      return 42;
    case 'object':
      return { reason: 'an object' };
    case 'no-proto':
      return Object.create(null);
    case 'bad-tostring':
      return {
        toString() {
          throw new Error('toString throws');
        },
      };
    case 'symbol':
      return Symbol('thrown');
    case 'error-getter': {
      const error = new Error('x');
      Object.defineProperty(error, 'message', {
        get() {
          throw new Error('message getter throws');
        },
      });
      return error;
    }
    default:
      return `unknown throw kind ${kind}`;
  }
}

function unclonable(completion: Completion, kind: string): Completion {
  switch (kind) {
    case 'fn':
      return { ...completion, promptTokens: (() => 1) as unknown as number };
    case 'symbol':
      return { ...completion, decodeMs: Symbol('ms') as unknown as number };
    case 'proxy':
      return { ...completion, prefillMs: new Proxy({}, {}) as unknown as number };
    case 'getter':
      return Object.defineProperty({ ...completion }, 'text', {
        get() {
          throw new Error('text getter throws');
        },
      });
    default:
      return completion;
  }
}

export class HostileEngine extends ScriptedEngine {
  readonly hostile: HostileStats = { abandoned: 0, lateCallbacks: 0 };

  override async load(spec: ModelSpec, options: LoadOptions = {}): Promise<EngineLoadResult> {
    const url = spec.weightsUrl;
    if (url.includes('hostile-progress')) {
      const report = options.onProgress;
      const garbage: unknown[] = [
        { phase: 'fetching', progress: () => 0.5, text: 'a function as progress' },
        { phase: 'warp-speed', progress: 0.5, text: 'an unknown phase' },
        { phase: 'fetching', progress: Number.NaN, text: 'NaN' },
        Object.defineProperty({ phase: 'fetching', text: 'a throwing getter' }, 'progress', {
          get() {
            throw new Error('getter throws');
          },
        }),
        null,
        { phase: 'fetching', progress: 7, text: 'out of range, clamped' },
      ];
      for (const g of garbage) report?.(g as never);
      const result = await super.load(spec, options);
      // Reports after the load settled: a confused runtime.
      setTimeout(() => report?.({ phase: 'fetching', progress: 0.1, text: 'after the load' }), 0);
      return result;
    }
    const result = await super.load(spec, options);
    if (url.includes('hostile-load-result')) return { ...result, modelLibUrl: (() => 'lib.wasm') as unknown as string };
    return result;
  }

  override async complete(prompt: string, options: CompleteOptions): Promise<Completion> {
    const found = hostileMarker(prompt);
    if (!found) return super.complete(prompt, options);
    const [kind, arg] = found;
    const calm = { ...options, signal: undefined };
    switch (kind) {
      case 'never':
        this.hostile.abandoned++;
        return never();
      case 'ignore-abort':
        await wait(Number(arg));
        return super.complete(prompt, calm);
      case 'busy':
        if (arg === 'forever') for (;;) busyFor(1000);
        busyFor(Number(arg));
        return super.complete(prompt, calm);
      case 'close':
        (self as unknown as { close(): void }).close();
        return never();
      case 'unclonable':
        return unclonable(await super.complete(prompt, calm), arg);
      case 'throw':
        throw thrownValue(arg);
      case 'late-callback': {
        const completion = await super.complete(prompt, options);
        setTimeout(() => {
          this.hostile.lateCallbacks++;
          // Text that announces 'unsafe' at once, unlike the safe answer already given.
          options.onText?.('{"User Safety": "unsafe", "Safety Categories": "Violence"');
          options.onText?.('{"User Safety": "unsafe", "Response Safety": "unsafe", "Safety Categories": "Violence"');
        }, 0);
        return completion;
      }
      case 'twice': {
        const first = await super.complete(prompt, calm);
        const second = { ...first, text: '{"User Safety": "unsafe", "Safety Categories": "Violence"' };
        return {
          then(resolve: (c: Completion) => void, reject: (e: unknown) => void) {
            resolve(first);
            resolve(second);
            reject(new Error('rejected after resolving'));
          },
        } as unknown as Completion;
      }
      default:
        throw new Error(`hostile engine: unknown marker ${kind}`);
    }
  }
}
