/**
 * Witness cosignatures, c2sp.org/tlog-cosignature v1: signature type 0x04, a 72-byte
 * timestamped_signature (8-byte big-endian POSIX seconds || 64-byte Ed25519 signature) over
 * `cosignature/v1\ntime <t>\n` || the checkpoint note text. Browser-safe.
 */
import { AuditlogError } from '../errors.js';
import { verifyEd25519 } from './ed25519.js';
import { bytesEqual, utf8 } from './encoding.js';
import { keyId, SIG_TYPE_COSIGNATURE_V1, type VerifierKey } from './keys.js';
import type { NoteSignature } from './note.js';
import type { Signer } from './signer.js';

/** The largest timestamp a cosignature may carry: 2^63 - 1. */
export const MAX_COSIGNATURE_TIME = 2n ** 63n - 1n;

/**
 * The message a v1 cosignature signs.
 * Precondition: 0 <= timestamp <= 2^63-1; `checkpointBody` is note text ending in newline.
 */
export function cosignatureMessage(checkpointBody: string, timestamp: bigint): Uint8Array {
  return utf8(`cosignature/v1\ntime ${timestamp.toString()}\n${checkpointBody}`);
}

/**
 * Cosigns a checkpoint body (note text) at `timestamp` (POSIX seconds) with `signer`.
 * @throws AuditlogError('BAD_REQUEST') when the timestamp is out of range.
 */
export async function cosign(
  checkpointBody: string,
  signer: Signer,
  timestamp: bigint,
): Promise<NoteSignature> {
  if (timestamp < 0n || timestamp > MAX_COSIGNATURE_TIME) {
    throw new AuditlogError('BAD_REQUEST', 'cosignature timestamp out of range');
  }
  const sig = await signer.sign(cosignatureMessage(checkpointBody, timestamp));
  const out = new Uint8Array(72);
  new DataView(out.buffer).setBigUint64(0, timestamp, false);
  out.set(sig, 8);
  return {
    name: signer.name,
    keyId: keyId(signer.name, SIG_TYPE_COSIGNATURE_V1, signer.publicKey),
    signature: out,
  };
}

/**
 * Checks the bytes of a cosignature (after the key ID) against `key`'s public key.
 * @returns the timestamp when valid, null otherwise. Never throws.
 */
export function verifyCosignatureBytes(
  checkpointBody: string,
  sigBytes: Uint8Array,
  key: VerifierKey,
): { timestamp: bigint } | null {
  if (sigBytes.length !== 72) return null;
  const timestamp = new DataView(sigBytes.buffer, sigBytes.byteOffset, 8).getBigUint64(0, false);
  if (timestamp > MAX_COSIGNATURE_TIME) return null;
  const ok = verifyEd25519(
    key.publicKey,
    cosignatureMessage(checkpointBody, timestamp),
    sigBytes.subarray(8),
  );
  return ok ? { timestamp } : null;
}

/**
 * Verifies a cosignature line of a checkpoint against a witness key.
 * @throws AuditlogError 'BAD_KEY' (key is not type 0x04), 'UNKNOWN_KEY' (signature is by another
 *   name or key ID), 'BAD_SIGNATURE' (wrong length, timestamp over 2^63-1, or invalid).
 */
export function verifyCosignature(
  checkpointBody: string,
  sig: NoteSignature,
  witnessKey: VerifierKey,
): { timestamp: bigint } {
  if (witnessKey.type !== SIG_TYPE_COSIGNATURE_V1) {
    throw new AuditlogError('BAD_KEY', 'witness key must have signature type 0x04');
  }
  if (sig.name !== witnessKey.name || !bytesEqual(sig.keyId, witnessKey.keyId)) {
    throw new AuditlogError('UNKNOWN_KEY', 'cosignature is not by this witness key');
  }
  const res = verifyCosignatureBytes(checkpointBody, sig.signature, witnessKey);
  if (res === null) throw new AuditlogError('BAD_SIGNATURE', `invalid cosignature by ${witnessKey.name}`);
  return res;
}
