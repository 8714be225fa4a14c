/**
 * The model panel: where the weights come from (a URL, or a folder stored in this browser), download
 * progress, the WebGPU report and the variant chosen. When no model can be loaded it says so, and how to get
 * one; messages then stay hidden (the guard fails closed), and the demo never invents a verdict.
 */
import { html, nothing, type TemplateResult } from 'lit';
import type { AegisError } from '../src/core/errors.js';
import type { LoadProgress, ModelInfo } from '../src/core/types.js';
import { type GpuFinding, formatLimit } from './gpu-report.js';
import { loadingStep } from '../src/element/labels.js';
import { withInlineCode } from './inline-code.js';
import type { StoreProgress } from './local-model.js';
import { failureView } from './model-failure.js';
import { type ModelChoice, DEFAULT_MODEL_URL, describeChoice } from './model-choice.js';

export interface ModelPanelState {
  choice: ModelChoice;
  status: 'idle' | 'loading' | 'ready' | 'failed';
  progress?: LoadProgress;
  info?: ModelInfo;
  error?: AegisError;
  /** Undefined while the page is still asking for an adapter. */
  gpu?: GpuFinding;
  storing?: StoreProgress;
  storeError?: string;
}

export interface ModelPanelActions {
  loadUrl(url: string): void;
  loadFolder(files: FileList): void;
  forgetFolder(): void;
}

/** As the element shows it: a whole percent, the fraction clamped to 0..1. */
const wholePercent = (fraction: number) => Math.round(Math.min(1, Math.max(0, fraction)) * 100);
const percent = (fraction: number) => `${wholePercent(fraction)}%`;
const mb = (bytes: number) =>
  bytes >= 1e9 ? `${(bytes / 1e9).toFixed(2)} GB` : bytes >= 1e6 ? `${(bytes / 1e6).toFixed(1)} MB` : `${(bytes / 1e3).toFixed(1)} kB`;

/** What the guard is doing, in words: the element's own step names (`loadingStep`), for the same whole percent. */
export function phaseWords(p: LoadProgress): string {
  return loadingStep(p.phase, wholePercent(p.progress));
}

function progressView(p: LoadProgress): TemplateResult {
  const bytes = p.loadedBytes !== undefined && p.totalBytes ? ` · ${mb(p.loadedBytes)} of ${mb(p.totalBytes)}` : '';
  return html`<div class="load-progress" data-phase=${p.phase}>
    <progress max="1" value=${p.progress} aria-label="Model loading progress"></progress>
    <p class="progress-text"><strong>${phaseWords(p)}</strong> ${percent(p.progress)}${bytes}</p>
    <p class="progress-detail muted">${p.text}</p>
  </div>`;
}

function statusView(state: ModelPanelState): TemplateResult {
  switch (state.status) {
    case 'ready':
      return html`<p class="model-status ready" role="status">Ready: <strong>${state.info?.modelId}</strong></p>`;
    case 'loading':
    case 'idle':
      return html`<p class="model-status loading" role="status">Loading the model…</p>
        ${state.progress ? progressView(state.progress) : nothing}`;
    case 'failed':
      return failureView(state.error, state.choice, state.gpu, DEFAULT_MODEL_URL);
  }
}

function gpuView(gpu: GpuFinding | undefined): TemplateResult {
  if (!gpu) return html`<p class="muted">Asking the browser for a GPU adapter…</p>`;
  if (!gpu.ok) return html`<p class="gpu-missing">${gpu.reason}</p>`;
  const r = gpu.report;
  return html`<dl class="facts gpu">
    <dt>Adapter</dt>
    <dd>${[r.vendor, r.architecture].filter(Boolean).join(' · ') || 'unnamed'}${r.description ? ` (${r.description})` : ''}${r.isFallbackAdapter ? ' · software fallback' : ''}</dd>
    <dt>shader-f16</dt>
    <dd>${r.shaderF16 ? 'yes' : 'no'}</dd>
    <dt>Max buffer</dt>
    <dd>${formatLimit(r.maxBufferSize)}</dd>
    <dt>Max storage binding</dt>
    <dd>${formatLimit(r.maxStorageBufferBindingSize)}</dd>
    <dt>Workgroup storage</dt>
    <dd>${formatLimit(r.maxComputeWorkgroupStorageSize)}</dd>
    <dt>Storage buffers per stage</dt>
    <dd>${r.maxStorageBuffersPerShaderStage}</dd>
  </dl>`;
}

