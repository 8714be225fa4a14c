import { css } from 'lit';

/**
 * Colours come from `light-dark()`, so the element follows the page's `color-scheme` (set
 * `color-scheme: light dark` or `dark` on the page for dark mode); every colour is a custom property.
 */
export const aegisGuardStyles = css`
  :host {
    display: block;
    --aegis-guard-muted-color: light-dark(#4b5563, #b4bcc8);
    --aegis-guard-placeholder-background: light-dark(#f3f4f6, #22262c);
    --aegis-guard-placeholder-border: light-dark(#d1d5db, #3b424c);
    --aegis-guard-blocked-accent: light-dark(#b42318, #f97066);
    --aegis-guard-unsafe-highlight: light-dark(#fee4e2, #55160c);
    --aegis-guard-error-accent: light-dark(#9a3412, #fdba74);
    --aegis-guard-allowed-accent: light-dark(#067647, #6ce9a6);
    --aegis-guard-progress-color: light-dark(#1d4ed8, #60a5fa);
    --aegis-guard-progress-track: light-dark(#e5e7eb, #374151);
    --aegis-guard-focus-ring: light-dark(#1d4ed8, #93c5fd);
    --aegis-guard-border-radius: 0.5rem;
    --aegis-guard-spacing: 0.5rem;
  }

  :host([hidden]) {
    display: none;
  }

  /* Off-screen lazy messages cost no style, layout or paint work (their check waits as well). */
  :host([lazy]) {
    content-visibility: auto;
    contain-intrinsic-size: auto 3em;
  }

  [part~='base'] {
    position: relative;
  }

  .text {
    white-space: pre-wrap;
    overflow-wrap: anywhere;
  }

  [part~='unsafe-span'] {
    background: var(--aegis-guard-unsafe-highlight);
    color: inherit;
    text-decoration: underline wavy var(--aegis-guard-blocked-accent);
    text-decoration-thickness: 1px;
    text-underline-offset: 0.2em;
  }

  [part~='status'],
  [part~='placeholder'],
  [part~='error'] {
    box-sizing: border-box;
    padding: var(--aegis-guard-spacing) calc(var(--aegis-guard-spacing) * 1.5);
    border-radius: var(--aegis-guard-border-radius);
    background: var(--aegis-guard-placeholder-background);
    border: 1px solid var(--aegis-guard-placeholder-border);
    color: var(--aegis-guard-muted-color);
    font-size: 0.875em;
    line-height: 1.4;
  }

  [part~='status'] {
    display: flex;
    flex-direction: column;
    gap: calc(var(--aegis-guard-spacing) / 2);
  }

  .status-line {
    display: flex;
    align-items: center;
    gap: var(--aegis-guard-spacing);
  }

  /* A still ring, not a spinner: hundreds of infinite animations (one per waiting message) cost every frame. */
  .indicator {
    flex: none;
    box-sizing: border-box;
    inline-size: 0.75em;
    block-size: 0.75em;
    border-radius: 50%;
    border: 2px solid var(--aegis-guard-progress-track);
    border-block-start-color: var(--aegis-guard-progress-color);
    border-inline-end-color: var(--aegis-guard-progress-color);
  }

  [part~='progress'] {
    block-size: 0.375rem;
    border-radius: 999px;
    background: var(--aegis-guard-progress-track);
    overflow: hidden;
  }

  /* No transition: with a long history, hundreds of bars would animate at once. */
  [part~='progress-indicator'] {
    block-size: 100%;
    background: var(--aegis-guard-progress-color);
  }

  /* Unknown progress: a still, striped bar (no animation, see the indicator above). */
  [part~='progress-indicator'].indeterminate {
    inline-size: 100%;
    background: repeating-linear-gradient(
      -45deg,
      var(--aegis-guard-progress-color) 0 0.375rem,
      var(--aegis-guard-progress-track) 0.375rem 0.75rem
    );
    opacity: 0.6;
  }

  [part~='progress-label'] {
    font-variant-numeric: tabular-nums;
  }

  [part~='placeholder'] {
    border-inline-start: 3px solid var(--aegis-guard-blocked-accent);
  }

  [part~='error'] {
    border-inline-start: 3px solid var(--aegis-guard-error-accent);
  }

  .message {
    margin: 0;
    color: inherit;
  }

  .actions {
    display: flex;
    flex-wrap: wrap;
    gap: var(--aegis-guard-spacing);
    margin-block-start: calc(var(--aegis-guard-spacing) / 2);
  }

  button {
    font: inherit;
    font-size: 0.95em;
    color: inherit;
    background: transparent;
    border: 1px solid currentColor;
    border-radius: calc(var(--aegis-guard-border-radius) / 2);
    padding: 0.125em 0.625em;
    /* WCAG 2.2 target size (2.5.8): at least 24 x 24 CSS pixels, whatever the font size. */
    min-block-size: 24px;
    min-inline-size: 24px;
    cursor: pointer;
  }

  button:hover {
    background: color-mix(in srgb, currentColor 10%, transparent);
  }

  button:focus-visible {
    outline: 2px solid var(--aegis-guard-focus-ring);
    outline-offset: 2px;
  }

  [part~='error-details'] {
    margin-block-start: calc(var(--aegis-guard-spacing) / 2);
    font-size: 0.85em;
  }

  [part~='error-details'] summary {
    cursor: pointer;
    inline-size: fit-content;
    /* Target size as for buttons (WCAG 2.2, 2.5.8). */
    display: flex;
    align-items: center;
    gap: 0.35em;
    min-block-size: 24px;
    min-inline-size: 24px;
    padding-inline-end: 0.25em;
  }

  [part~='error-details'] summary::before {
    content: '▸';
  }

  [part~='error-details'][open] summary::before {
    content: '▾';
  }

  [part~='error-details'] summary::-webkit-details-marker {
    display: none;
  }

  [part~='error-details'] summary:focus-visible {
    outline: 2px solid var(--aegis-guard-focus-ring);
    outline-offset: 2px;
  }

  [part~='error-details'] code {
    display: block;
    margin-block-start: 0.25em;
    white-space: pre-wrap;
    overflow-wrap: anywhere;
  }

  [part~='revealed-notice'] {
    display: flex;
    flex-wrap: wrap;
    align-items: center;
    gap: var(--aegis-guard-spacing);
    margin-block-end: calc(var(--aegis-guard-spacing) / 2);
    font-size: 0.8em;
    color: var(--aegis-guard-blocked-accent);
  }

  [part~='revealed-notice'] button {
    font-size: 1em;
  }

  [part~='badge'] {
    display: inline-block;
    margin-block-start: calc(var(--aegis-guard-spacing) / 2);
    padding: 0 0.5em;
    border-radius: 999px;
    border: 1px solid currentColor;
    font-size: 0.7em;
    line-height: 1.6;
    color: var(--aegis-guard-allowed-accent);
  }

  [part~='badge'].unchecked,
  [part~='badge'].overridden {
    color: var(--aegis-guard-error-accent);
  }

  .streaming-note {
    display: flex;
    align-items: center;
    gap: var(--aegis-guard-spacing);
    margin-block-start: calc(var(--aegis-guard-spacing) / 2);
    font-size: 0.8em;
    color: var(--aegis-guard-muted-color);
  }

  .visually-hidden {
    position: absolute;
    inline-size: 1px;
    block-size: 1px;
    margin: -1px;
    padding: 0;
    overflow: hidden;
    clip-path: inset(50%);
    white-space: nowrap;
    border: 0;
  }
`;
