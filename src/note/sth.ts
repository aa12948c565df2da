/**
 * RFC 6962 signed tree heads for the /ct/v1 compatibility API: the TreeHeadSignature input
 * (section 3.5) and the DigitallySigned wrapper with the TLS 1.3 SignatureScheme ed25519 (0x0807),
 * as RFC 9162 and c2sp.org/static-ct-api use for Ed25519. Browser-safe.
 */
import { AuditlogError } from '../errors.js';
import { verifyEd25519 } from './ed25519.js';
import type { Signer } from './signer.js';

const MAX_UINT64 = 2n ** 64n - 1n;
/** SignatureScheme ed25519, as two bytes. */
export const SIGNATURE_SCHEME_ED25519 = 0x0807;

/**
 * The 50 bytes an STH signature covers: version v1 (0) || signature_type tree_hash (1) ||
 * uint64 timestamp (ms) || uint64 tree_size || 32-byte root.
 * @throws AuditlogError('BAD_REQUEST') on values outside uint64 or a root that is not 32 bytes.
 */
export function treeHeadSignatureInput(timestampMs: bigint, size: bigint, root: Uint8Array): Uint8Array {
  if (timestampMs < 0n || timestampMs > MAX_UINT64)
    throw new AuditlogError('BAD_REQUEST', 'timestamp out of range');
  if (size < 0n || size > MAX_UINT64) throw new AuditlogError('BAD_REQUEST', 'tree size out of range');
  if (root.length !== 32) throw new AuditlogError('BAD_REQUEST', 'root must be 32 bytes');
  const out = new Uint8Array(50);
  const view = new DataView(out.buffer);
  out[0] = 0;
  out[1] = 1;
  view.setBigUint64(2, timestampMs, false);
  view.setBigUint64(10, size, false);
  out.set(root, 18);
  return out;
}

/** Encodes DigitallySigned: 0x08 0x07 || uint16 length || signature. Precondition: signature < 64 KiB. */
export function encodeDigitallySigned(sig: Uint8Array): Uint8Array {
  if (sig.length > 0xffff) throw new AuditlogError('BAD_REQUEST', 'signature too long');
  const out = new Uint8Array(4 + sig.length);
  out[0] = 0x08;
  out[1] = 0x07;
  out[2] = sig.length >>> 8;
  out[3] = sig.length & 0xff;
  out.set(sig, 4);
  return out;
}

/**
 * Decodes DigitallySigned with scheme ed25519 and a 64-byte signature, no trailing bytes.
 * @throws AuditlogError('BAD_SIGNATURE') on another scheme, a wrong length or trailing data.
 */
export function decodeDigitallySigned(bytes: Uint8Array): Uint8Array {
  if (bytes.length < 4) throw new AuditlogError('BAD_SIGNATURE', 'DigitallySigned too short');
  if (((bytes[0]! << 8) | bytes[1]!) !== SIGNATURE_SCHEME_ED25519) {
    throw new AuditlogError('BAD_SIGNATURE', 'DigitallySigned scheme is not ed25519');
  }
  const len = (bytes[2]! << 8) | bytes[3]!;
  if (len !== 64 || bytes.length !== 4 + len) {
    throw new AuditlogError('BAD_SIGNATURE', 'DigitallySigned length is wrong');
  }
  return bytes.slice(4);
}

/** Signs a tree head; returns the DigitallySigned bytes (base64 them for tree_head_signature). */
export async function signTreeHead(
  signer: Signer,
  timestampMs: bigint,
  size: bigint,
  root: Uint8Array,
): Promise<Uint8Array> {
  return encodeDigitallySigned(await signer.sign(treeHeadSignatureInput(timestampMs, size, root)));
}

/**
 * Verifies a DigitallySigned tree head signature with an Ed25519 public key.
 * @throws AuditlogError('BAD_SIGNATURE')
 */
export function verifyTreeHead(
  publicKey: Uint8Array,
  timestampMs: bigint,
  size: bigint,
  root: Uint8Array,
  digitallySigned: Uint8Array,
): void {
  const sig = decodeDigitallySigned(digitallySigned);
  if (!verifyEd25519(publicKey, treeHeadSignatureInput(timestampMs, size, root), sig)) {
    throw new AuditlogError('BAD_SIGNATURE', 'tree head signature does not verify');
  }
}
