/**
 * `aegis-guard/core`: the pure part of aegis-guard (no DOM, no WebLLM). The prompt, its defusing, the output
 * parser, the taxonomy, the policy, typed errors and shared types.
 */
export * from './errors.js';
export type * from './types.js';
export * from './taxonomy.js';
export * from './sanitize.js';
export * from './prompt.js';
export * from './parse.js';
export * from './policy.js';
export * from './tokens.js';
export * from './verdict.js';
