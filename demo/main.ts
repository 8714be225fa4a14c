/**
 * The shipped demo page: a real guard (WebLLM in a worker) over the model the reader chose, or the default
 * `./models/aegis-guard-2.0-{variant}/`. With no model there, the page says so and every message stays
 * hidden: nothing here produces a verdict but the model.
 */
import { createGuard } from '../src/client/create-guard.js';
import type { Guard } from '../src/client/types.js';
import { mountDemo } from './demo-app.js';
import { defaultChoice, loadChoice, saveChoice, toModelOption, type ModelChoice } from './model-choice.js';
import { registerServiceWorker } from './register-sw.js';

const storage = (() => {
  try {
    return window.localStorage;
  } catch {
    return undefined;
  }
})();

let choice: ModelChoice = loadChoice(storage);
let guard: Guard;
try {
  guard = createGuard({ model: toModelOption(choice) });
} catch {
  // A remembered choice the guard no longer accepts: start from the default.
  choice = defaultChoice();
  saveChoice(storage, choice);
  guard = createGuard({ model: toModelOption(choice) });
}

mountDemo(document.getElementById('app')!, { guard, model: choice, onModelChosen: (next) => saveChoice(storage, next) });
void registerServiceWorker();
