/**
 * A stand-in for the tvmjs runtime a WebLLM pipeline runs on, with the behaviour the token session depends
 * on (../shared/reference/webllm-real-runtime.md, idx:N = node_modules/@mlc-ai/web-llm/lib/index.js):
 * - a scope stack (`ctx.autoDisposeScope`): objects returned by functions attach to the current scope and
 *   are disposed when it ends; detaching an object that is not there throws (idx:7214-7270);
 * - tensors on 'gpu' or 'cpu'; a GPU-to-CPU copy is only readable after `device.sync()`;
 * - global functions looked up by name ("Cannot find global function" when absent, idx:7982-7988);
 * - termination: the wasm runtime exits on a bad call (a KV pop past the sequence length, a plain JS number
 *   where an int64 is expected) and every later call into it fails.
 */

export class FakeScalar {
  constructor(
    readonly value: number,
    readonly dtype: string,
  ) {}
}

/** What the wasm runtime throws after it exited (emscripten's ExitStatus). */
export class ExitStatus extends Error {
  override name = 'ExitStatus';
  constructor(readonly why: string) {
    super('Program terminated with exit(1)');
  }
}

export interface Disposable {
  dispose(): void;
}

export class FakeTensor implements Disposable {
  disposed = false;
  /** A GPU-to-CPU copy into this tensor waits for device.sync(). */
  pendingCopy = false;

  constructor(
    private readonly runtime: FakeTvm,
    readonly shape: number[],
    readonly dtype: string,
    readonly place: 'gpu' | 'cpu',
    public values: Float32Array,
  ) {
    runtime.live.add(this);
  }

  copyFrom(source: FakeTensor | ArrayLike<number>): FakeTensor {
    this.runtime.assertRunning();
    if (this.disposed) throw new Error('FakeTensor: copy into a disposed tensor.');
    if (source instanceof FakeTensor) {
      if (source.disposed) throw new Error('FakeTensor: copy from a disposed tensor.');
      this.values = Float32Array.from(source.values);
      if (source.place === 'gpu' && this.place === 'cpu') {
        this.pendingCopy = true;
        this.runtime.gpuToCpuCopies++;
        this.runtime.pendingCopies.add(this);
      }
    } else {
      this.values = Float32Array.from(source);
    }
    return this;
  }

  toArray(): Float32Array {
    this.runtime.assertRunning();
    if (this.place !== 'cpu') throw new Error('Can only sync copy CPU array, use cpu_arr.copyfrom(gpu_arr) then sync instead.');
    if (this.disposed) throw new Error('FakeTensor: read of a disposed tensor.');
    if (this.pendingCopy) throw new Error('FakeTensor: read before device.sync() finished the copy.');
    if (this.dtype !== 'float32') throw new Error(`Unsupported data type ${this.dtype}`);
    return Float32Array.from(this.values);
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.runtime.live.delete(this);
    this.runtime.pendingCopies.delete(this);
  }
}

export type FakeFunc = ((...args: unknown[]) => unknown) & Disposable;

export class FakeTvm {
  readonly ctx = { autoDisposeScope: [] as (Disposable | undefined)[][] };
  /** Tensors not yet disposed. */
  readonly live = new Set<FakeTensor>();
  readonly pendingCopies = new Set<FakeTensor>();
  gpuToCpuCopies = 0;
  /** Set when the runtime exited: why. */
  terminated: string | undefined;
  /** Set when the pipeline (and this instance) were disposed. */
  disposed = false;
  private readonly funcs = new Map<string, (...args: unknown[]) => unknown>();
  lib: { webGPUContext?: { device?: unknown } } = {};

  register(name: string, body: (...args: unknown[]) => unknown): void {
    this.funcs.set(name, body);
  }

  assertRunning(): void {
    if (this.terminated) throw new ExitStatus(this.terminated);
    if (this.disposed) throw new Error('Cannot use the runtime: it has been disposed (the instance was freed).');
  }

  /** The wasm runtime exits: this call and every later one fail. */
  terminate(why: string): never {
    this.terminated = why;
    throw new ExitStatus(why);
  }

  beginScope(): void {
    this.ctx.autoDisposeScope.push([]);
  }

  endScope(): void {
    const scope = this.ctx.autoDisposeScope.pop();
    if (!scope) throw new Error('tvm.endScope called when the stack is empty.');
    for (const obj of scope) obj?.dispose();
  }

  attachToCurrentScope<T extends Disposable>(obj: T): T {
    const scope = this.ctx.autoDisposeScope.at(-1);
    if (!scope) throw new Error('Must call beginScope to use functions that returns TVM objects');
    scope.push(obj);
    return obj;
  }

  detachFromCurrentScope<T>(obj: T): T {
    const scope = this.ctx.autoDisposeScope.at(-1);
    const index = scope?.indexOf(obj as unknown as Disposable) ?? -1;
    if (!scope || index < 0) throw new Error('Cannot find obj in the current auto conversion pool');
    scope[index] = undefined;
    return obj;
  }

  getGlobalFunc(name: string): FakeFunc {
    this.assertRunning();
    const body = this.funcs.get(name);
    if (!body) throw new Error(`Cannot find global function ${name}`);
    const func = Object.assign((...args: unknown[]) => {
      this.assertRunning();
      return body(...args);
    }, { dispose: () => undefined });
    return this.attachToCurrentScope(func);
  }

  /** A registered function, called directly (tests), with the same termination checks. */
  func(name: string): (...args: unknown[]) => unknown {
    const body = this.funcs.get(name);
    if (!body) throw new Error(`Cannot find global function ${name}`);
    return (...args) => {
      this.assertRunning();
      return body(...args);
    };
  }

  scalar(value: number, dtype: string): FakeScalar {
    return new FakeScalar(value, dtype);
  }

  cpu(): { place: 'cpu' } {
    return { place: 'cpu' };
  }

  empty(shape: number[], dtype: string, device: { place?: string }): FakeTensor {
    this.assertRunning();
    const size = shape.reduce((a, b) => a * b, 1);
    const place = device?.place === 'cpu' ? 'cpu' : 'gpu';
    return this.attachToCurrentScope(new FakeTensor(this, shape, dtype, place, new Float32Array(size)));
  }

  /** A GPU tensor holding `values`, attached to the current scope (what a forward kernel returns). */
  gpuTensor(values: Float32Array, dtype = 'float32'): FakeTensor {
    return this.attachToCurrentScope(new FakeTensor(this, [1, 1, values.length], dtype, 'gpu', values));
  }

  /** device.sync(): finishes queued GPU-to-CPU copies. */
  finishCopies(): void {
    for (const tensor of this.pendingCopies) tensor.pendingCopy = false;
    this.pendingCopies.clear();
  }
}

/** An int64 argument as TVM checks it: a plain JS number crosses the FFI as a float and kills the runtime. */
export function int64Arg(tvm: FakeTvm, value: unknown, what: string): number {
  if (!(value instanceof FakeScalar) || !/^u?int/.test(value.dtype)) {
    tvm.terminate(`${what}: expected int but got float`);
  }
  if (!Number.isInteger(value.value)) tvm.terminate(`${what}: expected int but got ${value.value}`);
  return value.value;
}
