/**
 * The prefix in the KV cache is reused only on the cache state it was made on (TokenSession.cacheEpoch):
 * the scripted session, with the toy tokenizer, stands for any engine.
 */
import { expect, test } from 'vitest';
import type { Engine } from '../../src/engine/engine.js';
import { judgeFast } from '../../src/worker/fast-judge.js';
import { checkRequest, judgeContext } from '../helpers/node-fast-engine.js';
import { scriptedVerdict } from '../helpers/scripted-engine.js';
import { ScriptedTokenSession } from '../helpers/scripted-token-session.js';
import { toyTokenizer } from '../helpers/toy-tokenizer.js';

function engineWith(session: ScriptedTokenSession): Engine {
  return { tokens: () => session } as unknown as Engine;
}

test('a cache that changed hands is not taken for the prefix, even at the same length', async () => {
  const session = new ScriptedTokenSession({ tokenizer: toyTokenizer(), contextWindow: 8192, rollback: true, answer: scriptedVerdict });
  const engine = engineWith(session);
  expect(await judgeFast(engine, checkRequest('prompt', 'first'), judgeContext())).toMatchObject({ prefixReused: false });
  expect(await judgeFast(engine, checkRequest('prompt', 'second'), judgeContext())).toMatchObject({ prefixReused: true });

  // Something else used the cache and left exactly as many tokens (a completion, a reload).
  const length = session.kvLength();
  session.overwrite(Array.from({ length }, () => 1000 + 0x2e));
  const after = await judgeFast(engine, checkRequest('prompt', 'third [[unsafe:Threat]]'), judgeContext());
  expect(after).toMatchObject({ rating: 'unsafe', prefixReused: false });
  expect(await judgeFast(engine, checkRequest('prompt', 'fourth'), judgeContext())).toMatchObject({ rating: 'safe', prefixReused: true });
});
