/**
 * `aegis-guard/define`: registers `<aegis-guard>`. Importing it twice (two bundles, a CDN copy beside a
 * bundled one) is harmless: the first registration wins and later ones are skipped.
 *
 * The registration runs when the module is imported, so package.json's `sideEffects` must list this module
 * (a bundler drops a side-effect-only import of a module it believes pure). Code that wants no reliance on
 * that can call `defineAegisGuard()` instead, which a bundler always keeps.
 */
import { AegisGuardElement } from './aegis-guard.js';

export const AEGIS_GUARD_TAG = 'aegis-guard';

/** Registers `<aegis-guard>` unless a registration exists already; returns the registered class. */
export function defineAegisGuard(): CustomElementConstructor {
  const existing = customElements.get(AEGIS_GUARD_TAG);
  if (existing) return existing;
  customElements.define('aegis-guard', AegisGuardElement);
  return AegisGuardElement;
}

defineAegisGuard();

export { AegisGuardElement };

declare global {
  interface HTMLElementTagNameMap {
    'aegis-guard': AegisGuardElement;
  }
}
