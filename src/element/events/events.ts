/** Every event `<aegis-guard>` fires: one class each, all bubbling and composed. */
export * from './block.js';
export * from './error.js';
export * from './progress.js';
export * from './ready.js';
export * from './verdict.js';
