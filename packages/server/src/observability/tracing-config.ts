/**
 * Whether this server exports OpenTelemetry traces, read from the standard OTEL_* environment
 * variables (https://opentelemetry.io/docs/specs/otel/configuration/sdk-environment-variables/).
 * Traces are off unless an OTLP endpoint is set or `OTEL_TRACES_EXPORTER` names `otlp`; they stay
 * off when `OTEL_SDK_DISABLED=true` or `OTEL_TRACES_EXPORTER=none`. Only the OTLP/HTTP exporter
 * (JSON) is built in.
 */

export interface TracingConfig {
  /** Where spans are POSTed (the traces endpoint, `/v1/traces` included). */
  url: string;
  /** Extra request headers (OTEL_EXPORTER_OTLP_HEADERS, OTEL_EXPORTER_OTLP_TRACES_HEADERS). */
  headers: Record<string, string>;
  /** The resource's `service.name`. @default ecron */
  serviceName: string;
  /** Extra resource attributes (OTEL_RESOURCE_ATTRIBUTES). */
  resourceAttributes: Record<string, string>;
  /** The share of traces kept, decided on the trace id (the same on every node): 1 keeps all. */
  sampleRatio: number;
  /** Export batching (OTEL_BSP_SCHEDULE_DELAY, ms). @default 5000 */
  scheduleDelayMs: number;
}

export type TracingEnv = Record<string, string | undefined>;

/** The OTLP/HTTP default endpoint. */
const DEFAULT_ENDPOINT = 'http://localhost:4318';

/** The tracing config the environment asks for, or null when traces are off; `warn` hears settings it cannot follow. */
export function resolveTracingConfig(env: TracingEnv, warn: (message: string) => void = () => {}): TracingConfig | null {
  if (env.OTEL_SDK_DISABLED?.trim().toLowerCase() === 'true') return null;
  const exporters = (env.OTEL_TRACES_EXPORTER ?? '').split(',').map((name) => name.trim().toLowerCase()).filter(Boolean);
  if (exporters.includes('none')) return null;
  const tracesEndpoint = nonEmpty(env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT);
  const endpoint = nonEmpty(env.OTEL_EXPORTER_OTLP_ENDPOINT);
  if (!tracesEndpoint && !endpoint && !exporters.includes('otlp')) return null;
  for (const name of exporters) if (name !== 'otlp') warn(`OTEL_TRACES_EXPORTER=${name} is not supported: ecron exports traces with OTLP only`);
  const protocol = nonEmpty(env.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL) ?? nonEmpty(env.OTEL_EXPORTER_OTLP_PROTOCOL);
  if (protocol && protocol !== 'http/json' && protocol !== 'http/protobuf') warn(`OTEL_EXPORTER_OTLP_PROTOCOL=${protocol} is not supported: ecron sends OTLP over HTTP as JSON`);
  const url = tracesEndpoint ?? `${(endpoint ?? DEFAULT_ENDPOINT).replace(/\/+$/, '')}/v1/traces`;
  return {
    url,
    headers: { ...parseKeyValues(env.OTEL_EXPORTER_OTLP_HEADERS), ...parseKeyValues(env.OTEL_EXPORTER_OTLP_TRACES_HEADERS) },
    serviceName: nonEmpty(env.OTEL_SERVICE_NAME) ?? parseKeyValues(env.OTEL_RESOURCE_ATTRIBUTES)['service.name'] ?? 'ecron',
    resourceAttributes: parseKeyValues(env.OTEL_RESOURCE_ATTRIBUTES),
    sampleRatio: sampleRatio(env, warn),
    scheduleDelayMs: positiveInt(env.OTEL_BSP_SCHEDULE_DELAY) ?? 5000,
  };
}

/** `traceidratio` and `parentbased_traceidratio` keep OTEL_TRACES_SAMPLER_ARG of the traces, `always_off` none, anything else all. */
function sampleRatio(env: TracingEnv, warn: (message: string) => void): number {
  const sampler = nonEmpty(env.OTEL_TRACES_SAMPLER)?.toLowerCase();
  if (!sampler || sampler === 'always_on' || sampler === 'parentbased_always_on') return 1;
  if (sampler === 'always_off' || sampler === 'parentbased_always_off') return 0;
  if (sampler === 'traceidratio' || sampler === 'parentbased_traceidratio') {
    const ratio = Number(env.OTEL_TRACES_SAMPLER_ARG ?? '1');
    if (Number.isFinite(ratio) && ratio >= 0 && ratio <= 1) return ratio;
    warn(`OTEL_TRACES_SAMPLER_ARG=${env.OTEL_TRACES_SAMPLER_ARG} is not a ratio between 0 and 1: every trace is kept`);
    return 1;
  }
  warn(`OTEL_TRACES_SAMPLER=${sampler} is not supported: every trace is kept`);
  return 1;
}

/** `k1=v1,k2=v2` with URL-encoded values, as the OTEL_*_HEADERS and OTEL_RESOURCE_ATTRIBUTES variables are written. */
export function parseKeyValues(text: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of (text ?? '').split(',')) {
    const at = part.indexOf('=');
    if (at <= 0) continue;
    const key = safeDecode(part.slice(0, at).trim());
    if (key) out[key] = safeDecode(part.slice(at + 1).trim());
  }
  return out;
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

function nonEmpty(value: string | undefined): string | undefined {
  const trimmed = value?.trim();
  return trimmed ? trimmed : undefined;
}

function positiveInt(value: string | undefined): number | undefined {
  const n = Number(value);
  return value !== undefined && Number.isInteger(n) && n > 0 ? n : undefined;
}
