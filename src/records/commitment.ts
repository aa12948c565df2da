import { createHash, timingSafeEqual } from 'node:crypto';
import { AuditlogError } from '../errors.js';
import { canonicalJsonBytes } from './canonical-json.js';
import { randomBytes } from './random.js';

/** Bytes of fresh randomness per committed field. */
export const SALT_SIZE = 32;
const DOMAIN = new TextEncoder().encode('auditlog.commitment/v1\0');

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
  const p = Buffer.from(pointer, 'utf8');
  const len = new Uint8Array(4);
  new DataView(len.buffer).setUint32(0, p.length);
  return new Uint8Array(
    createHash('sha256')
      .update(DOMAIN)
      .update(len)
      .update(p)
      .update(salt)
      .update(canonicalJsonBytes(value))
      .digest(),
  );
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
