/**
 * Content-Encoding of responses read from logs, witnesses and peers (node only: node:zlib).
 */
import type { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { AuditlogError } from '../errors.js';

/**
 * A response body without its Content-Encoding: tlog-tiles lets a log gzip tiles and bundles
 * "with no negotiation", so a gzip body is decompressed here (the caller's cap then applies to
 * the decompressed bytes, so a small body cannot inflate without bound). Any other encoding
 * than gzip or identity is refused.
 * @throws AuditlogError 'UNAVAILABLE' for an encoding this client does not decode.
 */
export function decodedBody(
  res: { headers: Record<string, string | string[] | undefined>; body: Readable },
  what: string,
): Readable {
  const enc = String(res.headers['content-encoding'] ?? 'identity')
    .trim()
    .toLowerCase();
  if (enc === 'identity' || enc === '') return res.body;
  if (enc !== 'gzip' && enc !== 'x-gzip') {
    res.body.on('error', () => {}); // destroying it aborts the request: nothing left to read
    res.body.destroy();
    throw new AuditlogError('UNAVAILABLE', `${what}: unsupported Content-Encoding ${enc}`);
  }
  const gunzip = createGunzip();
  res.body.on('error', (e) => gunzip.destroy(e));
  gunzip.on('close', () => res.body.destroy());
  return res.body.pipe(gunzip);
}
