/**
 * The demo's model panel says whether the fast path is on and, when it is off, why (ModelInfo.fastPathOff).
 */
import { render } from 'lit';
import { afterEach, beforeEach, expect, test } from 'vitest';
import { modelPanelView, type ModelPanelState } from '../../demo/model-panel.js';
import type { ModelInfo } from '../../src/core/types.js';

let root: HTMLElement;
beforeEach(() => {
  root = document.createElement('div');
  document.body.append(root);
});
afterEach(() => root.remove());

const info = (fast: Partial<ModelInfo>): ModelInfo => ({
  modelId: 'aegis-guard-2.0-q4f32_1',
  variant: 'q4f32_1',
  weightsUrl: 'https://models.example/aegis/',
  modelLibUrl: 'https://models.example/aegis.wasm',
  contextWindow: 4096,
  gpu: {
    vendor: 'v',
    architecture: 'a',
    description: '',
    isFallbackAdapter: false,
    shaderF16: false,
    maxBufferSize: 1 << 30,
    maxStorageBufferBindingSize: 1 << 30,
    maxComputeWorkgroupStorageSize: 32768,
    maxStorageBuffersPerShaderStage: 10,
  },
  fastPath: true,
  prefixReuse: true,
  loadMs: 1234,
  ...fast,
});

function fastPathText(state: Partial<ModelInfo>): string {
  const panel: ModelPanelState = { choice: { kind: 'url', url: 'https://models.example/aegis/' }, status: 'ready', info: info(state) };
  render(modelPanelView(panel, { loadUrl() {}, loadFolder() {}, forgetFolder() {} }), root);
  return root.querySelector('.fast-path')?.textContent?.replace(/\s+/g, ' ').trim() ?? '';
}

test('fast path on: no reason shown', () => {
  expect(fastPathText({})).toBe('yes (first-token verdicts, prefix reuse)');
});

test('prefix reuse off: the reason and its code are shown', () => {
  const text = fastPathText({
    prefixReuse: false,
    fastPathOff: { code: 'no-rollback-builtin', message: 'The model library lacks vm.builtin.kv_state_popn.' },
  });
  expect(text).toContain('yes (first-token verdicts, no prefix reuse)');
  expect(text).toContain('Why: The model library lacks vm.builtin.kv_state_popn. (no-rollback-builtin)');
});

test('fast path off: the reason is shown', () => {
  const text = fastPathText({ fastPath: false, prefixReuse: false, fastPathOff: { code: 'pipeline-shape', message: 'The pipeline lacks tokenizer.' } });
  expect(text).toContain('no (JSON decoding)');
  expect(text).toContain('(pipeline-shape)');
});
