/**
 * A small command-line parser (no dependency): `--name value`, `--name=value`, boolean `--flag`,
 * positionals. Unknown options, missing values and repeated options are BuildArgumentErrors.
 */
import { BuildArgumentError } from './errors.js';

export interface OptionSpec {
  name: string;
  /** 'string' takes a value; 'boolean' does not. */
  type: 'string' | 'boolean';
  valueName?: string;
  help: string;
}

export interface ParsedArgs {
  options: Record<string, string | boolean | undefined>;
  positionals: string[];
}

export function parseArgs(argv: readonly string[], specs: readonly OptionSpec[]): ParsedArgs {
  const byName = new Map(specs.map((s) => [s.name, s]));
  const options: ParsedArgs['options'] = {};
  const positionals: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (!arg.startsWith('--') || arg === '--') {
      if (arg.startsWith('-') && arg !== '-' && arg !== '-h') throw new BuildArgumentError(`unknown option ${arg}`);
      if (arg === '-h') options.help = true;
      else positionals.push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    const name = arg.slice(2, eq < 0 ? undefined : eq);
    const spec = byName.get(name);
    if (!spec) throw new BuildArgumentError(`unknown option --${name}${suggest(name, specs)}`);
    if (options[name] !== undefined) throw new BuildArgumentError(`--${name} is given twice`);
    if (spec.type === 'boolean') {
      if (eq >= 0) throw new BuildArgumentError(`--${name} takes no value`);
      options[name] = true;
      continue;
    }
    let value: string | undefined;
    if (eq >= 0) value = arg.slice(eq + 1);
    else {
      value = argv[i + 1];
      if (value === undefined || value.startsWith('--')) throw new BuildArgumentError(`--${name} needs a value (${spec.valueName ?? 'value'})`);
      i++;
    }
    if (value === '') throw new BuildArgumentError(`--${name} needs a non-empty value`);
    options[name] = value;
  }
  return { options, positionals };
}

function suggest(name: string, specs: readonly OptionSpec[]): string {
  const close = specs.filter((s) => distance(s.name, name) <= 2).map((s) => `--${s.name}`);
  return close.length > 0 ? ` (did you mean ${close.join(' or ')}?)` : '';
}

function distance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...new Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0]![j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      d[i]![j] = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
  }
  return d[a.length]![b.length]!;
}

/** Help text lines for a list of options. */
export function formatOptions(specs: readonly OptionSpec[]): string {
  const left = specs.map((s) => `  --${s.name}${s.type === 'string' ? ` <${s.valueName ?? 'value'}>` : ''}`);
  const width = Math.max(...left.map((l) => l.length)) + 2;
  return specs.map((s, i) => `${left[i]!.padEnd(width)}${s.help}`).join('\n');
}

export function integerOption(value: string | boolean | undefined, name: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (typeof value !== 'string' || !/^\d+$/.test(value) || !Number.isSafeInteger(n) || n <= 0) {
    throw new BuildArgumentError(`--${name} must be a positive integer, got ${String(value)}`);
  }
  return n;
}
