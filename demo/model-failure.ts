/**
 * What the model panel says when the guard has no model: one explanation per cause, so the page never gives
 * advice that contradicts what it knows (telling someone to build a model whose weights it already holds, or
 * to get WebGPU on a page whose GPU report shows WebGPU working).
 */
import { html, type TemplateResult } from 'lit';
import { ModelLoadError, WebGPUUnavailableError, type AegisError } from '../src/core/errors.js';
import type { GpuFinding } from './gpu-report.js';
import { withInlineCode } from './inline-code.js';
import type { ModelChoice } from './model-choice.js';

export type FailureCause =
  /** The weights (a folder URL) are not there: build the model. */
  | 'no-weights'
  /** The weights are there, but the model library (.wasm) could not be fetched (offline, blocked). */
  | 'no-library'
  /** A folder stored in this browser lost files (the browser evicted them, or storage was cleared). */
  | 'stored-files-missing'
  /** The build needs shader-f16 and this GPU has none: the other variant is needed. */
  | 'needs-f32-variant'
  /** No WebGPU, no adapter, or a limit the model needs. */
  | 'no-webgpu'
  | 'other';

const isLibraryUrl = (url: string | undefined) => url !== undefined && /\.wasm(?:[?#].*)?$/u.test(url);

export function failureCause(error: AegisError | undefined, choice: ModelChoice): FailureCause {
  if (error instanceof WebGPUUnavailableError) return error.reason === 'feature:shader-f16' ? 'needs-f32-variant' : 'no-webgpu';
  if (error?.code === 'webgpu-unavailable') return 'no-webgpu';
  if (!(error instanceof ModelLoadError) && error?.code !== 'model-load-failed') return 'other';
  const url = error instanceof ModelLoadError ? error.url : undefined;
  if (isLibraryUrl(url)) return 'no-library';
  if (choice.kind === 'local') return url?.startsWith(choice.weightsUrl) ? 'stored-files-missing' : 'other';
  return 'no-weights';
}

/** The build-model command for a variant. */
export function buildCommand(variant: string): string {
  return `HF_TOKEN=hf_… npm run build-model -- --base meta-llama/Llama-3.1-8B-Instruct --adapter nvidia/llama-3.1-nemoguard-8b-content-safety:llama-3.1-nemoguard-8b-content-safety-lora-adapter --quantization ${variant} --out demo/public/models/aegis-guard-2.0-${variant}`;
}

function howToBuild(variant: string, then: TemplateResult): TemplateResult {
  return html`<div class="how-to">
    <p><strong>How to get a model.</strong> Build it from the public base model and adapter (recipe in
      <code>adapters/aegis-guard-2.0/manifest.json</code>; the Llama 3.1 base is gated, so a Hugging Face token is needed):</p>
    <pre><code>${buildCommand(variant)}</code></pre>
    ${then}
  </div>`;
}

const FAILS_CLOSED = html`<p>Messages cannot be judged, so none is sent or shown: the guard fails closed, and this page never makes up a verdict.</p>`;

/** The failure notice: a headline with the error, and what to do about this cause (and only this one). */
export function failureView(error: AegisError | undefined, choice: ModelChoice, gpu: GpuFinding | undefined, defaultUrl: string): TemplateResult {
  const cause = failureCause(error, choice);
  const message = error?.message ? withInlineCode(error.message) : '';
  const url = error instanceof ModelLoadError ? error.url : undefined;
  const headline: Record<FailureCause, string> = {
    'no-weights': 'No model is loaded.',
    'no-library': 'The model library could not be downloaded.',
    'stored-files-missing': 'Files of the stored folder are missing.',
    'needs-f32-variant': 'This build needs a GPU feature this GPU lacks.',
    'no-webgpu': 'This browser cannot run the model.',
    other: 'No model is loaded.',
  };
  const advice = (): TemplateResult => {
    switch (cause) {
      case 'no-weights':
      case 'other':
        return howToBuild(gpu?.ok ? gpu.variant : 'q4f32_1', html`<p>Then reload (the page looks in <code>${defaultUrl}</code>), or load that folder below.</p>`);
      case 'no-library':
        return html`<p class="advice">
          The weights ${choice.kind === 'local' ? html`are stored in this browser` : html`were found`}; only the model library (the
          <code>.wasm</code> WebLLM runs them with) is missing${url ? html` at <code>${url}</code>` : ''}. Connect to the network once (WebLLM
          keeps the library in its cache afterwards), or put the library into the model folder and load the folder again.
        </p>`;
      case 'stored-files-missing':
        return html`<p class="advice">The browser no longer has every file of the folder it stored (storage was cleared, or files were evicted). Pick the folder again below.</p>`;
      case 'needs-f32-variant':
        return html`<p class="advice">
          The <code>q4f16_1</code> build needs the WebGPU feature <code>shader-f16</code>, and this GPU has none. Use the
          <code>q4f32_1</code> build on this GPU:
        </p>
          ${howToBuild('q4f32_1', html`<p>Then load that folder below${choice.kind === 'url' ? html`, or point the URL at it` : ''}.</p>`)}`;
      case 'no-webgpu':
        return html`<p class="advice">The model needs WebGPU with a real GPU adapter: a recent Chrome or Edge (or another browser with WebGPU turned on).</p>`;
    }
  };
  return html`<div class="model-status failed" role="alert" data-cause=${cause}>
      <p><strong>${headline[cause]}</strong> ${message}</p>
      ${FAILS_CLOSED}
    </div>
    ${advice()}`;
}
