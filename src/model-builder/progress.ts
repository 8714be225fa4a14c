/**
 * Progress on stderr: a redrawn bar on a terminal, a line per 10 % otherwise (CI logs stay short).
 */

export interface ProgressTask {
  advance(amount: number): void;
  done(): void;
}

export interface Progress {
  task(label: string, total: number): ProgressTask;
  log(line: string): void;
}

export interface ProgressStream {
  write(chunk: string): unknown;
  isTTY?: boolean;
}

export const silentProgress: Progress = {
  task: () => ({ advance: () => undefined, done: () => undefined }),
  log: () => undefined,
};

const units = ['B', 'kB', 'MB', 'GB', 'TB'];
export function formatBytes(n: number): string {
  let i = 0;
  let v = n;
  while (v >= 1000 && i < units.length - 1) {
    v /= 1000;
    i++;
  }
  return `${v.toFixed(i === 0 ? 0 : v < 10 ? 2 : 1)} ${units[i]}`;
}

export function renderBar(label: string, done: number, total: number, elapsedS: number, width = 24): string {
  const frac = total > 0 ? Math.min(1, done / total) : 1;
  const filled = Math.round(frac * width);
  const rate = elapsedS > 0 ? done / elapsedS : 0;
  const eta = rate > 0 && total > done ? ` ETA ${Math.ceil((total - done) / rate)}s` : '';
  return `${label} [${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${(frac * 100).toFixed(1).padStart(5)}% ${formatBytes(done)}/${formatBytes(total)} ${formatBytes(rate)}/s${eta}`;
}

export function createProgress(stream: ProgressStream, now: () => number = () => performance.now()): Progress {
  const tty = stream.isTTY === true;
  return {
    log: (line) => void stream.write(`${line}\n`),
    task(label, total) {
      const start = now();
      let done = 0;
      let lastDraw = -Infinity;
      let lastDecile = -1;
      const draw = (final: boolean) => {
        const line = renderBar(label, done, total, (now() - start) / 1000);
        if (tty) stream.write(`\r\x1b[K${line}${final ? '\n' : ''}`);
        else stream.write(`${line}\n`);
      };
      return {
        advance(amount) {
          done += amount;
          if (tty) {
            if (now() - lastDraw >= 100) {
              lastDraw = now();
              draw(false);
            }
          } else {
            const decile = total > 0 ? Math.floor((done / total) * 10) : 10;
            if (decile > lastDecile && decile < 10) {
              lastDecile = decile;
              draw(false);
            }
          }
        },
        done() {
          draw(true);
        },
      };
    },
  };
}
