/**
 * The one place that maps errors to HTTP: RFC 9457 problem+json bodies with the error code.
 * C2SP paths (/checkpoint, /tile/...) keep their own convention: plain-text bodies.
 */
import type { Context } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { AuditlogError, type ErrorCode, oneLine } from '../errors.js';

const STATUS: Record<ErrorCode, ContentfulStatusCode> = {
  BAD_REQUEST: 400,
  BAD_NOTE: 400,
  BAD_CHECKPOINT: 400,
  BAD_KEY: 400,
  BAD_PROOF: 400,
  TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  NOT_FOUND: 404,
  METHOD_NOT_ALLOWED: 405,
  OUT_OF_RANGE: 400,
  CONFLICT: 409,
  ROOT_MISMATCH: 422,
  LEAF_MISMATCH: 422,
  BAD_SIGNATURE: 403,
  UNKNOWN_KEY: 404,
  QUORUM_NOT_MET: 503,
  INCONSISTENT: 409,
  ROLLBACK: 409,
  UNAUTHORIZED: 401,
  FORBIDDEN: 403,
  OVERLOADED: 503,
  CLOSED: 503,
  STORAGE: 500,
  ERASED: 410,
  LEGAL_HOLD: 423,
  RETENTION: 409,
  UNAVAILABLE: 503,
  INTERNAL: 500,
};

/** HTTP status for an error code. */
export function statusFor(code: ErrorCode): ContentfulStatusCode {
  return STATUS[code] ?? 500;
}

/** Seconds a client should wait after a 503. */
export const RETRY_AFTER_SECONDS = 1;

/**
 * Normalises anything thrown into an AuditlogError (unknown errors become INTERNAL, message
 * hidden). A request body cut off by its client (node's `aborted`, ECONNRESET) is the client's
 * doing, BAD_REQUEST: logging it as a server fault would let any client fill the operator's log.
 */
export function toAuditlogError(err: unknown): AuditlogError {
  if (err instanceof AuditlogError) return err;
  if (err instanceof Error && (err as { code?: unknown }).code === 'ECONNRESET') {
    return new AuditlogError('BAD_REQUEST', 'the client closed the connection before the body ended', {
      cause: err,
    });
  }
  if (err instanceof Error && 'code' in err && typeof (err as { code: unknown }).code === 'string') {
    const code = (err as { code: string }).code;
    if (code in STATUS) return new AuditlogError(code as ErrorCode, err.message, { cause: err });
  }
  return new AuditlogError('INTERNAL', 'internal error', { cause: err });
}

function isC2SPPath(path: string): boolean {
  return path === '/checkpoint' || path.startsWith('/tile/') || path === '/add-checkpoint';
}

/** Renders an error as a response: problem+json, or plain text on C2SP paths. */
export function errorResponse(c: Context, err: unknown): Response {
  const e = toAuditlogError(err);
  const status = statusFor(e.code);
  if (
    status >= 500 &&
    e.code !== 'OVERLOADED' &&
    e.code !== 'CLOSED' &&
    e.code !== 'UNAVAILABLE' &&
    e.code !== 'QUORUM_NOT_MET'
  ) {
    // Server faults are logged (codes and messages only: never bodies or tokens).
    process.stderr.write(
      `auditlog: ${e.code}: ${oneLine(`${e.message}${e.cause ? ` (${(e.cause as Error).message})` : ''}`)}\n`,
    );
  }
  if (status === 503) c.header('Retry-After', String(RETRY_AFTER_SECONDS));
  // A server fault's message (it may name files of the data directory) goes to the operator's
  // log above, never to the client, on C2SP paths as in problem+json.
  const detail = status === 500 ? 'internal error' : e.message;
  if (isC2SPPath(c.req.path)) {
    return c.text(`${detail}\n`, status);
  }
  return c.body(
    JSON.stringify({
      type: `https://auditlog.dev/problems/${e.code.toLowerCase().replaceAll('_', '-')}`,
      title: e.code,
      status,
      detail,
      code: e.code,
    }),
    status,
    { 'Content-Type': 'application/problem+json' },
  );
}
