/** The WebLLM release this package is built and tested against (its exact peer dependency). */
export const WEBLLM_VERSION = '0.2.86';
