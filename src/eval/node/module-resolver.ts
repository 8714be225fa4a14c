/**
 * Just enough of a module server for the browser: bare import specifiers (`comlink`, `@mlc-ai/web-llm`)
 * become URLs of the files Node's package resolution would pick for a browser (`exports` with the browser,
 * import and default conditions, else `module` / `main`). Workers get no import maps, so the specifiers are
 * rewritten in the served source instead.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';

const CONDITIONS = ['browser', 'import', 'module', 'default'];

type ExportsValue = string | null | ExportsValue[] | { [key: string]: ExportsValue };

function pickTarget(value: ExportsValue | undefined): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'string') return value;
  if (Array.isArray(value)) {
    for (const v of value) {
      const t = pickTarget(v);
      if (t) return t;
    }
    return undefined;
  }
  for (const condition of CONDITIONS) {
    if (condition in value) {
      const t = pickTarget(value[condition]);
      if (t) return t;
    }
  }
  return undefined;
}

function splitSpecifier(spec: string): { name: string; subpath: string } {
  const parts = spec.split('/');
  const count = spec.startsWith('@') ? 2 : 1;
  const name = parts.slice(0, count).join('/');
  const rest = parts.slice(count).join('/');
  return { name, subpath: rest ? `./${rest}` : '.' };
}

function findPackageDir(name: string, fromDir: string): string | undefined {
  for (let dir = fromDir; ; dir = dirname(dir)) {
    const candidate = join(dir, 'node_modules', name);
    if (existsSync(join(candidate, 'package.json'))) return candidate;
    if (dirname(dir) === dir) return undefined;
  }
}

function exportsTarget(exportsField: ExportsValue, subpath: string): string | undefined {
  if (typeof exportsField === 'string' || Array.isArray(exportsField)) return subpath === '.' ? pickTarget(exportsField) : undefined;
  if (exportsField === null) return undefined;
  const keys = Object.keys(exportsField);
  if (!keys.some((k) => k.startsWith('.'))) return subpath === '.' ? pickTarget(exportsField) : undefined;
  if (subpath in exportsField) return pickTarget(exportsField[subpath]);
  // Pattern exports: "./sub/*": "./dist/sub/*.js"
  for (const key of keys) {
    const star = key.indexOf('*');
    if (star < 0) continue;
    const [head, tail] = [key.slice(0, star), key.slice(star + 1)];
    if (subpath.startsWith(head) && subpath.endsWith(tail)) {
      const target = pickTarget(exportsField[key]);
      return target?.replace('*', subpath.slice(head.length, subpath.length - tail.length));
    }
  }
  return undefined;
}

/** The file a bare specifier imported from `fromFile` resolves to, or undefined. */
export function resolveBareSpecifier(spec: string, fromFile: string): string | undefined {
  const { name, subpath } = splitSpecifier(spec);
  const dir = findPackageDir(name, dirname(fromFile));
  if (!dir) return undefined;
  const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as {
    exports?: ExportsValue;
    module?: string;
    browser?: unknown;
    main?: string;
  };
  let target: string | undefined;
  if (pkg.exports !== undefined) target = exportsTarget(pkg.exports, subpath);
  else if (subpath === '.') target = pkg.module ?? (typeof pkg.browser === 'string' ? pkg.browser : undefined) ?? pkg.main ?? 'index.js';
  else target = subpath;
  if (!target) return undefined;
  const file = join(dir, target);
  if (existsSync(file) && statSync(file).isFile()) return file;
  for (const ext of ['.js', '.mjs', '/index.js']) if (existsSync(file + ext)) return file + ext;
  return undefined;
}

const IMPORT = /(\bfrom\s*|\bimport\s*\(\s*|\bimport\s+)(['"])([^'"\s]+)\2/g;

const isBare = (spec: string) => !/^(?:[./]|[a-z][a-z0-9+.-]*:)/i.test(spec);

/** Rewrites the bare specifiers of a module's imports with `toUrl(resolvedFile)`; unresolvable ones are left. */
export function rewriteBareImports(source: string, fromFile: string, toUrl: (file: string) => string): string {
  return source.replace(IMPORT, (whole, lead: string, quote: string, spec: string) => {
    if (!isBare(spec)) return whole;
    const file = resolveBareSpecifier(spec, fromFile);
    return file ? `${lead}${quote}${toUrl(file)}${quote}` : whole;
  });
}

const ESM_SYNTAX = /^\s*(?:import\s*[\w{*'"]|export\s)/m;

/**
 * A CommonJS or UMD file (no import/export statement) wrapped as an ES module: it runs with `module` and
 * `exports` in scope; `exports.x = ...` assignments become named exports, the whole object the default.
 */
export function wrapCommonJs(source: string): string | undefined {
  if (ESM_SYNTAX.test(source) || !/\bexports\b/.test(source)) return undefined;
  const names = new Set<string>();
  for (const m of source.matchAll(/\bexports\.([A-Za-z_$][\w$]*)\s*=|\bexports\[["']([A-Za-z_$][\w$]*)["']\]\s*=/g)) names.add((m[1] ?? m[2])!);
  names.delete('default');
  names.delete('__esModule');
  const named = [...names].map((n) => `export const ${n} = module.exports.${n};`).join('\n');
  return `const module = { exports: {} };\nconst exports = module.exports;\n(function () {\n${source}\n}).call(globalThis);\n${named}\nexport default module.exports;\n`;
}