function variantView(state: ModelPanelState): TemplateResult {
  const info = state.info;
  if (info) {
    return html`<dl class="facts model-info">
      <dt>Variant</dt>
      <dd><strong>${info.variant}</strong> (loaded)</dd>
      <dt>Weights</dt>
      <dd><code>${info.weightsUrl}</code></dd>
      <dt>Model library</dt>
      <dd><code>${info.modelLibUrl}</code></dd>
      <dt>Context window</dt>
      <dd>${info.contextWindow} tokens</dd>
      <dt>Fast path</dt>
      <dd class="fast-path">
        ${info.fastPath ? (info.prefixReuse ? 'yes (first-token verdicts, prefix reuse)' : 'yes (first-token verdicts, no prefix reuse)') : 'no (JSON decoding)'}
        ${info.fastPathOff ? html`<br /><span class="fast-path-off muted">Why: ${info.fastPathOff.message} (<code>${info.fastPathOff.code}</code>)</span>` : nothing}
      </dd>
      <dt>Load time</dt>
      <dd>${(info.loadMs / 1000).toFixed(1)} s</dd>
    </dl>`;
  }
  const gpu = state.gpu;
  if (!gpu?.ok) return html`<p class="muted">No variant can be chosen without a GPU adapter.</p>`;
  return html`<p>
    <strong>${gpu.variant}</strong> for this GPU: ${gpu.report.shaderF16 ? 'it has shader-f16, so the f16 build runs.' : 'it has no shader-f16, so the f32 build is used.'}
  </p>`;
}

function sourceView(state: ModelPanelState, actions: ModelPanelActions): TemplateResult {
  const storing = state.storing;
  return html`<p>Now: <code class="model-source">${describeChoice(state.choice)}</code></p>
    <form
      class="url-form"
      @submit=${(e: SubmitEvent) => {
        e.preventDefault();
        const input = (e.currentTarget as HTMLFormElement).elements.namedItem('model-url') as HTMLInputElement;
        if (input.value.trim()) actions.loadUrl(input.value.trim());
      }}
    >
      <label for="model-url">Model folder URL <span class="muted">(<code>{variant}</code> is filled in)</span></label>
      <div class="row">
        <input id="model-url" name="model-url" type="text" spellcheck="false" .value=${state.choice.kind === 'url' ? state.choice.url : DEFAULT_MODEL_URL} />
        <button type="submit">Load</button>
      </div>
    </form>
    <div class="folder-pick">
      <label for="model-folder">Or a model folder on this device: stored in this browser, so the page works offline afterwards</label>
      <input
        id="model-folder"
        type="file"
        webkitdirectory
        multiple
        @change=${(e: Event) => {
          const input = e.currentTarget as HTMLInputElement;
          if (input.files?.length) actions.loadFolder(input.files);
          input.value = '';
        }}
      />
      ${storing
        ? html`<div class="load-progress">
            <progress max=${storing.totalBytes} value=${storing.storedBytes} aria-label="Storing the model folder"></progress>
            <p class="progress-text">Storing ${storing.path} (${storing.index + 1} of ${storing.count}) · ${mb(storing.storedBytes)} of ${mb(storing.totalBytes)}</p>
          </div>`
        : nothing}
      ${state.storeError ? html`<p class="store-error" role="alert">${withInlineCode(state.storeError)}</p>` : nothing}
      ${state.choice.kind === 'local'
        ? html`<p>
            Stored: ${mb(state.choice.bytes)} under <code>${state.choice.weightsUrl}</code>
            <button type="button" @click=${actions.forgetFolder}>Forget it</button>
          </p>`
        : nothing}
    </div>`;
}

export function modelPanelView(state: ModelPanelState, actions: ModelPanelActions): TemplateResult {
  return html`<section class="panel model-panel" aria-labelledby="model-title">
    <h2 id="model-title">Model</h2>
    ${statusView(state)}
    <h3>Where the weights come from</h3>
    ${sourceView(state, actions)}
    <h3>WebGPU</h3>
    ${gpuView(state.gpu)}
    <h3>Variant</h3>
    ${variantView(state)}
  </section>`;
}
