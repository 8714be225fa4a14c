/** How a benchmark page hands its result to bench/browser-runner.ts: `window.__benchResult`. */
export function publishBenchResult(run: () => Promise<unknown>): void {
  const target = window as unknown as { __benchResult: unknown };
  run().then(
    (result) => {
      console.log(JSON.stringify(result, null, 2));
      target.__benchResult = result;
    },
    (error: unknown) => {
      target.__benchResult = { error: String(error) };
    },
  );
}
