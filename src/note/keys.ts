/**
 * Key names, key IDs, verifier keys (vkeys) and signer keys, per c2sp.org/signed-note and the
 * golang.org/x/mod/sumdb/note private key format. Browser-safe.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { AuditlogError } from '../errors.js';
import { isStrictPublicKey, publicKeyFromSeed } from './ed25519.js';
import {
  concatBytes,
  decodeBase64,
  decodeHex,
  encodeBase64,
  encodeHex,
  hasLoneSurrogate,
  utf8,
} from './encoding.js';

/** Signature type of plain Ed25519 note signatures. */
export const SIG_TYPE_ED25519 = 0x01;
/** Signature type of c2sp.org/tlog-cosignature v1 timestamped Ed25519 cosignatures. */
export const SIG_TYPE_COSIGNATURE_V1 = 0x04;

/** A key that can verify note signatures: the tuple clients are configured with. */
export interface VerifierKey {
  name: string;
  keyId: Uint8Array; // 4 bytes
  type: number; // SIG_TYPE_ED25519 or SIG_TYPE_COSIGNATURE_V1
  publicKey: Uint8Array; // 32-byte Ed25519 public key
}

// Go's unicode.IsSpace: ASCII spaces, U+0085, U+00A0 and the Unicode White_Space characters.
const UNICODE_SPACE = /[\t\n\v\f\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]/;
const CONTROL = /[\u0000-\u001f]/;

/** Splits at the first n-1 '+' characters; null when there are fewer. */
function splitPlus(s: string, n: number): string[] | null {
  const out: string[] = [];
  let rest = s;
  for (let i = 0; i < n - 1; i++) {
    const j = rest.indexOf('+');
    if (j < 0) return null;
    out.push(rest.slice(0, j));
    rest = rest.slice(j + 1);
  }
  out.push(rest);
  return out;
}

/**
 * True when `name` is a valid key name: non-empty, valid Unicode, no Unicode spaces, no '+',
 * no control characters.
 */
export function isValidKeyName(name: string): boolean {
  return (
    name.length > 0 &&
    !UNICODE_SPACE.test(name) &&
    !name.includes('+') &&
    !CONTROL.test(name) &&
    !hasLoneSurrogate(name)
  );
}

/** Throws BAD_KEY unless `name` is a valid key name. */
export function checkKeyName(name: string): void {
  if (!isValidKeyName(name)) throw new AuditlogError('BAD_KEY', `invalid key name ${JSON.stringify(name)}`);
}

/**
 * The key ID: SHA-256(name || 0x0A || type || publicKey)[:4].
 * Precondition: `name` is a valid key name, `type` is a byte.
 */
export function keyId(name: string, sigType: number, publicKey: Uint8Array): Uint8Array {
  return sha256(concatBytes(utf8(name), Uint8Array.of(0x0a, sigType), publicKey)).slice(0, 4);
}

/** Builds a VerifierKey from its parts (computing the key ID). */
export function verifierKey(name: string, publicKey: Uint8Array, type = SIG_TYPE_ED25519): VerifierKey {
  checkKeyName(name);
  return { name, keyId: keyId(name, type, publicKey), type, publicKey: publicKey.slice() };
}

/** Formats `<name>+<hex key id>+<base64(type || publicKey)>`. */
export function formatVerifierKey(name: string, publicKey: Uint8Array, type = SIG_TYPE_ED25519): string {
  checkKeyName(name);
  if (publicKey.length !== 32) throw new AuditlogError('BAD_KEY', 'public key must be 32 bytes');
  const id = keyId(name, type, publicKey);
  return `${name}+${encodeHex(id)}+${encodeBase64(concatBytes(Uint8Array.of(type), publicKey))}`;
}

/**
 * Parses a vkey strictly: valid key name, 8 lowercase hex digits, canonical base64 of type 0x01 or
 * 0x04 followed by a canonical, non-small-order 32-byte Ed25519 key, and a key ID that matches.
 * @throws AuditlogError('BAD_KEY')
 */
export function parseVerifierKey(vkey: string): VerifierKey {
  // The base64 part may itself contain '+': split at the first two only.
  const parts = splitPlus(vkey, 3);
  if (parts === null) throw new AuditlogError('BAD_KEY', 'vkey must be <name>+<id>+<key>');
  const [name, hexId, b64] = parts as [string, string, string];
  checkKeyName(name);
  const id = decodeHex(hexId, 4, 'BAD_KEY', 'vkey key id');
  const material = decodeBase64(b64, 'BAD_KEY', 'vkey key');
  if (material.length !== 33) throw new AuditlogError('BAD_KEY', 'vkey key material must be 33 bytes');
  const type = material[0]!;
  if (type !== SIG_TYPE_ED25519 && type !== SIG_TYPE_COSIGNATURE_V1) {
    throw new AuditlogError('BAD_KEY', `unsupported signature type 0x${type.toString(16).padStart(2, '0')}`);
  }
  const publicKey = material.slice(1);
  if (!isStrictPublicKey(publicKey)) throw new AuditlogError('BAD_KEY', 'not a valid Ed25519 public key');
  const want = keyId(name, type, publicKey);
  if (encodeHex(want) !== hexId) throw new AuditlogError('BAD_KEY', 'key id does not match key');
  return { name, keyId: id, type, publicKey };
}

/**
 * Formats a signer key `PRIVATE+KEY+<name>+<hex id>+<base64(0x01 || seed)>` (the sumdb note format).
 * The key ID is that of the Ed25519 (type 0x01) public key.
 */
export function formatSignerKey(name: string, seed: Uint8Array): string {
  checkKeyName(name);
  if (seed.length !== 32) throw new AuditlogError('BAD_KEY', 'seed must be 32 bytes');
  const id = keyId(name, SIG_TYPE_ED25519, publicKeyFromSeed(seed));
  return `PRIVATE+KEY+${name}+${encodeHex(id)}+${encodeBase64(concatBytes(Uint8Array.of(SIG_TYPE_ED25519), seed))}`;
}

/**
 * Parses a signer key produced by formatSignerKey (or Go's note.GenerateKey); checks the key ID.
 * Messages never include the key material.
 * @throws AuditlogError('BAD_KEY')
 */
export function parseSignerKey(s: string): { name: string; seed: Uint8Array } {
  const parts = splitPlus(s.replace(/\n$/, ''), 5);
  if (parts === null || parts[0] !== 'PRIVATE' || parts[1] !== 'KEY') {
    throw new AuditlogError('BAD_KEY', 'signer key must be PRIVATE+KEY+<name>+<id>+<key>');
  }
  const [, , name, hexId, b64] = parts as [string, string, string, string, string];
  checkKeyName(name);
  decodeHex(hexId, 4, 'BAD_KEY', 'signer key id');
  let material: Uint8Array;
  try {
    material = decodeBase64(b64, 'BAD_KEY', 'signer key');
  } catch {
    throw new AuditlogError('BAD_KEY', 'signer key: invalid base64');
  }
  if (material.length !== 33 || material[0] !== SIG_TYPE_ED25519) {
    throw new AuditlogError('BAD_KEY', 'signer key must be type 0x01 and 32 bytes');
  }
  const seed = material.slice(1);
  if (encodeHex(keyId(name, SIG_TYPE_ED25519, publicKeyFromSeed(seed))) !== hexId) {
    throw new AuditlogError('BAD_KEY', 'signer key id does not match key');
  }
  return { name, seed };
}
