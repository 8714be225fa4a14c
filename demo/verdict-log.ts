/**
 * The side panel's log: one entry per verdict the guard returned (a streamed reply gets one per checked
 * chunk) or per message that could not be judged. It shows what the guard reported and nothing else; the
 * message text itself is never repeated here (a blocked message must not leak through the log).
 */
import { html, nothing, type TemplateResult } from 'lit';
import type { AegisError } from '../src/core/errors.js';
import type { Verdict } from '../src/core/types.js';
import { withInlineCode } from './inline-code.js';

export interface LogEntry {
  seq: number;
  /** Message number in the chat. */
  message: number;
  role: 'user' | 'assistant';
  chunk?: { start: number; end: number };
  verdict?: Verdict;
  error?: AegisError;
}

const ms = (value: number | undefined) => (value === undefined ? '–' : value < 10 ? `${value.toFixed(1)} ms` : `${Math.round(value)} ms`);

/** Whether the check ran the model: a model verdict, or a failure after tokens went in or out (a timeout mid-decode). */
function ranTheModel(v: Verdict): boolean {
  return v.source === 'model' || (v.source === 'failure' && (v.tokens.prompt > 0 || v.tokens.completion > 0));
}

/**
 * The timings line. A check that did not run the model (answered from the cache, or failed before it ran)
 * has no prefill or decode time: the verdict's zeros mean "did not happen", not "took 0.0 ms".
 */
export function timingsText(v: Verdict): string {
  const t = v.timings;
  const ran = ranTheModel(v);
  const model = ran ? ` · prefill ${ms(t.prefillMs)} · decode ${ms(t.decodeMs)}` : ' · the model did not run';
  return `queued ${ms(t.queuedMs)}${model} · total ${ms(t.totalMs)}${t.prefixReused ? ' · prefix reused' : ''}`;
}

function outcome(entry: LogEntry): { label: string; tone: 'allowed' | 'blocked' | 'failed' } {
  const v = entry.verdict;
  if (!v) return { label: 'Not judged', tone: 'failed' };
  if (v.source === 'failure') return { label: v.safe ? 'Check failed: let through (fail-open)' : 'Check failed: hidden', tone: 'failed' };
  return v.safe ? { label: 'Allowed', tone: 'allowed' } : { label: 'Blocked', tone: 'blocked' };
}

function entryView(entry: LogEntry): TemplateResult {
  const v = entry.verdict;
  const { label, tone } = outcome(entry);
  const what = `#${entry.message} ${entry.role === 'user' ? 'prompt' : 'reply'}${entry.chunk ? `, characters ${entry.chunk.start}–${entry.chunk.end}` : ''}`;
  return html`<li class="log-entry ${tone}" data-message=${entry.message}>
    <div class="log-head"><span class="log-what">${what}</span><span class="log-outcome">${label}</span></div>
    <dl class="log-facts">
      ${v
        ? html`<dt>Categories</dt>
            <dd>${v.categories.length ? v.categories.map((c) => `${c.code ?? '?'} ${c.name}`).join(', ') : 'none'}</dd>
            <dt>P(unsafe)</dt>
            <dd>${v.unsafeProbability === undefined ? 'not reported by this engine' : v.unsafeProbability.toFixed(3)}</dd>
            <dt>Timings</dt>
            <dd>${timingsText(v)}</dd>
            <dt>Tokens</dt>
            <dd>${v.tokens.prompt} in · ${v.tokens.completion} out</dd>
            <dt>Source</dt>
            <dd>${v.source}${v.failure ? html`: <code>${v.failure.code}</code> ${withInlineCode(v.failure.message)}` : nothing}</dd>`
        : html`<dt>Error</dt>
            <dd><code>${entry.error?.code ?? 'unknown'}</code> ${withInlineCode(entry.error?.message ?? '')}</dd>`}
    </dl>
  </li>`;
}

export function verdictLogView(entries: readonly LogEntry[]): TemplateResult {
  return html`<section class="panel" aria-labelledby="log-title">
    <h2 id="log-title">Verdicts</h2>
    ${entries.length === 0
      ? html`<p class="muted">Each verdict appears here: outcome, categories, P(unsafe) when the engine reports it, timings and token counts.</p>`
      : html`<ol class="log" reversed>
          ${[...entries].reverse().map(entryView)}
        </ol>`}
  </section>`;
}
