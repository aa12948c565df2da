/**
 * JSON responses whose body reaches the HTTP layer as UTF-8 bytes. `c.json` hands hono the
 * string, and @hono/node-server then measures its UTF-8 length and the socket encodes it
 * again. Receipts carry a signed note whose signature lines begin with "—" (U+2014), which
 * makes the whole JSON text a two-byte string: for the 16-record responses of
 * `POST /v1/records` those steps were ~12 of the ~49 KB the server's main thread allocated
 * per record. Encoding once here gives the same bytes and the same Content-Type as `c.json`.
 */
import type { Context } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';

/** `c.json(value, status)`, with the body encoded to UTF-8 once. */
export function jsonBody(c: Context, value: unknown, status: ContentfulStatusCode = 200): Response {
  return c.body(Buffer.from(JSON.stringify(value)), status, { 'Content-Type': 'application/json' });
}
