/** The default progress words follow the engine's phases: preflight begins with the GPU, then the model's files. */
import { describe, expect, test } from 'vitest';
import { DEFAULT_LABELS } from '../../src/element/labels.js';
import { phaseWords } from '../../demo/model-panel.js';

describe('progress words', () => {
  test('the element: GPU check at 0 %, then the model files, then download and GPU upload', () => {
    const line = (phase: Parameters<typeof DEFAULT_LABELS.loadingProgress>[0]['phase'], percent: number) => DEFAULT_LABELS.loadingProgress({ percent, phase });
    expect(line('preflight', 0)).toBe('Checking the GPU: 0%');
    expect(line('preflight', 20)).toBe('Checking the model files: 20%');
    expect(line('fetching', 40)).toBe('Downloading: 40%');
    expect(line('loading', 50)).toBe('Loading into GPU memory: 50%');
    expect(DEFAULT_LABELS.loadingProgress({ percent: 5, phase: 'fetching', loaded: '1 MB', total: '20 MB' })).toBe('Downloading: 5% (1 MB of 20 MB)');
  });

  test('the demo panel says the same', () => {
    expect(phaseWords({ phase: 'preflight', progress: 0, text: 'Checking WebGPU' })).toBe('Checking the GPU');
    expect(phaseWords({ phase: 'preflight', progress: 0.2, text: 'Checking https://x/mlc-chat-config.json' })).toBe('Checking the model files');
    expect(phaseWords({ phase: 'compiling', progress: 0.5, text: '' })).toBe('Preparing the GPU');
  });

  test('placeholders name the message when the element has a label', () => {
    expect(DEFAULT_LABELS.blocked(['violence'], 'Reply #4')).toBe('Reply #4 is hidden because it may contain violence.');
    expect(DEFAULT_LABELS.blocked([])).toBe('This message is hidden because it may be unsafe.');
    expect(DEFAULT_LABELS.error('the check took too long.', 'Message 2')).toBe('Message 2 is hidden because the safety check could not run: the check took too long.');
  });
});
