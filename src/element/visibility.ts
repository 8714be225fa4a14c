/**
 * Tells lazy `<aegis-guard>` elements when they come near the visible area, so off-screen messages wait their
 * turn. "Near" means within one viewport (or scroll box) height above or below what is shown, so a message
 * is usually judged before the reader scrolls to it.
 *
 * Chat UIs scroll in a container, and an IntersectionObserver's margin only widens its own root: so each
 * element is watched relative to its nearest scrolling ancestor (crossing shadow roots), with one observer
 * per scroll container shared by every element inside it (hundreds of observers would each cost a callback
 * per frame while scrolling).
 */
type Callback = () => void;

const waiting = new Map<Element, { callback: Callback; observer: IntersectionObserver }>();
const byRoot = new WeakMap<Element, IntersectionObserver>();
let viewportObserver: IntersectionObserver | undefined;

function onEntries(entries: IntersectionObserverEntry[]): void {
  for (const entry of entries) {
    if (!entry.isIntersecting) continue;
    const callback = waiting.get(entry.target)?.callback;
    stopWaiting(entry.target);
    callback?.();
  }
}

/** The parent in the rendered tree: through slots and out of shadow roots. */
function renderedParent(node: Element): Element | null {
  return node.assignedSlot ?? node.parentElement ?? ((node.getRootNode() as ShadowRoot).host as Element | undefined) ?? null;
}

function scrollContainer(element: Element): Element | null {
  for (let node = renderedParent(element); node && node !== document.body && node !== document.documentElement; node = renderedParent(node)) {
    const overflow = getComputedStyle(node).overflowY;
    if (overflow === 'auto' || overflow === 'scroll') return node;
  }
  return null;
}

function observerFor(root: Element | null): IntersectionObserver {
  const options = { rootMargin: '100% 0px' };
  if (!root) return (viewportObserver ??= new IntersectionObserver(onEntries, options));
  let observer = byRoot.get(root);
  if (!observer) byRoot.set(root, (observer = new IntersectionObserver(onEntries, { ...options, root })));
  return observer;
}

/** Calls `callback` once, when `element` first comes near the visible part of its scroll container. */
export function whenNearViewport(element: Element, callback: Callback): void {
  if (typeof IntersectionObserver === 'undefined') {
    callback();
    return;
  }
  stopWaiting(element);
  const observer = observerFor(scrollContainer(element));
  waiting.set(element, { callback, observer });
  observer.observe(element);
}

export function stopWaiting(element: Element): void {
  const entry = waiting.get(element);
  if (!entry) return;
  waiting.delete(element);
  entry.observer.unobserve(element);
}
