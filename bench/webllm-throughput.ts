/**
 * The reference GPU for modelled times: published WebLLM throughput for the model aegis-guard runs
 * (Llama-3.1-8B, 4-bit), and the one assumption needed where nothing is published.
 */
export interface ReferenceGpu {
  name: string;
  /** Tokens per second while decoding (one token per forward). */
  decodeTokensPerSecond: number;
  /** Tokens per second while prefilling a prompt. */
  prefillTokensPerSecond: number;
  sources: string[];
}

/**
 * Decode: 41.1 tok/s, Llama-3.1-8B-Instruct q4f16_1 in WebLLM on an Apple M3 Max (MacBook Pro), from the
 * WebLLM paper (Ruan et al., "WebLLM: A High-Performance In-Browser LLM Inference Engine", arXiv 2412.15803,
 * evaluation; native MLC-LLM on the same machine: 57.7 tok/s). The figure was taken from two independent
 * write-ups quoting the paper's table; the paper itself could not be opened from the machine this ran on.
 *
 * Prefill: the paper publishes no prefill figure. Assumption: prefill runs ~10.8x faster per token than
 * decode, the ratio llama.cpp's Metal backend measures for Llama-3.1-8B Q4_K_M on an Apple M1 Max
 * (pp512 499.6 tok/s vs tg128 46.2 tok/s, brand-o/normiebench issue #40), giving ~444 tok/s. Override both
 * with AEGIS_DECODE_TPS / AEGIS_PREFILL_TPS (WebLLM reports them per request as
 * usage.extra.decode_tokens_per_s / prefill_tokens_per_s).
 */
export function referenceGpu(env: NodeJS.ProcessEnv = process.env): ReferenceGpu {
  const decode = Number(env.AEGIS_DECODE_TPS ?? 41.1);
  const prefill = Number(env.AEGIS_PREFILL_TPS ?? Math.round(41.1 * (499.58 / 46.2)));
  if (!(decode > 0) || !(prefill > 0)) throw new Error('AEGIS_DECODE_TPS and AEGIS_PREFILL_TPS must be positive numbers.');
  return {
    name: 'Apple M3 Max, Chrome, WebLLM, Llama-3.1-8B q4f16_1',
    decodeTokensPerSecond: decode,
    prefillTokensPerSecond: prefill,
    sources: [
      `decode ${decode} tok/s: WebLLM paper, arXiv 2412.15803 (Llama-3.1-8B, M3 Max)${env.AEGIS_DECODE_TPS ? ' [overridden by AEGIS_DECODE_TPS]' : ''}`,
      `prefill ${prefill} tok/s: assumed, decode x 10.8 (llama.cpp Metal pp512/tg128 ratio, Llama-3.1-8B Q4_K_M, M1 Max, brand-o/normiebench#40)${env.AEGIS_PREFILL_TPS ? ' [overridden by AEGIS_PREFILL_TPS]' : ''}`,
    ],
  };
}

/** Modelled milliseconds for a verdict: prefill tokens at prefill speed plus one decode-speed step per decode. */
export function modelledMs(gpu: ReferenceGpu, prefillTokens: number, decodeSteps: number): number {
  return (1000 * prefillTokens) / gpu.prefillTokensPerSecond + (1000 * decodeSteps) / gpu.decodeTokensPerSecond;
}
