#!/usr/bin/env node
// Entry point of `npx aegis-guard`: `eval` goes to the evaluation CLI (dist/eval/node/cli.js); every other
// command (build-model, verify-model, ...) to the model-builder CLI (dist/model-builder/cli.js). Both are
// emitted by `npm run build` (tsc -p tsconfig.build.json); in this repository `npm run build-model` and
// `npx tsx src/eval/node/cli-main.ts eval` run the TypeScript.
const [command, ...rest] = process.argv.slice(2);
const target = command === 'eval' ? { file: 'eval/node/cli.js', argv: rest } : { file: 'model-builder/cli.js', argv: process.argv.slice(2) };
let cli;
try {
  cli = await import(`../dist/${target.file}`);
} catch (error) {
  if (error && error.code === 'ERR_MODULE_NOT_FOUND' && String(error.message).includes(`dist/${target.file}`)) {
    console.error(`aegis-guard: dist/${target.file} is missing; run \`npm run build\` first (or use the npm scripts in the repository)`);
    process.exit(1);
  }
  throw error;
}
process.exitCode = await cli.main(target.argv);
