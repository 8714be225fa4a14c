/** The default progress words follow the engine's phases: preflight begins with the GPU, then the model's files. */
import { describe, expect, test } from 'vitest';
import { DEFAULT_LABELS, loadingStep } from '../../src/element/labels.js';
import { seededRandom } from '../helpers/prng.js';
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

  test('the panel and the element name the same step for every phase and fraction (small ones included)', () => {
    const random = seededRandom(7);
    const phases = ['preflight', 'fetching', 'loading', 'compiling', 'ready'] as const;
    const fractions = [0, 0.001, 0.004, 0.0049, 0.005, 0.006, 0.01, 0.5, 0.995, 1, 1.2, -0.1, ...Array.from({ length: 200 }, () => random() * 0.05)];
    for (const phase of phases) {
      for (const progress of fractions) {
        // The element's percent, as aegis-guard.ts computes it for its progress line.
        const percent = Math.round(Math.min(1, Math.max(0, progress)) * 100);
        const elementStep = DEFAULT_LABELS.loadingProgress({ percent, phase }).replace(/: \d+%$/, '');
        expect(phaseWords({ phase, progress, text: '' }), `${phase} at ${progress}`).toBe(elementStep);
        expect(elementStep).toBe(loadingStep(phase, percent));
      }
    }
    expect(phaseWords({ phase: 'preflight', progress: 0.004, text: '' })).toBe('Checking the GPU');
    expect(phaseWords({ phase: 'preflight', progress: 0.006, text: '' })).toBe('Checking the model files');
    expect(loadingStep('ready', 100)).toBe('Ready');
  });

  test('placeholders name the message when the element has a label', () => {
    expect(DEFAULT_LABELS.blocked(['violence'], 'Reply #4')).toBe('Reply #4 is hidden because it may contain violence.');
    expect(DEFAULT_LABELS.blocked([])).toBe('This message is hidden because it may be unsafe.');
    expect(DEFAULT_LABELS.error('the check took too long.', 'Message 2')).toBe('Message 2 is hidden because the safety check could not run: the check took too long.');
  });
});
