/** Where the demo's model comes from, remembered in localStorage between visits. */
import type { ModelOption } from '../src/client/types.js';

/** The page's default: a build next to the page, `{variant}` picked from the GPU. */
export const DEFAULT_MODEL_URL = './models/aegis-guard-2.0-{variant}/';

export type ModelChoice =
  | { kind: 'url'; url: string }
  | {
      kind: 'local';
      /** The picked folder's name. */
      name: string;
      /** Where the files are stored in Cache Storage (see local-model.ts). */
      weightsUrl: string;
      variant: 'q4f16_1' | 'q4f32_1';
      modelLibUrl?: string;
      bytes: number;
    };

const KEY = 'aegis-guard-demo:model';

export function defaultChoice(): ModelChoice {
  return { kind: 'url', url: DEFAULT_MODEL_URL };
}

export function loadChoice(storage: Storage | undefined): ModelChoice {
  try {
    const raw = storage?.getItem(KEY);
    if (!raw) return defaultChoice();
    const value = JSON.parse(raw) as ModelChoice;
    if (value.kind === 'url' && typeof value.url === 'string') return value;
    if (value.kind === 'local' && typeof value.weightsUrl === 'string' && typeof value.name === 'string') return value;
  } catch {
    // A damaged entry: fall back to the default.
  }
  return defaultChoice();
}

export function saveChoice(storage: Storage | undefined, choice: ModelChoice): void {
  try {
    storage?.setItem(KEY, JSON.stringify(choice));
  } catch {
    // Private mode or full storage: the choice lasts for this visit only.
  }
}

export function toModelOption(choice: ModelChoice): ModelOption {
  if (choice.kind === 'url') return choice.url;
  return { weightsUrl: choice.weightsUrl, variant: choice.variant, ...(choice.modelLibUrl ? { modelLibUrl: choice.modelLibUrl } : {}) };
}

export function describeChoice(choice: ModelChoice): string {
  return choice.kind === 'url' ? choice.url : `local folder "${choice.name}" (stored in this browser)`;
}
