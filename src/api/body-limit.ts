/**
 * Request body limits that keep @hono/node-server's fast body path.
 *
 * hono's bodyLimit middleware reads `c.req.raw.body`, which makes the Node adapter build a
 * WHATWG Request with a web ReadableStream over the socket for every request; the handler's
 * later `c.req.arrayBuffer()` then goes through web streams too. On `POST /v1/entries` that was
 * about a fifth of the server's CPU. A request that declares its length (Content-Length, no
 * Transfer-Encoding) is checked from the header alone: Node's HTTP parser never delivers more
 * body bytes than Content-Length, so the declared size bounds what the handler reads. Only a
 * chunked body, whose size is unknown until read, goes through the counting stream reader.
 */
import type { MiddlewareHandler } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { AuditlogError } from '../errors.js';

/**
 * Answers 413 (through the error mapping) for a body over `maxSize` bytes, and 415 for a body
 * with a content coding (RFC 9110 section 15.5.16): no route decodes one, and taking the coded
 * bytes as the body would log something other than what the client meant.
 */
export function limitBody(maxSize: number): MiddlewareHandler {
  const tooLarge = (): never => {
    throw new AuditlogError('TOO_LARGE', `request body exceeds ${maxSize} bytes`);
  };
  const streaming = bodyLimit({ maxSize, onError: tooLarge });
  return async (c, next) => {
    const coding = c.req.header('content-encoding');
    if (coding !== undefined && coding.trim().toLowerCase() !== 'identity') {
      throw new AuditlogError('UNSUPPORTED_MEDIA_TYPE', `Content-Encoding ${coding.trim()} is not accepted`);
    }
    const length = c.req.header('content-length');
    if (length !== undefined && c.req.header('transfer-encoding') === undefined) {
      if (Number.parseInt(length, 10) > maxSize) tooLarge();
      return next();
    }
    return streaming(c, next);
  };
}
