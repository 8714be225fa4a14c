/**
 * For the CLI tests (eval and smoke:real): a model folder the answer-key engine loads (its name holds `fast`
 * and `answer-key`, and it carries answer-key.json), captured output streams, and the hooks that put the
 * scripted worker and the tokenizer behind the CLI's own server and browser.
 */
import { existsSync, mkdirSync, mkdtempSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import type { CliIo, EvalCliHooks } from '../../src/eval/node/eval-cli.js';
import type { AnswerKey } from './answer-key-engine.js';
import { llama31TokenizerJson, tokenizerPackageVersion } from './llama31-tokenizer.js';

/**
 * The scripted fast path fetches the Llama-3.1 tokenizer from /__tokenizer/llama-3.1/tokenizer.json (as the
 * Vite fixture server serves it): written once from the registry package into a folder the CLI's server mounts.
 */
function tokenizerFolder(): string {
  const dir = join(tmpdir(), `aegis-guard-test-tokenizer-${tokenizerPackageVersion()}`);
  const file = join(dir, 'tokenizer.json');
  if (!existsSync(file)) {
    mkdirSync(dir, { recursive: true });
    const partial = `${file}.${process.pid}.tmp`;
    writeFileSync(partial, llama31TokenizerJson());
    renameSync(partial, file);
  }
  return dir;
}

export const SCRIPTED_HOOKS: EvalCliHooks = {
  workerPath: 'test/helpers/answer-key.worker.ts',
  extraMounts: [{ prefix: '/__tokenizer/llama-3.1/', dir: tokenizerFolder() }],
};

/** A folder that looks built (mlc-chat-config.json) and plants `key`; `fast: false` gives a model without a fast path. */
export function plantedModel(key: AnswerKey, { fast = true } = {}): string {
  const dir = join(mkdtempSync(join(tmpdir(), 'aegis-eval-model-')), fast ? 'answer-key-fast' : 'answer-key-plain');
  mkdirSync(dir);
  writeFileSync(join(dir, 'mlc-chat-config.json'), '{}');
  writeFileSync(join(dir, 'answer-key.json'), JSON.stringify(key));
  return dir;
}

class Capture extends Writable {
  text = '';
  isTTY = false;
  override _write(chunk: Buffer, _encoding: string, done: () => void) {
    this.text += chunk.toString();
    done();
  }
}

export function capturedIo(cwd: string): CliIo & { out: Capture; err: Capture } {
  const out = new Capture();
  const err = new Capture();
  return { stdout: out, stderr: err as unknown as NodeJS.WriteStream, env: { ...process.env }, cwd, out, err };
}
