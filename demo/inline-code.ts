/**
 * Messages (the guard's errors, the demo's own) mark file names and commands with `backticks`, as in
 * Markdown. Shown in the page, the parts between backticks become <code>; everything stays text (never HTML).
 */
import { html, type TemplateResult } from 'lit';

export function withInlineCode(text: string): TemplateResult[] {
  return text.split(/`([^`\n]+)`/u).map((part, i) => (i % 2 === 1 ? html`<code>${part}</code>` : html`${part}`));
}
