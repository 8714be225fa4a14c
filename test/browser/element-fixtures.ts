/** Shared set-up for the `<aegis-guard>` browser tests: real elements over real test guards. */
import { afterEach, expect } from 'vitest';
import '../../src/element/define.js';
import type { AegisGuardElement, AegisGuardState } from '../../src/element/aegis-guard.js';
import { createTestGuard, type TestGuard } from '../helpers/test-guard.js';

const guards: TestGuard[] = [];
const mounted: Element[] = [];

afterEach(() => {
  for (const el of mounted.splice(0)) el.remove();
  for (const g of guards.splice(0)) g.guard.dispose();
});

export function testGuard(options: Parameters<typeof createTestGuard>[0] = {}): TestGuard {
  const g = createTestGuard(options);
  guards.push(g);
  return g;
}

/** Creates an `<aegis-guard>`, sets properties, optionally fills its light DOM, and appends it. */
export function mount(props: Partial<AegisGuardElement> & Record<string, unknown>, options: { html?: string; attrs?: Record<string, string>; parent?: Node } = {}): AegisGuardElement {
  const el = document.createElement('aegis-guard');
  for (const [name, value] of Object.entries(options.attrs ?? {})) el.setAttribute(name, value);
  if (options.html !== undefined) el.innerHTML = options.html;
  Object.assign(el, props);
  (options.parent ?? document.body).appendChild(el);
  mounted.push(el);
  return el;
}

export function track(el: Element): void {
  mounted.push(el);
}

/** Resolves with the next event of that type on `target`. */
export function nextEvent<T extends Event>(target: EventTarget, type: string): Promise<T> {
  return new Promise((resolve) => target.addEventListener(type, (e) => resolve(e as T), { once: true }));
}

export async function settledAs(el: AegisGuardElement, state: AegisGuardState): Promise<void> {
  await expect.poll(() => el.state, { timeout: 20_000 }).toBe(state);
  await el.updateComplete;
}

export function part(el: AegisGuardElement, name: string): HTMLElement | null {
  return el.shadowRoot!.querySelector(`[part~="${name}"]`);
}

export function shadowText(el: AegisGuardElement): string {
  return el.shadowRoot!.textContent ?? '';
}
