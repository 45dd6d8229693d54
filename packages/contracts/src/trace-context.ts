/**
 * W3C Trace Context (`traceparent`) as ecron carries it to executors and back: in the run request
 * (inside the signed body, whatever the transport), as the `traceparent` header of HTTP requests
 * and gRPC calls, and optionally in an executor's reports and results. Only version 00 is written;
 * a later version is read by its first four fields, as the W3C spec asks.
 */
import { z } from 'zod';

/** The HTTP header, gRPC metadata key and field name. */
export const TRACEPARENT_HEADER = 'traceparent';
/** The environment variable an agent's shell command receives it in. */
export const TRACEPARENT_ENV = 'TRACEPARENT';

const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?$/;

export interface TraceParent {
  /** 32 lowercase hex characters, not all zero. */
  traceId: string;
  /** 16 lowercase hex characters, not all zero. */
  spanId: string;
  /** The trace flags byte (bit 0: sampled). */
  flags: number;
}

/** A `traceparent` value parsed, or null when it is not a valid one. */
export function parseTraceparent(value: string | null | undefined): TraceParent | null {
  if (typeof value !== 'string' || value.length > 512) return null;
  const match = TRACEPARENT.exec(value.trim());
  if (!match) return null;
  const [, version, traceId, spanId, flags, rest] = match as unknown as [string, string, string, string, string, string | undefined];
  if (version === 'ff' || (version === '00' && rest !== undefined)) return null;
  if (/^0+$/.test(traceId) || /^0+$/.test(spanId)) return null;
  return { traceId, spanId, flags: Number.parseInt(flags, 16) };
}

/** The version-00 `traceparent` of a span context. */
export function formatTraceparent(parent: TraceParent): string {
  return `00-${parent.traceId}-${parent.spanId}-${(parent.flags & 0xff).toString(16).padStart(2, '0')}`;
}

/** The optional `traceparent` field of reports and results (an invalid value is refused, as any bad field). */
export const TraceparentSchema = z.string().max(512).refine((value) => parseTraceparent(value) !== null, 'not a W3C traceparent');
