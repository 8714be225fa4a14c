/**
 * The committed tiny model test/fixtures/generated/tiny-llama-q4f32_1/resolve/main/: built by build-model
 * from a seeded random Llama (hidden 64, 2 layers) and LoRA. test/node/build-fixture.test.ts rebuilds it and
 * requires byte equality, so it cannot drift from the builder; AEGIS_UPDATE_FIXTURES=1 rewrites it.
 */
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildModel } from '../../src/model-builder/convert.js';
import { writeTinyLlama, writeTinyLora } from './build-tiny-llama.js';

export const FIXTURE_NAME = 'tiny-llama-q4f32_1';
export const FIXTURE_DIR = join('test', 'fixtures', 'generated', FIXTURE_NAME, 'resolve', 'main');
/** Served by the fixture server at /__fixtures/generated/... */
export const FIXTURE_URL_PATH = `/__fixtures/generated/${FIXTURE_NAME}/resolve/main/`;

/** Builds the fixture model into `out` (which must not exist). */
export async function generateFixture(out: string): Promise<void> {
  const work = mkdtempSync(join(tmpdir(), 'aegis-fixture-'));
  try {
    const base = await writeTinyLlama(join(work, 'base'), { seed: 2024 });
    const lora = await writeTinyLora(join(work, 'lora'), base, { seed: 2025 });
    const built = join(work, 'out');
    await buildModel({ base: base.dir, adapter: lora.dir, quantization: 'q4f32_1', out: built, convTemplate: 'llama-3_1', skipBaseCheck: true, contextWindowSize: 1024 });
    cpSync(built, out, { recursive: true });
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
