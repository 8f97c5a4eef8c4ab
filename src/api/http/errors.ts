/**
 * Every HTTP error leaves in one shape, `{"error": {"code", "message"}}`, with the status that
 * src/core/errors.ts gives the code. Fastify's own errors (body too large, bad URL, ...) are
 * translated into the same codes here so clients never see fastify's format.
 */
import type { FastifyReply } from 'fastify';
import { RingkvError, toRingkvError } from '../../core/errors.js';

export interface ErrorLimits {
  maxKeyBytes: number;
  maxValueBytes: number;
}

/** Translates anything thrown while serving a request into a RingkvError. */
export function toHttpError(err: unknown, limits: ErrorLimits): RingkvError {
  if (err instanceof RingkvError) return err;
  const code = (err as { code?: unknown } | null)?.code;
  const statusCode = (err as { statusCode?: unknown } | null)?.statusCode;
  switch (code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new RingkvError('VALUE_TOO_LARGE', `value is larger than the limit maxValueBytes = ${limits.maxValueBytes} bytes`);
    case 'FST_ERR_MAX_PARAM_LENGTH':
      return new RingkvError('KEY_TOO_LARGE', `key is larger than the limit maxKeyBytes = ${limits.maxKeyBytes} bytes`);
    case 'FST_ERR_BAD_URL':
      return new RingkvError('BAD_PARAMETER', 'malformed percent-encoding in the URL path');
    default:
      break;
  }
  if (typeof statusCode === 'number' && statusCode >= 400 && statusCode < 500) {
    return new RingkvError('MALFORMED_REQUEST', (err as Error).message || `bad request (${String(code)})`);
  }
  return toRingkvError(err);
}

export function sendError(reply: FastifyReply, error: RingkvError): FastifyReply {
  return reply.code(error.httpStatus).header('content-type', 'application/json; charset=utf-8').send(JSON.stringify(error.toJSON()));
}
