/**
 * `aegis-guard/element`: the `<aegis-guard>` class, its events, labels and the shared guard, without
 * registering the tag (import `aegis-guard/define` for that).
 */
export { AegisGuardElement, type AegisGuardState } from './aegis-guard.js';
export * from './events/events.js';
export { DEFAULT_LABELS, setDefaultLabels, defaultLabels, type AegisGuardLabels } from './labels.js';
export { sharedGuard, setSharedGuardOptions, disposeSharedGuards, type SharedGuardKey } from './shared-guard.js';
