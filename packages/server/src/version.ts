/** The ecron version, reported by `/healthz`, `ecron --version` and the OpenAPI document. */
export const VERSION = '0.1.0';
