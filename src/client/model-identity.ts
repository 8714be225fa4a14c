/**
 * What identifies the model a guard will run, for keys of stored verdicts: the resolved model (id, variant,
 * weights folder, model library, context window) and digests of the two files that pin its behaviour, `tensor-cache.json`
 * (the weight index: every tensor, shard and shard checksum) and `mlc-chat-config.json`. New weights at the
 * same URL give another identity, and old verdicts are simply never found again.
 *
 * Computed on the page, before the worker has loaded anything, so that a returning visitor's history is
 * answered at once: the variant is the one the worker will choose for this GPU (the same preflight and the
 * same choice, model-records.ts), and the files are read from Cache Storage, where WebLLM and the engine's
 * pre-load check keep them, or else fetched. When any of it cannot be established, there is no identity and
 * nothing is stored or looked up: a verdict is never served for a model that might not be the one loaded.
 */
import { sha256Hex } from '../core/sha256.js';
import { resolveModelSpec } from '../engine/model-records.js';
import { preflight } from '../engine/preflight.js';
import { webllmFolderUrl } from '../engine/webllm-urls.js';
import type { ModelSource } from '../worker/protocol.js';

/** The files whose bytes go into the identity, by name in the weights folder. */
const PINNING_FILES = ['mlc-chat-config.json', 'tensor-cache.json'] as const;

/** A JSON object's bytes from Cache Storage (any scope) or the network; undefined when neither has one. */
async function readJsonFile(url: string): Promise<Uint8Array | undefined> {
  const valid = (bytes: Uint8Array) => {
    try {
      const value: unknown = JSON.parse(new TextDecoder().decode(bytes));
      return typeof value === 'object' && value !== null && !Array.isArray(value);
    } catch {
      return false;
    }
  };
  try {
    // caches.match searches every scope without creating one.
    const cached = typeof caches === 'undefined' ? undefined : await caches.match(url);
    if (cached) {
      const bytes = new Uint8Array(await cached.arrayBuffer());
      if (valid(bytes)) return bytes;
    }
  } catch {
    // Cache Storage refused (opaque origin, storage disabled): try the network.
  }
  try {
    const response = await fetch(url, { credentials: 'same-origin' });
    if (!response.ok) return undefined;
    const bytes = new Uint8Array(await response.arrayBuffer());
    return valid(bytes) ? bytes : undefined;
  } catch {
    return undefined;
  }
}

/** Canonical JSON: object keys sorted, so equal values give equal text. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    typeof v === 'object' && v !== null && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : v,
  );
}

/**
 * The identity of the model `source` resolves to on this device, as a hex digest; undefined when it cannot
 * be established (no usable GPU, files unreadable, bad source).
 */
export async function modelIdentity(source: ModelSource): Promise<string | undefined> {
  try {
    const spec = resolveModelSpec(source, await preflight());
    const folder = spec.record ? webllmFolderUrl(String(spec.record.model)) : spec.weightsUrl;
    const files: Record<string, string> = {};
    for (const name of PINNING_FILES) {
      const bytes = await readJsonFile(new URL(name, folder).href);
      if (!bytes) return undefined;
      files[name] = await sha256Hex(bytes as Uint8Array<ArrayBuffer>);
    }
    return await sha256Hex(
      canonicalJson({
        modelId: spec.modelId,
        variant: spec.variant,
        folder,
        // Without an explicit library the worker uses WebLLM's stock one for the base model (pinned version).
        modelLib: spec.modelLibUrl ?? `stock:${spec.baseModel}`,
        // Texts longer than one check are judged in windows sized to it: another window, other verdicts.
        contextWindow: spec.contextWindow,
        record: spec.record ?? null,
        files,
      }),
    );
  } catch {
    return undefined;
  }
}
