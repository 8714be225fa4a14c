/**
 * Temp-then-rename output: the build writes into `<out>.partial-<random>` next to the destination and
 * renames it into place only when everything is written, so an interrupted or failed run never leaves a
 * folder that looks like a complete model. An existing output is only replaced with `force`.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { mkdir, rename, rm, statfs } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { DiskFullError, OutputExistsError } from './errors.js';

export type FreeBytes = (dir: string) => Promise<number>;

export const freeBytesOnDisk: FreeBytes = async (dir) => {
  const s = await statfs(dir);
  return s.bavail * s.bsize;
};

/** Throws OutputExistsError when `out` holds anything and `force` is off. */
export function assertOutputFree(out: string, force: boolean): void {
  if (!existsSync(out)) return;
  const isEmptyDir = statSync(out).isDirectory() && readdirSync(out).length === 0;
  if (!isEmptyDir && !force) {
    throw new OutputExistsError(`${out} already exists; pass --force to replace it`);
  }
}

/**
 * Throws DiskFullError when the disk holding `out` has less than `neededBytes` (plus a margin) free. `label`
 * names what is written there in the message (default `out`); `advice` is appended.
 */
export async function assertFreeSpace(
  out: string,
  neededBytes: number,
  freeBytes: FreeBytes = freeBytesOnDisk,
  message: { label?: string; advice?: string } = {},
): Promise<void> {
  let dir = dirname(resolve(out));
  while (!existsSync(dir)) dir = dirname(dir);
  const free = await freeBytes(dir);
  const needed = Math.ceil(neededBytes * 1.02) + 16 * 1024 * 1024;
  if (free < needed) {
    const gb = (n: number) => (n / 1e9).toFixed(2);
    throw new DiskFullError(`not enough disk space for ${message.label ?? out}: needs ${gb(needed)} GB, ${gb(free)} GB free${message.advice ? `; ${message.advice}` : ''}`, dir, needed);
  }
}

/**
 * Runs `write(partialDir)` and moves the result to `out`. On any failure the partial folder is removed and
 * the error rethrown; `out` is untouched unless the build succeeded.
 */
export async function writeAtomically<T>(
  out: string,
  options: { force: boolean; onPartialDir?: (dir: string) => void },
  write: (partialDir: string) => Promise<T>,
): Promise<T> {
  const target = resolve(out);
  assertOutputFree(target, options.force);
  await mkdir(dirname(target), { recursive: true });
  const partial = `${target}.partial-${randomBytes(4).toString('hex')}`;
  await mkdir(partial);
  options.onPartialDir?.(partial);
  let result: T;
  try {
    result = await write(partial);
    if (existsSync(target)) {
      assertOutputFree(target, options.force);
      const old = `${target}.old-${randomBytes(4).toString('hex')}`;
      await rename(target, old);
      await rename(partial, target);
      await rm(old, { recursive: true, force: true });
    } else {
      await rename(partial, target);
    }
  } catch (error) {
    await rm(partial, { recursive: true, force: true });
    throw error;
  }
  return result;
}
