/**
 * What `npm pack` ships, and whether it works for the people who install it: a fresh copy of the project is
 * built with the real build script, scripts/check-package.mjs checks the would-be tarball, and the packed
 * tarball is installed into consumer projects that `tsc` compiles without skipLibCheck, under node16 and
 * bundler resolution, in the browser and in Node, with React 19, Preact, Vue (TSX, and SFC templates through
 * vue-tsc), Svelte 5 (svelte-check) and Solid JSX.
 */
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { linkDependencies } from '../helpers/consumer-project.js';

const PROJECT = fileURLToPath(new URL('../../', import.meta.url));
const NODE_MODULES = join(PROJECT, 'node_modules');
const TSC = join(NODE_MODULES, 'typescript', 'bin', 'tsc');
const VUE_TSC = join(NODE_MODULES, 'vue-tsc', 'bin', 'vue-tsc.js');
const SVELTE_CHECK = join(NODE_MODULES, 'svelte-check', 'bin', 'svelte-check');
const COPIED = ['package.json', 'tsconfig.json', 'tsconfig.build.json', 'README.md', 'LICENSE', 'custom-elements.json', 'src', 'scripts', 'bin', 'adapters'];

let work: string;
let pkgDir: string;
let tarball: string;

/** Runs a command; returns its exit status and everything it printed. */
function run(command: string, args: string[], cwd: string): { status: number; output: string } {
  try {
    const output = execFileSync(command, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, npm_config_loglevel: 'error' } });
    return { status: 0, output };
  } catch (error) {
    const e = error as { status?: number; stdout?: string; stderr?: string };
    return { status: e.status ?? 1, output: `${e.stdout ?? ''}${e.stderr ?? ''}` };
  }
}
const node = (args: string[], cwd: string) => run(process.execPath, args, cwd);
const npm = (args: string[], cwd: string) => run(process.platform === 'win32' ? 'npm.cmd' : 'npm', args, cwd);

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'aegis-package-'));
  pkgDir = join(work, 'package');
  mkdirSync(pkgDir);
  for (const entry of COPIED) cpSync(join(PROJECT, entry), join(pkgDir, entry), { recursive: true });
  symlinkSync(NODE_MODULES, join(pkgDir, 'node_modules'), 'junction');
  const build = npm(['run', 'build'], pkgDir);
  if (build.status !== 0) throw new Error(`npm run build failed:\n${build.output}`);
  const packed = npm(['pack', '--ignore-scripts', '--json', '--pack-destination', work], pkgDir);
  if (packed.status !== 0) throw new Error(`npm pack failed:\n${packed.output}`);
  tarball = join(work, (JSON.parse(packed.output) as Array<{ filename: string }>)[0]!.filename);
}, 300_000);

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

// Each step runs tsc or npm on a whole project: tens of seconds on a busy machine, so the limits are wide.
const SLOW = { timeout: 300_000 };

