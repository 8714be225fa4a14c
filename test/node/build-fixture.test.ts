/**
 * The committed browser fixture (a tiny model built by build-model) must be exactly what the builder
 * produces today, and must pass verify-model. Set AEGIS_UPDATE_FIXTURES=1 to rewrite it after a deliberate
 * change to the output format.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, test } from 'vitest';
import { verifyModel } from '../../src/model-builder/verify.js';
import { FIXTURE_DIR, generateFixture } from '../helpers/build-fixture.js';

test('test/fixtures/generated/tiny-llama-q4f32_1 is byte-identical to a fresh build', async () => {
  if (process.env.AEGIS_UPDATE_FIXTURES === '1') {
    rmSync(FIXTURE_DIR, { recursive: true, force: true });
    await generateFixture(FIXTURE_DIR);
  }
  const fresh = join(mkdtempSync(join(tmpdir(), 'aegis-fixture-check-')), 'out');
  try {
    await generateFixture(fresh);
    expect(existsSync(FIXTURE_DIR)).toBe(true);
    expect(readdirSync(FIXTURE_DIR).sort()).toEqual(readdirSync(fresh).sort());
    for (const f of readdirSync(fresh)) {
      expect(readFileSync(join(FIXTURE_DIR, f)).equals(readFileSync(join(fresh, f))), `${f} differs; rebuild with AEGIS_UPDATE_FIXTURES=1`).toBe(true);
    }
  } finally {
    rmSync(join(fresh, '..'), { recursive: true, force: true });
  }
});

test('the committed fixture passes verify-model', async () => {
  const report = await verifyModel(FIXTURE_DIR);
  expect(report.problems).toEqual([]);
  expect(report.quantization).toBe('q4f32_1');
});
