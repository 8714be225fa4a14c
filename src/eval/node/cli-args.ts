/** Argument parsing shared by `aegis-guard eval` and `smoke:real`: typed values and plain errors. */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { CliError } from './cli-error.js';
import type { BrowserEvalOptions } from './browser-eval.js';
import type { GpuMode } from './chromium.js';

type StrictConfig<T extends NonNullable<ParseArgsConfig['options']>> = { args: string[]; options: T; strict: true; allowPositionals: false };

// The return type is spelled out so the declaration emit (npm run build) can name it.
export function parse<T extends NonNullable<ParseArgsConfig['options']>>(argv: string[], options: T): ReturnType<typeof parseArgs<StrictConfig<T>>>['values'] {
  try {
    return parseArgs({ args: argv, options, strict: true, allowPositionals: false }).values;
  } catch (error) {
    throw new CliError(`${error instanceof Error ? error.message : String(error)} (see --help)`, 2);
  }
}

export function number(value: string | undefined, name: string, check: (n: number) => boolean, what: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || !check(n)) throw new CliError(`--${name} must be ${what}; got "${value}".`, 2);
  return n;
}

export function variant(value: string | undefined): 'auto' | 'q4f16_1' | 'q4f32_1' | undefined {
  if (value === undefined) return undefined;
  if (value !== 'auto' && value !== 'q4f16_1' && value !== 'q4f32_1') throw new CliError(`--variant must be auto, q4f16_1 or q4f32_1; got "${value}".`, 2);
  return value;
}

export function gpu(value: string | undefined): GpuMode | undefined {
  if (value === undefined) return undefined;
  if (value !== 'default' && value !== 'vulkan') throw new CliError(`--gpu must be default or vulkan; got "${value}".`, 2);
  return value;
}

/** Options every browser-driving command takes. */
export const BROWSER_OPTIONS = {
  model: { type: 'string' },
  'model-lib': { type: 'string' },
  variant: { type: 'string' },
  timeout: { type: 'string' },
  browser: { type: 'string' },
  gpu: { type: 'string' },
  headed: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

/**
 * The browser side of a run from the BROWSER_OPTIONS given (variant, which Chromium and how to start it), with
 * the test seams (a scripted worker, extra folders to serve).
 */
export function browserRunOptions(
  args: { variant?: string; browser?: string; gpu?: string; headed?: boolean },
  env: NodeJS.ProcessEnv,
  hooks: Pick<BrowserEvalOptions, 'workerPath' | 'extraMounts'>,
): Pick<BrowserEvalOptions, 'variant' | 'chromium' | 'workerPath' | 'extraMounts'> {
  return {
    ...(variant(args.variant) ? { variant: variant(args.variant) } : {}),
    chromium: {
      ...(args.browser ? { executablePath: args.browser } : {}),
      ...(gpu(args.gpu) ? { gpu: gpu(args.gpu) } : {}),
      headed: args.headed === true,
      env,
    },
    ...(hooks.workerPath ? { workerPath: hooks.workerPath } : {}),
    ...(hooks.extraMounts ? { extraMounts: hooks.extraMounts } : {}),
  };
}

export const BROWSER_HELP = `  --model <folder URL or path>   a folder built by build-model (may contain {variant})
  --model-lib <URL or path>      the model library (.wasm); default WebLLM's stock one for the variant
  --variant auto|q4f16_1|q4f32_1 default auto (q4f16_1 when the GPU has shader-f16)
  --timeout <ms>                 per-check limit once a check starts (default 30000)
  --browser <path>               Chromium or Chrome to run (default $CHROMIUM_PATH, /usr/bin/chromium, installed Chrome)
  --gpu default|vulkan           vulkan: Linux flags for a real GPU through Vulkan (see docs/accuracy.md)
  --headed                       show the browser window`;