describe('npm pack', SLOW, () => {
  test('prepack builds and checks the package', () => {
    const scripts = (JSON.parse(readFileSync(join(PROJECT, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts;
    expect(scripts.prepack).toMatch(/npm run build/);
    expect(scripts.prepack).toMatch(/check-package\.mjs/);
    expect(scripts.build).toMatch(/clean-dist\.mjs/);
  });

  test('the fresh build passes the check: exports, types, bin, imports and maps all resolve in the tarball', () => {
    const check = node([join(pkgDir, 'scripts', 'check-package.mjs'), pkgDir], pkgDir);
    expect(check.output).toMatch(/check-package: aegis-guard@\S+ ships \d+ files/);
    expect(check.status).toBe(0);
  });

  test('the tarball holds code, types, sources for the maps, the manifest, the JSX typings and the licence', () => {
    const list = execFileSync('tar', ['-tzf', tarball], { encoding: 'utf8' }).split('\n');
    for (const file of [
      'package/dist/index.js', 'package/dist/index.d.ts', 'package/dist/index.js.map', 'package/dist/index.d.ts.map',
      'package/src/index.ts', 'package/dist/worker/guard.worker.js', 'package/dist/jsx/react.d.ts', 'package/dist/jsx/preact.d.ts',
      'package/dist/jsx/vue.d.ts', 'package/dist/jsx/vue.js', 'package/dist/jsx/svelte.d.ts', 'package/dist/jsx/svelte.js',
      'package/dist/jsx/solid.d.ts', 'package/dist/jsx/solid.js',
      'package/custom-elements.json', 'package/LICENSE', 'package/bin/aegis-guard.js',
    ]) {
      expect(list, file).toContain(file);
    }
    expect(list.some((f) => f.startsWith('package/test/'))).toBe(false);
    const map = JSON.parse(readFileSync(join(pkgDir, 'dist', 'client', 'create-guard.js.map'), 'utf8')) as { sources: string[]; sourcesContent: string[] };
    expect(map.sources).toEqual(['../../src/client/create-guard.ts']);
    expect(map.sourcesContent[0]).toBe(readFileSync(join(pkgDir, 'src', 'client', 'create-guard.ts'), 'utf8'));
    expect(readFileSync(join(pkgDir, 'LICENSE'), 'utf8')).toMatch(/Apache License\s+Version 2\.0, January 2004/);
  });

  test('the check fails, naming the problem, when something it promises is missing', () => {
    const broken = join(work, 'broken');
    cpSync(pkgDir, broken, { recursive: true, dereference: false, filter: (src) => !src.endsWith('node_modules') });
    symlinkSync(NODE_MODULES, join(broken, 'node_modules'), 'junction');
    rmSync(join(broken, 'dist', 'stream', 'index.d.ts'));
    rmSync(join(broken, 'dist', 'worker', 'check-queue.js'));
    const mapPath = join(broken, 'dist', 'core', 'parse.js.map');
    const map = JSON.parse(readFileSync(mapPath, 'utf8')) as { sources: string[]; sourcesContent?: string[] };
    delete map.sourcesContent;
    map.sources = ['../../src/core/not-shipped.ts'];
    writeFileSync(mapPath, JSON.stringify(map));
    const check = node([join(broken, 'scripts', 'check-package.mjs'), broken], broken);
    expect(check.status).toBe(1);
    expect(check.output).toContain('exports["./stream"].types -> ./dist/stream/index.d.ts is not in the package');
    expect(check.output).toContain('dist/worker/guard-service.js: imports ./check-queue.js, which is not in the package');
    expect(check.output).toContain('dist/core/parse.js.map: source ../../src/core/not-shipped.ts');
    expect(check.output).toContain('dist/core/parse.js.map: no sourcesContent');
  });
});

const BROWSER_CONSUMER = `
import { createGuard, ModelLoadError, type Guard, type Verdict } from 'aegis-guard';
import { buildAegisPrompt, parseAegisOutput } from 'aegis-guard/core';
import { guardStream } from 'aegis-guard/stream';
import { AegisGuardElement, setDefaultLabels, type AegisVerdictEvent } from 'aegis-guard/element';
import { defineAegisGuard } from 'aegis-guard/define';
import { guardChatCompletionStream } from 'aegis-guard/integrations/openai';
import { deepChatGuard, type DeepChatHandler } from 'aegis-guard/integrations/deep-chat';
import type { AegisGuardJsxProps } from 'aegis-guard/jsx';
import 'aegis-guard/worker';

const guard: Guard = createGuard({ model: '/models/aegis-guard-2.0-{variant}/', failMode: 'closed' });
export async function allowed(text: string): Promise<boolean> {
  const verdict: Verdict = await guard.checkPrompt(text);
  return verdict.safe && !(verdict.failure && new ModelLoadError('x', 'y').url === '');
}
defineAegisGuard();
const element: AegisGuardElement = document.createElement('aegis-guard');
element.addEventListener('aegis-verdict', (event: AegisVerdictEvent) => console.log(event.detail.verdict.safe));
setDefaultLabels({ retry: 'Again' });
export const props: AegisGuardJsxProps = { role: 'assistant', 'fail-mode': 'open', 'onaegis-block': (e) => e.detail.categories };
const handler: DeepChatHandler = (_body, signals) => void signals.onResponse({ text: 'hi' });
export const kit = deepChatGuard(guard);
export const guarded = kit.streamHandler(handler);
export const prompt = buildAegisPrompt({ user: 'hi' });
export const parsed = parseAegisOutput('{"User Safety": "safe"}', 'prompt');
export const stream = guardStream(guard, 'q', (async function* () { yield 'a'; })());
export const chunks = guardChatCompletionStream(guard, 'q', (async function* () {})());
`;

const REACT_CONSUMER = `/// <reference types="aegis-guard/jsx/react" />
import { useState } from 'react';

export function Reply({ text }: { text: string }) {
  const [hidden, setHidden] = useState<string[]>([]);
  return (
    <div>
      <aegis-guard role="user" id="q1">How do I bake bread?</aegis-guard>
      <aegis-guard role="assistant" for="q1" badge text={text} fail-mode="closed" threshold={0.7}
        onaegis-block={(event) => setHidden(event.detail.categories.map((c) => c.name))} />
      {
        // @ts-expect-error: not a fail mode
        <aegis-guard fail-mode="sideways" />
      }
      <p>{hidden.join(', ')}</p>
    </div>
  );
}
`;

const PREACT_CONSUMER = `/** @jsxImportSource preact */
/// <reference types="aegis-guard/jsx/preact" />
export const reply = (text: string) => (
  <aegis-guard role="assistant" prompt="q" text={text} no-reveal onaegis-verdict={(event) => console.log(event.detail.verdict.rating)} />
);
// @ts-expect-error: role is user or assistant
export const bad = <aegis-guard role={3} />;
`;

// Vue TSX: Vue's own JSX accepts any element with any props, so only the typings make these errors.
const VUE_TSX_CONSUMER = `/** @jsxImportSource vue */
/// <reference types="aegis-guard/jsx/vue" />
import type { Guard } from 'aegis-guard';
export const reply = (text: string, guard: Guard, hide: (names: string[]) => void) => (
  <aegis-guard role="assistant" prompt="q" text={text} guard={guard} fail-mode="open" no-reveal class="reply"
    onAegisBlock={(event) => hide(event.detail.categories.map((c) => c.name))} />
);
// @ts-expect-error: not a fail mode
export const badMode = <aegis-guard fail-mode="sideways" />;
// @ts-expect-error: role is user or assistant
export const badRole = <aegis-guard role={3} />;
// @ts-expect-error: as an attribute, false would read as "false", which turns it on
export const badBoolean = <aegis-guard no-reveal={false} />;
`;

// Solid: a plain name is an attribute when static and the camel-cased property when dynamic, so only names that
// work both ways are plain; properties are prop:, attributes attr:/bool:, events on: (or on + lower case).
const SOLID_CONSUMER = `/** @jsxImportSource solid-js */
/// <reference types="aegis-guard/jsx/solid" />
import { createSignal } from 'solid-js';
import type { Guard } from 'aegis-guard';

export function Reply(props: { text: string; guard: Guard; mode: 'open' | 'closed' }) {
  const [hidden, setHidden] = createSignal<string[]>([]);
  return (
    <div>
      <aegis-guard role="user" id="q1" prop:text="How do I bake bread?" />
      <aegis-guard role="assistant" attr:for="q1" badge prop:text={props.text} prop:guard={props.guard}
        fail-mode={props.mode} threshold={0.7} no-reveal={false} bool:lazy={hidden().length > 0} attr:categories="violence,fraud"
        on:aegis-block={(event) => setHidden(event.detail.categories.map((c) => c.name))}
        onaegis-verdict={(event) => console.log(event.detail.verdict.rating)} />
      {
        // @ts-expect-error: not a fail mode
        <aegis-guard fail-mode="sideways" />
      }
      {
        // @ts-expect-error: role is user or assistant
        <aegis-guard role={3} />
      }
      {
        // @ts-expect-error: a static text="..." would be written as an attribute, which the element does not read
        <aegis-guard text="hello" />
      }
      {
        // @ts-expect-error: a dynamic for={...} would be assigned to a "for" property, not htmlFor
        <aegis-guard for={props.text} />
      }
      {
        // @ts-expect-error: the handler gets the element's event, not a mouse event
        <aegis-guard on:aegis-block={(event: MouseEvent) => event.clientX} />
      }
      <p>{hidden().join(', ')}</p>
    </div>
  );
}
`;

// Vue SFC templates, checked by vue-tsc with strictTemplates (unknown elements and props are errors).
const VUE_SFC_CONSUMER = `<script setup lang="ts">
import { ref } from 'vue';
import type { Guard } from 'aegis-guard';
const props = defineProps<{ text: string; guard: Guard }>();
const hidden = ref<string[]>([]);
</script>

<template>
  <aegis-guard role="user" id="q1">How do I bake bread?</aegis-guard>
  <aegis-guard role="assistant" for="q1" badge :text="props.text" :guard="props.guard" fail-mode="closed" :threshold="0.7"
    no-reveal @aegis-block="(event) => (hidden = event.detail.categories.map((c) => c.name))" />
  <!-- @vue-expect-error: not a fail mode -->
  <aegis-guard fail-mode="sideways" />
  <!-- @vue-expect-error: role is user or assistant -->
  <aegis-guard :role="3" />
  <!-- @vue-expect-error: text is a string -->
  <aegis-guard :text="42" />
  <!-- @vue-expect-error: the handler gets the element's event, not a number -->
  <aegis-guard @aegis-block="(event: number) => event" />
  <p>{{ hidden.join(', ') }}</p>
</template>
`;

// Svelte markup, checked by svelte-check (which has no expect-error comment for markup: the bad file's errors are
// matched line by line instead; its first line is the script tag that lets markup hold TypeScript).
const SVELTE_CONSUMER = `<script lang="ts">
  import type { Guard } from 'aegis-guard';
  let { text, guard }: { text: string; guard: Guard } = $props();
  let hidden: string[] = $state([]);
</script>

<aegis-guard role="user" id="q1">How do I bake bread?</aegis-guard>
<aegis-guard role="assistant" for="q1" badge {text} {guard} fail-mode="closed" threshold={0.7} no-reveal
  lazy={hidden.length > 0} onaegis-block={(event) => (hidden = event.detail.categories.map((c) => c.name))}></aegis-guard>
<p>{hidden.join(', ')}</p>
`;
const SVELTE_BAD = [
  ['<aegis-guard fail-mode="sideways"></aegis-guard>', /"sideways"/],
  ['<aegis-guard role={3}></aegis-guard>', /number/],
  ['<aegis-guard text={42}></aegis-guard>', /number/],
  ['<aegis-guard no-reveal={false}></aegis-guard>', /false/],
  ['<aegis-guard onaegis-block={(event: MouseEvent) => event}></aegis-guard>', /MouseEvent/],
] as const;

const AI_SDK_CONSUMER = `
import { wrapLanguageModel } from 'ai';
import { createGuard } from 'aegis-guard';
import { aegisGuardMiddleware, lastUserText } from 'aegis-guard/integrations/ai-sdk';

declare const model: Parameters<typeof wrapLanguageModel>[0]['model'];
export const guarded = wrapLanguageModel({ model, middleware: aegisGuardMiddleware(createGuard(), { onBlock: (b) => b.verdict.safe }) });
export const text = lastUserText([{ role: 'user', content: [{ type: 'text', text: 'hi' }] }]);
`;

const NODE_CONSUMER = `
import { buildModel, verifyModel } from 'aegis-guard/model-builder';
export const both = [buildModel, verifyModel];
`;

const DEEP_CHAT_CONSUMER = `
import type { DeepChat } from 'deep-chat';
import type { Handler } from 'deep-chat/dist/types/handler';
import { createGuard } from 'aegis-guard';
import { deepChatGuard } from 'aegis-guard/integrations/deep-chat';

declare const chat: DeepChat;
declare const theirHandler: Handler;
const kit = deepChatGuard(createGuard());
chat.requestInterceptor = kit.requestInterceptor;
chat.responseInterceptor = kit.responseInterceptor;
chat.connect = { stream: true, handler: kit.streamHandler(theirHandler) };
`;

interface Consumer {
  files: Record<string, string>;
  compilerOptions: Record<string, unknown>;
  /** Which checker compiles it: tsc, vue-tsc (.vue files) or svelte-check (.svelte files). */
  checker?: 'tsc' | 'vue-tsc' | 'svelte-check';
  /** Other tsconfig.json fields (vueCompilerOptions). */
  tsconfig?: Record<string, unknown>;
}

/** Writes a consumer project with the packed tarball installed, compiles it, returns the checker's result. */
function compile(name: string, consumer: Consumer): { status: number; output: string } {
  const dir = join(work, 'consumers', name);
  mkdirSync(join(dir, 'node_modules', 'aegis-guard'), { recursive: true });
  linkDependencies(dir);
  execFileSync('tar', ['-xzf', tarball, '-C', join(dir, 'node_modules', 'aegis-guard'), '--strip-components=1']);
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: `consumer-${name}`, private: true, type: 'module' }));
  for (const [file, text] of Object.entries(consumer.files)) writeFileSync(join(dir, file), text);
  const checker = consumer.checker ?? 'tsc';
  const tsconfig = {
    // skipDefaultLibCheck skips only TypeScript's own lib.*.d.ts (the slow part); every package's declarations,
    // ours first, are still checked.
    compilerOptions: { strict: true, noEmit: true, skipLibCheck: false, skipDefaultLibCheck: true, target: 'ES2022', types: [], ...consumer.compilerOptions },
    // svelte-check finds .svelte files itself and takes the rest from "include".
    ...(checker === 'svelte-check' ? { include: Object.keys(consumer.files) } : { files: Object.keys(consumer.files) }),
    ...consumer.tsconfig,
  };
  writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify(tsconfig, null, 2));
  if (checker === 'svelte-check') return node([SVELTE_CHECK, '--workspace', dir, '--tsconfig', './tsconfig.json', '--output', 'machine'], dir);
  return node([checker === 'vue-tsc' ? VUE_TSC : TSC, '-p', 'tsconfig.json', '--pretty', 'false'], dir);
}

