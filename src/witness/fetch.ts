/**
 * The few HTTP reads a witness or monitor makes of a log or a peer, on undici, with bounded
 * bodies and timeouts.
 */
import { request } from 'undici';
import { decodedBody } from '../client/content-encoding.js';
import { AuditlogError } from '../errors.js';
import { concatBytes } from '../note/encoding.js';

export interface FetchResult {
  status: number;
  contentType: string;
  body: Uint8Array;
}

/** Deadline of one exchange with a log, peer or witness, headers and body (spec/witness.md). */
export const TIMEOUT_MS = 10_000;

/** Joins a base URL and a path without doubling or dropping the slash. */
export function joinUrl(base: string, path: string): string {
  return `${base.replace(/\/+$/, '')}/${path.replace(/^\/+/, '')}`;
}

/**
 * GETs `url`, reading at most `maxBytes` of body; with `token`, as `Authorization: Bearer` (a
 * log served with --private-reads; the token is never put in an error message).
 * @throws AuditlogError 'TOO_LARGE' (body over the limit), 'INTERNAL' (network failure, with the cause).
 */
export async function getBytes(url: string, maxBytes: number, token?: string): Promise<FetchResult> {
  let res: Awaited<ReturnType<typeof request>>;
  try {
    res = await request(url, {
      method: 'GET',
      ...(token === undefined ? {} : { headers: { authorization: `Bearer ${token}` } }),
      headersTimeout: TIMEOUT_MS,
      bodyTimeout: TIMEOUT_MS,
      // A deadline for the whole exchange: the idle timeouts alone let a server that sends a
      // byte every few seconds hold the read (and the round waiting for it) for days.
      signal: AbortSignal.timeout(TIMEOUT_MS),
    });
  } catch (cause) {
    throw new AuditlogError('INTERNAL', `GET ${url}: ${(cause as Error).message}`, { cause });
  }
  const body = await readCapped(decodedBody(res, `GET ${url}`), maxBytes, `GET ${url}`);
  const ct = res.headers['content-type'];
  return { status: res.statusCode, contentType: Array.isArray(ct) ? (ct[0] ?? '') : (ct ?? ''), body };
}

/**
 * Reads a response body of at most `maxBytes`, stopping (and destroying the stream) as soon as
 * it is longer: a peer that keeps sending cannot grow this process's memory.
 * @throws AuditlogError 'TOO_LARGE' (over the limit), 'INTERNAL' (the stream failed); `what`
 *   names the body in the message.
 */
export async function readCapped(
  stream: AsyncIterable<unknown> & { destroy(): unknown },
  maxBytes: number,
  what: string,
): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  let n = 0;
  try {
    for await (const chunk of stream) {
      n += (chunk as Uint8Array).length;
      if (n > maxBytes) {
        stream.destroy();
        throw new AuditlogError('TOO_LARGE', `${what}: body over ${maxBytes} bytes`);
      }
      chunks.push(chunk as Uint8Array);
    }
  } catch (cause) {
    if (cause instanceof AuditlogError) throw cause;
    throw new AuditlogError('INTERNAL', `${what}: ${(cause as Error).message}`, { cause });
  }
  return concatBytes(...chunks);
}

/** Strict UTF-8. @throws AuditlogError('BAD_REQUEST') */
export function utf8Text(body: Uint8Array): string {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(body);
  } catch {
    throw new AuditlogError('BAD_REQUEST', 'body is not UTF-8');
  }
}

/** Largest checkpoint note read from a log or peer. */
export const MAX_CHECKPOINT_BYTES = 128 * 1024;

/**
 * Fetches `<log>/checkpoint`.
 * @returns the note text, or throws: AuditlogError 'INTERNAL' (network, non-200), 'TOO_LARGE',
 *   'BAD_REQUEST' (not UTF-8).
 */
export async function fetchCheckpoint(logUrl: string, token?: string): Promise<string> {
  const res = await getBytes(joinUrl(logUrl, 'checkpoint'), MAX_CHECKPOINT_BYTES, token);
  if (res.status !== 200) throw new AuditlogError('INTERNAL', `GET checkpoint: status ${res.status}`);
  return utf8Text(res.body);
}
