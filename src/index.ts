/**
 * `aegis-guard`: on-device content safety for chat apps. The main-thread API: create a guard, check prompts
 * and replies, guard streams. WebLLM runs only inside the guard's worker and never loads on this thread.
 */
export { createGuard } from './client/create-guard.js';
export { DEFAULT_WEIGHTS_PATH } from './client/model-option.js';
export type {
  CheckOptions,
  Guard,
  GuardEventMap,
  GuardOptions,
  GuardState,
  JudgeChoice,
  ModelOption,
  PersistentCacheOptions,
  RuntimeModelRecord,
} from './client/types.js';
export * from './core/errors.js';
export type * from './core/types.js';
export { AEGIS_TAXONOMY, buildTaxonomy, resolveCategory } from './core/taxonomy.js';
export { DEFAULT_POLICY } from './core/policy.js';
