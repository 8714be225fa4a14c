#!/usr/bin/env node
// Checks what `npm pack` would ship (run by `prepack`, after the build). Exits 1, listing every problem, when:
//   - an `exports` target, its `types`, a `bin` target or `customElements` is not in the tarball;
//   - a JavaScript export has no `types`;
//   - a shipped module imports (statically, dynamically or through `new URL(..., import.meta.url)`) a relative
//     path that is not shipped;
//   - a source map or declaration map is missing, names a source that is not shipped, or (JavaScript maps) lacks
//     `sourcesContent`;
//   - LICENSE is missing, or test files are shipped.
// Usage: node scripts/check-package.mjs [package folder]   (default: the current folder)
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join, normalize, posix } from 'node:path';

const root = process.argv[2] ?? process.cwd();
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
const packed = JSON.parse(
  execFileSync(npm, ['pack', '--dry-run', '--json', '--ignore-scripts', '--loglevel=error'], { cwd: root, encoding: 'utf8', shell: process.platform === 'win32' }),
);
const files = new Set(packed[0].files.map((f) => posix.normalize(f.path)));
const problems = [];
const problem = (text) => problems.push(text);

/** A package-relative path ('./dist/x.js', 'dist/x.js') in the tarball's form ('dist/x.js'). */
const inPackage = (path) => posix.normalize(path.replace(/^\.\//, ''));
const shipped = (path) => files.has(inPackage(path));
/** Resolves `specifier` written in shipped file `from` to a package path. */
const resolveFrom = (from, specifier) => posix.normalize(posix.join(posix.dirname(from), specifier));
const read = (path) => readFileSync(join(root, normalize(path)), 'utf8');

// exports, types, bin, customElements
let exportCount = 0;
function checkTarget(subpath, target, conditions) {
  if (typeof target === 'string') {
    exportCount++;
    if (target.includes('*')) problem(`exports["${subpath}"]: wildcard targets are not checked (${target})`);
    else if (!shipped(target)) problem(`exports["${subpath}"]${conditions.map((c) => `.${c}`).join('')} -> ${target} is not in the package`);
    return;
  }
  if (target === null) return;
  if (Array.isArray(target)) return target.forEach((t) => checkTarget(subpath, t, conditions));
  for (const [condition, value] of Object.entries(target)) checkTarget(subpath, value, [...conditions, condition]);
  const js = Object.entries(target).some(([c, v]) => c !== 'types' && typeof v === 'string' && v.endsWith('.js'));
  if (js && typeof target.types !== 'string') problem(`exports["${subpath}"]: a JavaScript target without "types"`);
}
const exportsMap = typeof pkg.exports === 'string' || Array.isArray(pkg.exports) ? { '.': pkg.exports } : (pkg.exports ?? {});
if (Object.keys(exportsMap).length === 0) problem('package.json has no "exports"');
for (const [subpath, target] of Object.entries(exportsMap)) {
  if (typeof target === 'string' && target.endsWith('.js')) problem(`exports["${subpath}"]: a JavaScript target without "types"`);
  checkTarget(subpath, target, []);
}
for (const field of ['main', 'module', 'types', 'typings', 'customElements']) {
  if (typeof pkg[field] === 'string' && !shipped(pkg[field])) problem(`package.json "${field}" -> ${pkg[field]} is not in the package`);
}
const bins = typeof pkg.bin === 'string' ? { [pkg.name]: pkg.bin } : (pkg.bin ?? {});
for (const [name, target] of Object.entries(bins)) {
  if (!shipped(target)) problem(`bin "${name}" -> ${target} is not in the package`);
  else if (!read(inPackage(target)).startsWith('#!')) problem(`bin "${name}" -> ${target} has no #! line`);
}
if (![...files].some((f) => /^(LICEN[CS]E|COPYING)(\.|$)/i.test(f))) problem('no LICENSE file in the package');
for (const f of files) if (/^test\//.test(f) || /\.test\.[cm]?[jt]s$/.test(f)) problem(`a test file is shipped: ${f}`);

// relative imports of shipped modules (bin targets included)
const SPECIFIERS = [
  /\b(?:import|export)\s[^'"`;]*?\bfrom\s*['"]([^'"]+)['"]/g,
  /\bimport\s*['"]([^'"]+)['"]/g,
  /\bimport\(\s*['"]([^'"]+)['"]\s*\)/g,
  /\bnew URL\(\s*['"]([^'"]+)['"]\s*,\s*import\.meta\.url\s*\)/g,
];
const withoutComments = (text) => text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:\\])\/\/.*$/gm, '$1');
let moduleCount = 0;
for (const f of files) {
  const isJs = /\.[cm]?js$/.test(f) || Object.values(bins).some((b) => inPackage(b) === f);
  const isDts = /\.d\.[cm]?ts$/.test(f);
  if (!isJs && !isDts) continue;
  moduleCount++;
  const text = read(f);
  const code = withoutComments(text);
  for (const pattern of SPECIFIERS) {
    for (const m of code.matchAll(pattern)) {
      const specifier = m[1];
      if (!specifier.startsWith('.')) continue;
      const target = resolveFrom(f, specifier);
      const candidates = isDts ? [target, target.replace(/\.([cm]?)js$/, '.d.$1ts'), `${target}.d.ts`, `${target}/index.d.ts`] : [target];
      if (!candidates.some((c) => files.has(c))) problem(`${f}: imports ${specifier}, which is not in the package`);
    }
  }
  const map = /\/\/# sourceMappingURL=(\S+)\s*$/.exec(text)?.[1];
  if (map && !map.startsWith('data:') && !files.has(resolveFrom(f, map))) problem(`${f}: its map ${map} is not in the package`);
}

// source maps and declaration maps
let mapCount = 0;
for (const f of files) {
  if (!f.endsWith('.map')) continue;
  mapCount++;
  let map;
  try {
    map = JSON.parse(read(f));
  } catch {
    problem(`${f}: not JSON`);
    continue;
  }
  const base = posix.join(posix.dirname(f), map.sourceRoot ?? '');
  for (const source of map.sources ?? []) {
    const target = posix.normalize(posix.join(base, source));
    if (!files.has(target)) problem(`${f}: source ${source} (${target}) is not in the package`);
  }
  const declarationMap = /\.d\.[cm]?ts\.map$/.test(f);
  if (!declarationMap) {
    const content = map.sourcesContent ?? [];
    if (content.length !== (map.sources ?? []).length || content.some((c) => typeof c !== 'string')) problem(`${f}: no sourcesContent`);
  }
}

if (problems.length > 0) {
  console.error(`check-package: ${problems.length} problem(s) in what npm would pack from ${root}:`);
  for (const p of problems) console.error(`  - ${p}`);
  process.exit(1);
}
console.log(
  `check-package: ${pkg.name}@${pkg.version} ships ${files.size} files; ${exportCount} export targets, ${moduleCount} modules and ${mapCount} maps resolve.`,
);
