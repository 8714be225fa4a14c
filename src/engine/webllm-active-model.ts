/**
 * The model a WebLLMEngine has loaded, and the loss of its GPU device. WebLLM's device-lost handler unloads
 * the model without awaiting it, outside the engine's queue (idx:18303-18307): a call in flight then fails
 * with a GPU or disposal error of any wording, later ones with ModelNotLoadedError (internals §4). So a
 * failure on a model the runtime no longer holds is a lost device, whatever it says; the loss is reported
 * once to the listeners and by every call until the next load.
 */
import type { MLCEngine } from '@mlc-ai/web-llm';
import { AegisAbortError, DeviceLostError, ModelNotLoadedError, type AegisError } from '../core/errors.js';
import { toAegisError } from './webllm-errors.js';
import { gpuDeviceOf, loadedPipelineCount, stillLoaded, type PipelineInternals } from './webllm-internals.js';
import type { TokenSessionOpening } from './webllm-token-session.js';

/** The model currently loaded. A new object per load, so stale references can be recognised. */
export interface ActiveModel {
  modelId: string;
  pipeline: PipelineInternals | undefined;
  /** Why the pipeline could not be used, when `pipeline` is undefined. */
  pipelineProblem?: string;
  /** The context window the model was loaded with. */
  contextWindow: number;
  /** Opened on first use of tokens(). */
  tokens?: TokenSessionOpening;
  lost: boolean;
}

const noop = () => undefined;

export class ActiveModelSlot {
  private active: ActiveModel | undefined;
  /** Set when the device was lost after loading; reported by calls until the next load. */
  private lostError: DeviceLostError | undefined;
  private readonly listeners = new Set<(error: Error) => void>();

  constructor(private readonly runtime: MLCEngine) {}

  get current(): ActiveModel | undefined {
    return this.active;
  }

  /** Makes a freshly loaded model the current one and watches its device. */
  activate(active: ActiveModel): void {
    this.active = active;
    this.lostError = undefined;
    if (active.pipeline) this.watchDevice(active, active.pipeline);
  }

  /** Forgets the current model (and a loss reported for it), closing its token session. */
  retire(): void {
    this.active?.tokens?.session?.dispose();
    this.active = undefined;
    this.lostError = undefined;
  }

  require(): ActiveModel {
    if (this.active) return this.active;
    throw this.lostError ?? new ModelNotLoadedError('No model is loaded; load() one first.');
  }

  assertStillActive(active: ActiveModel): void {
    if (this.active !== active) {
      throw active.lost ? this.deviceLostError() : new ModelNotLoadedError('The model was unloaded.');
    }
  }

  /** The error for a call whose model was lost while it ran. */
  deviceLostError(): DeviceLostError {
    return this.lostError ?? new DeviceLostError('The GPU device was lost.');
  }

  onDeviceLost(listener: (error: Error) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Maps a runtime failure on `active`, noticing a device lost after loading. */
  runError(error: unknown, active: ActiveModel): AegisError {
    const mapped = toAegisError(error, { operation: 'run' });
    if (active.lost) return this.lostError ?? (mapped instanceof DeviceLostError ? mapped : this.deviceLostError());
    if (this.active !== active) {
      // We unloaded or replaced it ourselves while the call ran.
      return mapped instanceof ModelNotLoadedError || mapped instanceof AegisAbortError
        ? mapped
        : new ModelNotLoadedError('The model was unloaded while the call ran.', { cause: error });
    }
    const gone = active.pipeline ? !stillLoaded(this.runtime, active.modelId, active.pipeline) : loadedPipelineCount(this.runtime) === 0;
    if (gone || mapped instanceof ModelNotLoadedError) {
      const lost = new DeviceLostError('The GPU device was lost and the model was unloaded.', { cause: error });
      return this.markLost(active, lost);
    }
    if (mapped instanceof DeviceLostError) return this.markLost(active, mapped);
    return mapped;
  }

  private watchDevice(active: ActiveModel, pipeline: PipelineInternals): void {
    gpuDeviceOf(pipeline)?.lost.then((info) => {
      // Our own unload destroys the device after `active` was retired: not a loss.
      if (this.active !== active) return;
      this.markLost(active, new DeviceLostError(`The GPU device was lost (${info.reason}: ${info.message}).`));
    }, noop);
  }

  private markLost(active: ActiveModel, error: DeviceLostError): DeviceLostError {
    if (active.lost) return this.lostError ?? error;
    active.lost = true;
    active.tokens?.session?.dispose();
    if (this.active === active) {
      this.active = undefined;
      this.lostError = error;
    }
    for (const listener of this.listeners) {
      try {
        listener(error);
      } catch {
        // One failing listener must not keep the others from hearing about it.
      }
    }
    return error;
  }
}
