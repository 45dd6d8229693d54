/**
 * Error handling of the REST API. Every failure answers `{ error: { code, message, details? } }`
 * with the status from the registry in `@ecron/contracts`; nothing else ever leaves (no Fastify
 * default error bodies). Request parts are validated by zod through {@link zodValidatorCompiler},
 * whose failures carry field issues (`details.issues`) named by JSON path.
 */
import { ERROR_CODES, type ErrorBody, type ErrorCode, type FieldIssue } from '@ecron/contracts';
import type { FastifyError, FastifyInstance, FastifySchemaCompiler } from 'fastify';
import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod';
import type { z } from 'zod';
import { EcronError } from '../core/errors.ts';
import { validationError } from '../services/task-spec-input.ts';

/** Largest accepted request body. */
export const BODY_LIMIT_BYTES = 1024 * 1024;

const PART_PREFIX: Record<string, readonly string[]> = { body: [], querystring: ['query'], params: ['params'], headers: ['headers'] };

/**
 * Validates a request part with its zod schema. A missing body, where the schema needs one, is
 * BODY_EMPTY; any other failure is VALIDATION_FAILED with issues such as `schedule.cron` (body)
 * or `query.limit` (query string).
 */
export const zodValidatorCompiler: FastifySchemaCompiler<z.ZodType> = ({ schema, httpPart }) => (data: unknown) => {
  const part = httpPart ?? 'body';
  // Fastify hands a missing body over as null.
  const value = part === 'body' && data === null ? undefined : data;
  const result = schema.safeParse(value);
  if (result.success) return { value: result.data };
  if (part === 'body' && value === undefined) return { error: new EcronError('BODY_EMPTY', 'the request body is empty: this route needs a JSON body') };
  return { error: validationError(result.error, PART_PREFIX[part] ?? [part]) };
};

/** Status, code, message and details of the answer to `error`. */
export function describeError(error: unknown): { code: ErrorCode; status: number; message: string; details?: unknown } {
  if (error instanceof EcronError) {
    return { code: error.code, status: error.status, message: error.message, ...(error.details === undefined ? {} : { details: error.details }) };
  }
  const fastifyError = error as Partial<FastifyError> & { validationContext?: string };
  if (hasZodFastifySchemaValidationErrors(error) || Array.isArray(fastifyError.validation)) {
    const prefix = PART_PREFIX[fastifyError.validationContext ?? 'body'] ?? [];
    const issues: FieldIssue[] = (fastifyError.validation ?? []).map((v) => ({
      path: [...prefix, ...v.instancePath.split('/').filter(Boolean)].join('.'),
      code: 'INVALID_VALUE',
      message: v.message ?? 'is invalid',
    }));
    return coded('VALIDATION_FAILED', issues.map((i) => (i.path ? `${i.path}: ${i.message}` : i.message)).join('; '), { issues });
  }
  switch (fastifyError.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return coded('BODY_TOO_LARGE', `the request body is larger than ${BODY_LIMIT_BYTES} bytes`);
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return coded('UNSUPPORTED_MEDIA_TYPE', 'the body must be sent with content-type: application/json');
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return coded('BODY_EMPTY');
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return coded('INVALID_JSON');
    default:
      break;
  }
  const status = fastifyError.statusCode ?? 500;
  if (status === 404) return coded('ROUTE_NOT_FOUND');
  if (status === 405) return coded('METHOD_NOT_ALLOWED');
  if (status >= 400 && status < 500) return coded('VALIDATION_FAILED', fastifyError.message || ERROR_CODES.VALIDATION_FAILED.message);
  return coded('INTERNAL');
}

function coded(code: ErrorCode, message?: string, details?: unknown) {
  return { code, status: ERROR_CODES[code].status, message: message ?? ERROR_CODES[code].message, ...(details === undefined ? {} : { details }) };
}

export function errorBody(code: ErrorCode, message: string, details?: unknown): ErrorBody {
  return { error: { code, message, ...(details === undefined ? {} : { details }) } };
}

/** Error handler, 404 handler, validator and the JSON-only body parser. */
export function installErrorHandling(app: FastifyInstance): void {
  app.setValidatorCompiler(zodValidatorCompiler);

  // JSON is the only body type: text/plain (a Fastify default) becomes a 415 like any other type.
  const parseJson = app.getDefaultJsonParser('error', 'error');
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    const text = typeof body === 'string' ? body : body.toString('utf8');
    if (text.trim() === '') {
      // No body: the route's schema decides (BODY_EMPTY where a body is required).
      done(null, undefined);
      return;
    }
    parseJson(request, text, (error, value) => {
      if (!error) {
        done(null, value);
        return;
      }
      let reason = 'it has a "__proto__" or "constructor.prototype" key';
      try {
        JSON.parse(text);
      } catch (syntax) {
        reason = (syntax as Error).message;
      }
      done(new EcronError('INVALID_JSON', `the body is not valid JSON: ${reason}`), undefined);
    });
  });

  app.setNotFoundHandler((request, reply) => {
    const path = request.url.split('?')[0];
    reply.status(404).send(errorBody('ROUTE_NOT_FOUND', `no route ${request.method} ${path}`));
  });

  app.setErrorHandler((error, request, reply) => {
    const described = describeError(error);
    if (described.code === 'INTERNAL') request.log.error({ err: error }, 'request failed');
    else if (described.status >= 500 && described.code !== 'NOT_READY') request.log.warn({ code: described.code, message: described.message }, 'request failed');
    if (described.status === 401) reply.header('www-authenticate', 'Bearer realm="ecron"');
    const message = described.code === 'INTERNAL' ? ERROR_CODES.INTERNAL.message : described.message;
    reply.status(described.status).send(errorBody(described.code, message, described.code === 'INTERNAL' ? undefined : described.details));
  });
}