/** The errors in svelte-check's machine output. */
function svelteErrors(output: string): Array<{ file: string; line: number; message: string }> {
  // The message is a JSON string (quotes and newlines escaped).
  return [...output.matchAll(/^\d+ ERROR "([^"]+)" (\d+):\d+ ("(?:[^"\\]|\\.)*")$/gm)].map((m) => ({
    file: m[1]!,
    line: Number(m[2]),
    message: JSON.parse(m[3]!) as string,
  }));
}

const BROWSER_LIB = ['ES2022', 'DOM', 'DOM.Iterable'];
const browserFiles = {
  'browser.ts': BROWSER_CONSUMER, 'react.tsx': REACT_CONSUMER, 'preact.tsx': PREACT_CONSUMER, 'vue.tsx': VUE_TSX_CONSUMER, 'solid.tsx': SOLID_CONSUMER,
};

describe('consumers compile against the packed package without skipLibCheck', SLOW, () => {
  test.each([
    // nodenext resolves an ESM package's exports as node16 does; node16 is the stricter of the two here.
    ['node16', { module: 'node16', moduleResolution: 'node16' }],
    ['bundler', { module: 'esnext', moduleResolution: 'bundler' }],
  ])('browser code, %s resolution: every entry point, React 19, Preact, Vue and Solid JSX', (name, resolution) => {
    const result = compile(`browser-${name}`, { files: browserFiles, compilerOptions: { ...resolution, lib: BROWSER_LIB, jsx: 'react-jsx' } });
    expect(result.output).toBe('');
    expect(result.status).toBe(0);
  });

  test('the AI SDK middleware with ai 6, node16 resolution', () => {
    // ai's own declarations need Node's types (Buffer, node:http) and leave json-schema untyped.
    const result = compile('ai-sdk', {
      files: { 'ai.ts': AI_SDK_CONSUMER },
      compilerOptions: { module: 'node16', moduleResolution: 'node16', lib: BROWSER_LIB, types: ['node'], noImplicitAny: false },
    });
    expect(result.output).toBe('');
    expect(result.status).toBe(0);
  });

  test('Node code (the model builder), node16 resolution', () => {
    const result = compile('node', { files: { 'node.ts': NODE_CONSUMER }, compilerOptions: { module: 'node16', moduleResolution: 'node16', lib: ['ES2022'], types: ['node'] } });
    expect(result.output).toBe('');
    expect(result.status).toBe(0);
  });

  test("the deep-chat kit fits deep-chat's own interceptor and handler types", () => {
    // deep-chat's declarations use extensionless relative imports, which only bundler resolution accepts, and
    // are checked here only as far as our code touches them.
    const result = compile('deep-chat', {
      files: { 'deep-chat.ts': DEEP_CHAT_CONSUMER },
      compilerOptions: { module: 'esnext', moduleResolution: 'bundler', lib: BROWSER_LIB, skipLibCheck: true },
    });
    expect(result.output).toBe('');
    expect(result.status).toBe(0);
  });

  test('without the JSX typings, React 19 rejects <aegis-guard> (the typings are what makes it compile)', () => {
    const untyped = REACT_CONSUMER.replace('/// <reference types="aegis-guard/jsx/react" />\n', '').replace(/\{\s*\/\/ @ts-expect-error[^}]*\}/, '');
    const result = compile('react-untyped', {
      files: { 'react.tsx': untyped },
      compilerOptions: { module: 'esnext', moduleResolution: 'bundler', lib: BROWSER_LIB, jsx: 'react-jsx' },
    });
    expect(result.status).not.toBe(0);
    expect(result.output).toMatch(/Property 'aegis-guard' does not exist on type 'JSX\.IntrinsicElements'/);
  });
});

