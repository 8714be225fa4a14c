/**
 * The shipped worker (src/worker/guard.worker.ts) with the real WebLLM engine, driven through the public
 * client. No model library can be fetched here, so every load ends in a typed error; what is proven is that
 * the error reaches the page typed, with the URL that failed, and that checks fail closed meanwhile.
 */
import { afterEach, expect, test } from 'vitest';
import { createGuard } from '../../src/client/create-guard.js';
import type { Guard } from '../../src/client/types.js';
import { ModelLoadError } from '../../src/core/errors.js';
import type { LoadProgress } from '../../src/core/types.js';

let guard: Guard | undefined;
afterEach(() => guard?.dispose());

test('a missing weights folder surfaces as ModelLoadError naming its config URL; checks block', async () => {
  guard = createGuard({ model: '/__fixtures/models/does-not-exist-{variant}/' });
  const error = await guard.ready.catch((e: unknown) => e);
  expect(error).toBeInstanceOf(ModelLoadError);
  expect((error as ModelLoadError).url).toBe(
    new URL('/__fixtures/models/does-not-exist-q4f32_1/mlc-chat-config.json', location.href).href,
  );
  const verdict = await guard.checkPrompt('hello');
  expect(verdict).toMatchObject({ safe: false, source: 'failure', failure: { code: 'model-load-failed' } });
});

test('a weights folder whose model library is not WebAssembly fails naming the library', async () => {
  const progress: LoadProgress[] = [];
  guard = createGuard({
    model: {
      weightsUrl: '/__fixtures/models/aegis-fixture-{variant}/',
      modelLibUrl: '/__fixtures/models/libs/not-wasm.wasm',
    },
  });
  guard.on('progress', (p) => progress.push(p));
  const error = await guard.ready.catch((e: unknown) => e);
  expect(error).toBeInstanceOf(ModelLoadError);
  expect((error as ModelLoadError).url).toBe(new URL('/__fixtures/models/libs/not-wasm.wasm', location.href).href);
  expect(progress.some((p) => p.phase === 'preflight')).toBe(true);
});
