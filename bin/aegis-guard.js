#!/usr/bin/env node
// Entry point of `npx aegis-guard`: runs the compiled model-builder CLI (dist/model-builder, emitted by
// `npm run build`, i.e. tsc -p tsconfig.build.json). In this repository `npm run build-model` runs the TypeScript.
let cli;
try {
  cli = await import('../dist/model-builder/cli.js');
} catch (error) {
  if (error && error.code === 'ERR_MODULE_NOT_FOUND' && String(error.message).includes('dist/model-builder/cli.js')) {
    console.error('aegis-guard: dist/model-builder/cli.js is missing; run `npm run build` first (or use `npm run build-model -- ...` in the repository)');
    process.exit(1);
  }
  throw error;
}
process.exitCode = await cli.main(process.argv.slice(2));
