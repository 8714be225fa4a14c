/** Node API of the model builder (what the `aegis-guard` CLI runs). Node only: never import it in a browser. */
export { buildModel, type BuildModelOptions, type BuildModelResult } from './convert.js';
export { CHAT_CONFIG_FILE } from './chat-config.js';
export { verifyModel, type VerifyOptions, type VerifyReport } from './verify.js';
export { main as runCli } from './cli.js';
export * from './errors.js';
export { parseLlamaConfig, type LlamaArchitecture } from './llama-config.js';
export {
  expectedParams,
  planWeights,
  quantizationByName,
  QUANTIZATIONS,
  type ParamRecord,
  type Quantization,
  type QuantizationName,
} from './param-plan.js';
export { ADAPTERS_DIR, loadManifest, manifestSpec, parseManifest, type GuardManifest, type ManifestVariant } from './manifest.js';
export { downloadFile, type HubOptions } from './hub.js';
export { downloadAdapter, downloadBaseModel, fetchPlanned, planCheckpoint, type PlannedCheckpoint } from './hub-checkpoint.js';
export { formatHubRef, parseHubRef, type HubRef } from './hub-ref.js';
export { readLibMetadata, type LibMetadata } from './lib-metadata.js';
export { dequantizeRows, quantizeMatrix } from './quantize.js';
