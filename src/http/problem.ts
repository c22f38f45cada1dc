import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import { MamoriError, TooManyAttemptsError, type ProblemCode } from '../errors.js';
import { isDatabaseUnavailable, isTextTheDatabaseRefuses } from '../store/health.js';

export const PROBLEM_TYPE = 'application/problem+json';

/** A stable, non-dereferenceable type URI per code (RFC 9457 §3.1.1). */
const typeUri = (code: string) => `tag:mamori,2026:problem:${code}`;

declare module 'fastify' {
  interface FastifyContextConfig {
    /**
     * Where the contract gives a code another status on this route than its usual one (wrong
     * codes at sign-in are 401, at assignment 400: the codes are the user's input, not a credential).
     */
    statuses?: Partial<Record<ProblemCode, number>>;
  }
}

/**
 * A request Node's HTTP parser refused (a malformed length or chunk, headers past the limit, a
 * request that did not arrive in time) never reaches Fastify's routes: the answer is written to
 * the socket here, as problem+json like every other error, and the connection closed.
 */
export function answerClientError(err: Error & { code?: string }, socket: Socket): void {
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  if (socket.writable) {
    const problem =
      err.code === 'HPE_HEADER_OVERFLOW'
        ? new MamoriError('headers_too_large')
        : err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
          ? new MamoriError('request_timeout')
          : new MamoriError('validation_failed', 'The request is not valid HTTP');
    const body = JSON.stringify({ type: typeUri(problem.code), title: problem.title, status: problem.status, code: problem.code, detail: problem.detail ?? problem.title });
    socket.write(
      `HTTP/1.1 ${problem.status} ${STATUS_CODES[problem.status] ?? ''}\r\n` +
        `content-type: ${PROBLEM_TYPE}\r\ncontent-length: ${Buffer.byteLength(body)}\r\ncache-control: no-store\r\n` +
        `x-content-type-options: nosniff\r\nconnection: close\r\n\r\n${body}`,
    );
  }
  socket.destroy();
}

export function sendProblem(reply: FastifyReply, err: MamoriError): FastifyReply {
  if (err instanceof TooManyAttemptsError) reply.header('retry-after', String(err.retryAfterSeconds));
  const status = reply.request.routeOptions.config?.statuses?.[err.code] ?? err.status;
  return reply
    .code(status)
    .type(PROBLEM_TYPE)
    .header('cache-control', 'no-store')
    // Extra fields come first: none of them may replace the problem's own members (an extra named `status` would lie about the answer).
    .send({ ...err.extra, type: typeUri(err.code), title: err.title, status, code: err.code, detail: err.detail ?? err.title });
}

/** Fastify's own errors, mapped onto the contract's codes; anything else is a 500 with no details. */
export function toProblem(err: unknown): MamoriError {
  if (err instanceof MamoriError) return err;
  const fe = err as Partial<FastifyError> & { validationContext?: string };
  if (fe.validation) {
    const first = fe.validation[0];
    const where = `${fe.validationContext ?? 'body'}${first?.instancePath ?? ''}`;
    const extra = first?.keyword === 'additionalProperties' ? ` (unknown field "${String((first.params as { additionalProperty?: unknown }).additionalProperty)}")` : '';
    return new MamoriError('validation_failed', `${where} ${first?.message ?? 'is not valid'}${extra}`.slice(0, 300));
  }
  const byCode: Record<string, ProblemCode> = {
    FST_ERR_CTP_BODY_TOO_LARGE: 'payload_too_large',
    FST_ERR_CTP_INVALID_MEDIA_TYPE: 'unsupported_media_type',
    FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'validation_failed',
    FST_ERR_CTP_EMPTY_JSON_BODY: 'validation_failed',
    FST_ERR_CTP_INVALID_JSON_BODY: 'validation_failed',
    FST_ERR_BAD_URL: 'validation_failed',
    FST_ERR_MAX_PARAM_LENGTH: 'validation_failed',
    FST_ERR_ASYNC_CONSTRAINT: 'validation_failed',
  };
  // The database is unreachable (connection refused, reset or timed out): a 503 to retry, never a 500.
  if (isDatabaseUnavailable(err)) return new MamoriError('service_unavailable', 'The database does not answer; try again in a moment');
  // Text the database cannot hold reached it past the checks at the edge: the input's fault, and
  // the statement it failed changed nothing.
  if (isTextTheDatabaseRefuses(err)) return new MamoriError('validation_failed', 'The text holds a character the database cannot store');
  const mapped = fe.code ? byCode[fe.code] : undefined;
  if (mapped) return new MamoriError(mapped);
  if (typeof fe.statusCode === 'number' && fe.statusCode >= 400 && fe.statusCode < 500) {
    if (fe.statusCode === 413) return new MamoriError('payload_too_large');
    if (fe.statusCode === 415) return new MamoriError('unsupported_media_type');
    if (fe.statusCode === 404) return new MamoriError('not_found');
    return new MamoriError('validation_failed');
  }
  return new MamoriError('internal_error');
}

export function errorHandler(this: unknown, err: unknown, req: FastifyRequest, reply: FastifyReply): FastifyReply {
  const problem = toProblem(err);
  if (problem.status >= 500) {
    // The log keeps the cause for the operator; the answer carries nothing of it.
    req.log.error({ err }, 'request failed');
  }
  return sendProblem(reply, problem);
}
