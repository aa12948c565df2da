import { timingSafeEqual } from 'node:crypto';
import { AuditlogError } from '../errors.js';
import { sha256 } from '../merkle/rfc6962.js';
import { canonicalJsonBytes } from './canonical-json.js';
import { randomBytes } from './random.js';

/** Bytes of fresh randomness per committed field. */
export const SALT_SIZE = 32;
const utf8 = new TextEncoder();
const DOMAIN = utf8.encode('auditlog.commitment/v1\0');

/** A fresh 32-byte salt from the OS CSPRNG; one per field, never reused. */
export function newSalt(): Uint8Array {
  return randomBytes(SALT_SIZE).slice(); // its own buffer: a salt never shares memory
}

/**
 * The salted commitment to one personal field (spec/records.md, "Commitments"):
 *
 *   SHA-256( "auditlog.commitment/v1" 0x00 || uint32be(len(pointer)) || pointer
 *            || salt || JCS(value) )
 *
 * where `pointer` is the RFC 6901 JSON Pointer of the field in the submitted record (UTF-8)
 * and JCS is RFC 8785. Requires `salt.length === SALT_SIZE`.
 * @throws AuditlogError('BAD_REQUEST') on a salt of the wrong size or a value JCS refuses.
 */
export function commitField(pointer: string, salt: Uint8Array, value: unknown): Uint8Array {
  if (salt.length !== SALT_SIZE)
    throw new AuditlogError('BAD_REQUEST', `salt: ${salt.length} bytes, want 32`);
  const p = utf8.encode(pointer);
  const v = canonicalJsonBytes(value);
  // One buffer and one hash call (the fields are few and short; five incremental updates cost more).
  const input = new Uint8Array(DOMAIN.length + 4 + p.length + SALT_SIZE + v.length);
  let at = 0;
  input.set(DOMAIN, at);
  at += DOMAIN.length;
  new DataView(input.buffer).setUint32(at, p.length);
  at += 4;
  input.set(p, at);
  at += p.length;
  input.set(salt, at);
  input.set(v, at + SALT_SIZE);
  return sha256(input);
}

/** True iff `commitment` (32 bytes) is the commitment of `value` at `pointer` under `salt`. */
export function verifyField(
  pointer: string,
  salt: Uint8Array,
  value: unknown,
  commitment: Uint8Array,
): boolean {
  if (salt.length !== SALT_SIZE || commitment.length !== 32) return false;
  return timingSafeEqual(commitField(pointer, salt, value), commitment);
}
