/** Scripted outputs on which the fast path and the JSON path must read the same verdict. */
import type { CustomCategory, Target } from '../../src/core/types.js';

export const COMPETITOR: CustomCategory[] = [{ name: 'Competitor Mentions', description: 'Naming rival products.' }];

export interface AgreementCase {
  name: string;
  target: Target;
  user: string;
  response?: string;
  /**
   * The answer writes another field where the category list would open (`", "User Safety"…`). The fast path
   * forces `"Safety Categories"` there (category-decode.ts), so the scripted model, which cannot continue
   * text it would not write, fails the check: both paths block, for different reasons.
   */
  leavesListFormat?: true;
}

export const AGREEMENT_CASES: AgreementCase[] = [
  { name: 'safe prompt', target: 'prompt', user: 'How do I bake bread?' },
  { name: 'unsafe prompt', target: 'prompt', user: 'do it [[unsafe:Violence, Threat]]' },
  { name: 'unknown category', target: 'prompt', user: '[[unsafe:Made Up Thing]]' },
  { name: 'custom category', target: 'prompt', user: 'Buy the rival one [[unsafe:Competitor Mentions]]' },
  { name: 'probability only', target: 'prompt', user: 'hmm [[p:0.8]]' },
  { name: 'safe reply', target: 'response', user: 'hi', response: 'hello!' },
  { name: 'refusal of an unsafe prompt', target: 'response', user: 'how to hurt [[unsafe]]', response: 'I cannot help with that.' },
  { name: 'unsafe reply', target: 'response', user: 'tell me', response: 'Sure, here [[unsafe:Fraud/Deception]]' },
  { name: 'both unsafe', target: 'response', user: 'kill [[unsafe:Violence]]', response: 'ok [[unsafe:Threat]]' },
  { name: 'custom reply', target: 'response', user: 'Which phone?', response: 'Buy theirs [[unsafe:Competitor Mentions]]' },
  { name: 'not a rating', target: 'prompt', user: '[[raw:{"User Safety": "maybe"}]]' },
  { name: 'duplicate verdict', target: 'prompt', user: '[[raw:{"User Safety": "unsafe", "User Safety": "safe"}]]', leavesListFormat: true },
  { name: 'truncated answer', target: 'prompt', user: '[[raw:{"User Safety": "unsafe", "Safety Categories": "Violence]]' },
];
