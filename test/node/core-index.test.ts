import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import * as core from '../../src/core/index.js';
import * as errors from '../../src/core/errors.js';

describe('aegis-guard/core entry', () => {
  test('re-exports every runtime export of errors.ts', () => {
    const names = Object.keys(errors);
    expect(names.length).toBeGreaterThan(10);
    for (const name of names) expect((core as Record<string, unknown>)[name], name).toBe((errors as Record<string, unknown>)[name]);
  });

  test('exposes the core API', () => {
    for (const name of [
      'AEGIS_TAXONOMY', 'buildTaxonomy', 'validateCustomCategories', 'resolveCategory', 'resolveCategoryCode',
      'buildAegisPrompt', 'toLlama31Prompt', 'renderCheckPrompt', 'renderCheckPrefix', 'defuseUntrustedText',
      'parseAegisOutput', 'readRating', 'describeParseFailure', 'DEFAULT_POLICY', 'resolvePolicy', 'decide',
      'policyKey', 'requestKey', 'VERDICT_TOKEN_IDS', 'LLAMA3_SPECIAL_TOKENS',
    ]) {
      expect((core as Record<string, unknown>)[name], name).toBeDefined();
    }
  });

  test('src/core stays pure: no WebLLM, Comlink, Lit or DOM globals', () => {
    const dir = new URL('../../src/core/', import.meta.url);
    const files = readdirSync(dir).filter((f) => f.endsWith('.ts'));
    expect(files.length).toBeGreaterThan(5);
    for (const file of files) {
      // Code only: comments may mention the browser.
      const source = readFileSync(new URL(file, dir), 'utf8')
        .replace(/\/\*[\s\S]*?\*\//gu, '')
        .replace(/\/\/.*$/gmu, '');
      expect(source, file).not.toMatch(/from\s+['"](@mlc-ai|comlink|lit)/u);
      expect(source, file).not.toMatch(/\b(document|window|navigator|self)\./u);
    }
  });
});
