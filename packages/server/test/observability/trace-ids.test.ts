import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { formatTraceparent, parseTraceparent } from '@ecron/contracts';
import { hasFireSpan, runLogFields, runParentSpanId, spanIdOf, traceIdOf } from '../../src/observability/trace-ids.ts';
import { resolveTracingConfig } from '../../src/observability/tracing-config.ts';

describe('deterministic trace ids', () => {
  it('makes the trace id of a run the first 16 bytes of sha256("ecron-trace:" + runId), the same on every call', () => {
    const expected = createHash('sha256').update('ecron-trace:run-1').digest('hex').slice(0, 32);
    expect(traceIdOf({ runId: 'run-1', workflowRunId: null })).toBe(expected);
    expect(traceIdOf({ runId: 'run-1', workflowRunId: 'run-1' })).toBe(expected);
    // A workflow's node run is in its workflow run's trace.
    expect(traceIdOf({ runId: 'node-run', workflowRunId: 'run-1' })).toBe(expected);
  });

  it('gives fire, run and each attempt their own 8-byte span id', () => {
    const ids = [spanIdOf('fire', 'r'), spanIdOf('run', 'r'), spanIdOf('attempt', 'r', 1), spanIdOf('attempt', 'r', 2), spanIdOf('run', 's')];
    expect(new Set(ids).size).toBe(ids.length);
    for (const id of ids) expect(id).toMatch(/^[0-9a-f]{16}$/);
    expect(spanIdOf('attempt', 'r', 1)).toBe(spanIdOf('attempt', 'r', 1));
  });

  it('parents a run span on its fire (scheduled), its workflow run (node run), or nothing (manual)', () => {
    expect(runParentSpanId({ runId: 'r', trigger: 'schedule', workflowRunId: null })).toBe(spanIdOf('fire', 'r'));
    expect(runParentSpanId({ runId: 'r', trigger: 'schedule', workflowRunId: 'r' })).toBe(spanIdOf('fire', 'r'));
    expect(runParentSpanId({ runId: 'n', trigger: 'manual', workflowRunId: 'w' })).toBe(spanIdOf('run', 'w'));
    expect(runParentSpanId({ runId: 'r', trigger: 'manual', workflowRunId: null })).toBeNull();
    expect(hasFireSpan({ runId: 'n', trigger: 'schedule', workflowRunId: 'w' })).toBe(false);
  });

  it('reads and writes W3C traceparent', () => {
    const value = `00-${'a'.repeat(32)}-${'b'.repeat(16)}-01`;
    expect(parseTraceparent(value)).toEqual({ traceId: 'a'.repeat(32), spanId: 'b'.repeat(16), flags: 1 });
    expect(formatTraceparent(parseTraceparent(value)!)).toBe(value);
    expect(parseTraceparent(`00-${'0'.repeat(32)}-${'b'.repeat(16)}-01`)).toBeNull();
    expect(parseTraceparent(`ff-${'a'.repeat(32)}-${'b'.repeat(16)}-01`)).toBeNull();
    expect(parseTraceparent(`00-${'a'.repeat(32)}-${'b'.repeat(16)}-01-extra`)).toBeNull();
    expect(parseTraceparent(`01-${'a'.repeat(32)}-${'b'.repeat(16)}-01-extra`)?.traceId).toBe('a'.repeat(32));
    expect(parseTraceparent('garbage')).toBeNull();
  });
});

describe('tracing config from the OTEL_* environment', () => {
  it('is off without an endpoint or an otlp exporter', () => {
    expect(resolveTracingConfig({})).toBeNull();
    expect(resolveTracingConfig({ OTEL_SERVICE_NAME: 'x' })).toBeNull();
  });

  it('is off when disabled or the exporter is none, whatever the endpoint', () => {
    expect(resolveTracingConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318', OTEL_SDK_DISABLED: 'true' })).toBeNull();
    expect(resolveTracingConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318', OTEL_TRACES_EXPORTER: 'none' })).toBeNull();
  });

  it('appends /v1/traces to the base endpoint, takes the traces endpoint as it is', () => {
    expect(resolveTracingConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318/' })?.url).toBe('http://c:4318/v1/traces');
    expect(resolveTracingConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318', OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://t/x' })?.url).toBe('http://t/x');
    expect(resolveTracingConfig({ OTEL_TRACES_EXPORTER: 'otlp' })?.url).toBe('http://localhost:4318/v1/traces');
  });

  it('reads the service name, headers, resource attributes and the ratio sampler', () => {
    const config = resolveTracingConfig({
      OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c', OTEL_EXPORTER_OTLP_HEADERS: 'api-key=a%20b,x=1', OTEL_RESOURCE_ATTRIBUTES: 'deployment.environment=prod',
      OTEL_TRACES_SAMPLER: 'parentbased_traceidratio', OTEL_TRACES_SAMPLER_ARG: '0.25',
    })!;
    expect(config.serviceName).toBe('ecron');
    expect(config.headers).toEqual({ 'api-key': 'a b', x: '1' });
    expect(config.resourceAttributes).toEqual({ 'deployment.environment': 'prod' });
    expect(config.sampleRatio).toBe(0.25);
    expect(resolveTracingConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c', OTEL_SERVICE_NAME: 'sched' })!.serviceName).toBe('sched');
    const warnings: string[] = [];
    resolveTracingConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c', OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' }, (m) => warnings.push(m));
    expect(warnings).toHaveLength(1);
  });
});

describe('log fields of a run', () => {
  it('carry the run id and the trace id its spans use, a workflow node run\'s being its workflow run\'s', () => {
    expect(runLogFields({ id: 'r1', workflowRunId: null })).toEqual({ runId: 'r1', traceId: traceIdOf({ runId: 'r1', workflowRunId: null }) });
    expect(runLogFields({ id: 'node-run', workflowRunId: 'wf-run' }).traceId).toBe(traceIdOf({ runId: 'wf-run', workflowRunId: null }));
    expect(runLogFields({ id: 'r1', workflowRunId: null }).traceId).toMatch(/^[0-9a-f]{32}$/);
  });
});
