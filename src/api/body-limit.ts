/**
 * Request body limits that keep @hono/node-server's fast body path.
 *
 * hono's bodyLimit middleware reads `c.req.raw.body`, which makes the Node adapter build a
 * WHATWG Request with a web ReadableStream over the socket for every request; the handler's
 * later `c.req.arrayBuffer()` then goes through web streams too. On `POST /v1/entries` that was
 * about a fifth of the server's CPU. A request that declares its length (Content-Length, no
 * Transfer-Encoding) is checked from the header alone: Node's HTTP parser never delivers more
 * body bytes than Content-Length, so the declared size bounds what the handler reads. Only a
 * chunked body, whose size is unknown until read, is read here, counting its bytes.
 *
 * Both take their share of the server's body budget (body-budget.ts) when one is set: the
 * declared length before the handler runs, a chunked body's bytes as they arrive.
 */
import type { MiddlewareHandler } from 'hono';
import { AuditlogError } from '../errors.js';
import { bodyBudgetOf, onBodyDone, overBudget } from './body-budget.js';

/**
 * Answers 413 (through the error mapping) for a body over `maxSize` bytes, 415 for a body
 * with a content coding (RFC 9110 section 15.5.16): no route decodes one, and taking the coded
 * bytes as the body would log something other than what the client meant; and 503 with
 * Retry-After when the server's body budget cannot cover the body (checked after the limit:
 * a body too large is refused for good, one over the budget only for now).
 */
export function limitBody(maxSize: number): MiddlewareHandler {
  const tooLarge = (): never => {
    throw new AuditlogError('TOO_LARGE', `request body exceeds ${maxSize} bytes`);
  };
  return async (c, next) => {
    const coding = c.req.header('content-encoding');
    if (coding !== undefined && coding.trim().toLowerCase() !== 'identity') {
      throw new AuditlogError('UNSUPPORTED_MEDIA_TYPE', `Content-Encoding ${coding.trim()} is not accepted`);
    }
    const budget = bodyBudgetOf(c);
    const length = c.req.header('content-length');
    if (length !== undefined && c.req.header('transfer-encoding') === undefined) {
      const declared = Number.parseInt(length, 10);
      if (declared > maxSize) tooLarge();
      if (budget === undefined || !(declared > 0)) return next();
      const share = budget.share();
      if (!share.grow(declared)) throw overBudget(budget);
      const stopListening = onBodyDone(c, share.release);
      try {
        await next();
      } finally {
        stopListening();
        share.release();
      }
      return;
    }
    const body = c.req.raw.body;
    if (!body) return next();
    const share = budget?.share();
    try {
      const chunks: Uint8Array[] = [];
      let size = 0;
      const reader = body.getReader();
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        size += value.length;
        if (size > maxSize) tooLarge();
        if (share !== undefined && !share.grow(value.length)) throw overBudget(budget!);
        chunks.push(value);
      }
      const whole = Buffer.concat(chunks, size);
      c.req.raw = new Request(c.req.raw, { body: whole });
    } finally {
      // The body has been read (or will not be): the bytes are the handler's now.
      share?.release();
    }
    return next();
  };
}
