/** Strict parsing of query parameters and path pieces: canonical decimals, standard base64. */
import { AuditlogError } from '../errors.js';
import { MAX_UINT64 } from '../merkle/bits.js';
import { decodeBase64 } from '../note/encoding.js';

/** A canonical decimal uint64 ("0", or no leading zeros). @throws BAD_REQUEST naming the parameter. */
export function parseUint64Param(name: string, value: string | undefined): bigint {
  if (value === undefined) throw new AuditlogError('BAD_REQUEST', `missing parameter ${name}`);
  if (!/^(0|[1-9][0-9]{0,19})$/.test(value)) {
    throw new AuditlogError('BAD_REQUEST', `parameter ${name} is not a canonical decimal integer`);
  }
  const v = BigInt(value);
  if (v > MAX_UINT64) throw new AuditlogError('BAD_REQUEST', `parameter ${name} exceeds 2^64-1`);
  return v;
}

/** A 32-byte hash in standard base64. */
export function parseHashParam(name: string, value: string | undefined): Uint8Array {
  if (value === undefined) throw new AuditlogError('BAD_REQUEST', `missing parameter ${name}`);
  const h = decodeBase64(value, 'BAD_REQUEST', name);
  if (h.length !== 32) throw new AuditlogError('BAD_REQUEST', `parameter ${name} is not a 32-byte hash`);
  return h;
}