describe('Vue, Svelte and Solid typings, checked by each framework\'s own checker against the packed package', SLOW, () => {
  const bundler = { module: 'esnext', moduleResolution: 'bundler', lib: BROWSER_LIB };
  const withoutReference = (source: string) => source.replace(/^\/\/\/ <reference types="aegis-guard\/jsx\/\w+" \/>\n/m, '');
  const expectErrorCount = (source: string) => source.match(/@ts-expect-error/g)!.length;

  test('Vue SFC templates (vue-tsc, strictTemplates): properties, attributes and @aegis-block typed from the element', () => {
    const result = compile('vue-sfc', {
      checker: 'vue-tsc',
      files: { 'Reply.vue': VUE_SFC_CONSUMER },
      compilerOptions: { ...bundler, types: ['aegis-guard/jsx/vue'] },
      tsconfig: { vueCompilerOptions: { strictTemplates: true } },
    });
    expect(result.output).toBe('');
    expect(result.status).toBe(0);
  });

  test('without the typings, vue-tsc rejects <aegis-guard> as an unknown component', () => {
    const result = compile('vue-sfc-untyped', {
      checker: 'vue-tsc',
      files: { 'Reply.vue': VUE_SFC_CONSUMER.replace(/ *<!-- @vue-expect-error[^>]*-->\n/g, '') },
      compilerOptions: bundler,
      tsconfig: { vueCompilerOptions: { strictTemplates: true } },
    });
    expect(result.status).not.toBe(0);
    expect(result.output).toMatch(/Property 'aegis-guard' does not exist/);
  });

  test('without the typings, Vue TSX and Solid leave <aegis-guard> untyped or unknown', () => {
    const result = compile('vue-solid-untyped', {
      files: { 'vue.tsx': withoutReference(VUE_TSX_CONSUMER), 'solid.tsx': withoutReference(SOLID_CONSUMER) },
      compilerOptions: { ...bundler, jsx: 'react-jsx' },
    });
    expect(result.status).not.toBe(0);
    // Vue's JSX takes any props on an unknown element: every expected error is missing.
    const unused = [...result.output.matchAll(/^vue\.tsx\(\d+,\d+\): error TS2578: Unused '@ts-expect-error' directive\.$/gm)];
    expect(unused).toHaveLength(expectErrorCount(VUE_TSX_CONSUMER));
    expect(result.output).toMatch(/^solid\.tsx\(\d+,\d+\): error TS2339: Property 'aegis-guard' does not exist on type 'JSX\.IntrinsicElements'\./m);
  });

  const svelteBad = ['<script lang="ts"></script>', ...SVELTE_BAD.map(([line]) => line)].join('\n') + '\n';

  test('Svelte 5 markup (svelte-check): the good component checks clean, each bad line is an error', () => {
    const result = compile('svelte', {
      checker: 'svelte-check',
      files: { 'Reply.svelte': SVELTE_CONSUMER, 'Bad.svelte': svelteBad },
      compilerOptions: { ...bundler, types: ['aegis-guard/jsx/svelte'], verbatimModuleSyntax: true },
    });
    expect(result.output).toMatch(/COMPLETED \d+ FILES/);
    const errors = svelteErrors(result.output);
    expect(errors.filter((e) => e.file !== 'Bad.svelte')).toEqual([]);
    expect(errors.map((e) => e.line)).toEqual(SVELTE_BAD.map((_, i) => i + 2));
    SVELTE_BAD.forEach(([, message], i) => expect(errors[i]!.message, SVELTE_BAD[i]![0]).toMatch(message));
    expect(result.status).not.toBe(0);
  });

  test('without the typings, svelte-check accepts anything on <aegis-guard> and leaves its events untyped', () => {
    const result = compile('svelte-untyped', {
      checker: 'svelte-check',
      files: { 'Reply.svelte': SVELTE_CONSUMER, 'Bad.svelte': svelteBad },
      compilerOptions: { ...bundler, verbatimModuleSyntax: true },
    });
    expect(result.output).toMatch(/COMPLETED \d+ FILES/);
    const errors = svelteErrors(result.output);
    expect(errors.filter((e) => e.file === 'Bad.svelte')).toEqual([]);
    expect(errors.length).toBeGreaterThan(0);
    for (const e of errors) expect(e).toMatchObject({ file: 'Reply.svelte', message: expect.stringMatching(/^Parameter '(event|c)' implicitly has an 'any' type\.$/) });
  });
});
