/**
 * Ed25519 verification with exactly the acceptance rules of Go's crypto/ed25519 (and so of the
 * sumdb note package, Sunlight, Tessera and the witnesses written in Go), built on @noble/ed25519
 * so that it runs in browsers too.
 *
 * The rules (see spec/signed-note.md, "Ed25519 verification"):
 * - S must be canonical (S < L), else reject;
 * - A is decoded accepting non-canonical y (as Go's edwards25519 SetBytes does); our vkey parser
 *   separately refuses non-canonical and small-order public keys, so configured keys are canonical;
 * - k = SHA-512(R || A || M) mod L over the bytes as given;
 * - the cofactorless equation: encode([S]B - [k]A) and compare with the 32 R bytes byte for byte
 *   (so a non-canonical R never verifies).
 * Neither of noble's modes matches this exactly (ZIP-215 and its strict mode are both cofactored),
 * which is why we do not call `ed.verify` here.
 */
import * as ed from '@noble/ed25519';
import { sha256, sha512 } from '@noble/hashes/sha2.js';
import { bytesEqual, concatBytes, encodeHex } from './encoding.js';

ed.hashes.sha512 = sha512;

const L = 2n ** 252n + 27742317777372353535851937790883648493n;
const P = 2n ** 255n - 19n;

function bytesToNumberLE(b: Uint8Array): bigint {
  let n = 0n;
  for (let i = b.length - 1; i >= 0; i--) n = (n << 8n) | BigInt(b[i]!);
  return n;
}

/** Decodes a point like Go's edwards25519 SetBytes: non-canonical y accepted; null if not on the curve. */
function decodePointLenient(bytes: Uint8Array): ed.Point | null {
  try {
    return ed.Point.fromBytes(bytes, true);
  } catch {
    return null;
  }
}

/**
 * Successful verifications, keyed by SHA-256(publicKey || sig || message): a verifier checking many
 * receipts against one checkpoint pays for the curve arithmetic once. Only successes are kept; a
 * success is a pure function of the three inputs, which the collision-resistant key binds.
 */
const VERIFIED_CACHE_SIZE = 1024;
const verified = new Map<string, true>();

/**
 * Multiples of a point for variable-time multiplication by public scalars below 2^253 (S < L and
 * k mod L): entry 8i + j is (j+1)·16^i·P, for i < 64 and j < 8, so a product is at most 64
 * additions and no doublings. The same group arithmetic as noble's double-and-add (complete
 * formulas), so the product is the same point.
 */
type PointTable = ed.Point[];

function pointTable(P: ed.Point): PointTable {
  const t: PointTable = new Array(512);
  let base = P;
  for (let i = 0; i < 64; i++) {
    let acc = base;
    t[8 * i] = acc;
    for (let j = 1; j < 8; j++) {
      acc = acc.add(base);
      t[8 * i + j] = acc;
    }
    base = acc.double(); // 16·16^i·P
  }
  return t;
}

/** n·P from P's table, for 0 <= n < 2^253 (signed 4-bit digits in [-7, 8]). */
function multiplyByTable(t: PointTable, n: bigint): ed.Point {
  let acc = ed.Point.ZERO;
  let carry = 0;
  for (let i = 0; i < 64; i++) {
    let d = Number(n & 15n) + carry;
    n >>= 4n;
    carry = 0;
    if (d > 8) {
      d -= 16;
      carry = 1;
    }
    if (d > 0) acc = acc.add(t[8 * i + d - 1]!);
    else if (d < 0) acc = acc.add(t[8 * i - d - 1]!.negate());
  }
  return acc; // n < 2^253: the top digit is at most 2, so no carry is left over
}

/** The base point's table, built on first use (512 point operations, a few ms). */
let baseTable: PointTable | undefined;

/**
 * Decoded public keys, and for a key used more than once its table: verifying many signatures by
 * one key (a log's checkpoints, a witness's cosignatures) would otherwise decode the key (a field
 * square root) and redo its 252 doublings for every signature. Least recently used first.
 */
const KEY_CACHE_SIZE = 16;
const decodedKeys = new Map<string, { point: ed.Point; uses: number; table?: PointTable }>();

function cachedKey(publicKey: Uint8Array) {
  const hex = encodeHex(publicKey);
  let entry = decodedKeys.get(hex);
  if (entry !== undefined) {
    decodedKeys.delete(hex);
  } else {
    const point = decodePointLenient(publicKey);
    if (point === null) return null;
    entry = { point, uses: 0 };
    if (decodedKeys.size >= KEY_CACHE_SIZE) decodedKeys.delete(decodedKeys.keys().next().value!);
  }
  decodedKeys.set(hex, entry);
  // Build the table on the second use: one-off verifications keep plain double-and-add.
  if (++entry.uses === 2) entry.table = pointTable(entry.point);
  return entry;
}

/**
 * Verifies an Ed25519 signature with Go crypto/ed25519 semantics. Never throws on bad input.
 * @returns true when `sig` (64 bytes) is a valid signature of `message` by `publicKey` (32 bytes).
 */
export function verifyEd25519(publicKey: Uint8Array, message: Uint8Array, sig: Uint8Array): boolean {
  if (publicKey.length !== 32 || sig.length !== 64) return false;
  const key = encodeHex(sha256(concatBytes(publicKey, sig, message)));
  if (verified.has(key)) return true;
  const ok = verifyUncached(publicKey, message, sig);
  if (ok) {
    if (verified.size >= VERIFIED_CACHE_SIZE) verified.delete(verified.keys().next().value!);
    verified.set(key, true);
  }
  return ok;
}

function verifyUncached(publicKey: Uint8Array, message: Uint8Array, sig: Uint8Array): boolean {
  if ((sig[63]! & 0xe0) !== 0) return false;
  const s = bytesToNumberLE(sig.subarray(32));
  if (s >= L) return false;
  const A = cachedKey(publicKey);
  if (A === null) return false;
  const R = sig.subarray(0, 32);
  const k = bytesToNumberLE(sha512(concatBytes(R, publicKey, message))) % L;
  baseTable ??= pointTable(ed.Point.BASE);
  const sB = multiplyByTable(baseTable, s);
  // s < L and k < L, both below 2^253 as multiplyByTable requires.
  const kA = A.table !== undefined ? multiplyByTable(A.table, k) : A.point.multiply(k, false);
  const check = sB.subtract(kA);
  return bytesEqual(check.toBytes(), R);
}

/**
 * True when `publicKey` is a canonical encoding (y < p, and not x = 0 with the sign bit set) of a
 * curve point outside the small-order subgroup. Configured keys must pass this.
 */
export function isStrictPublicKey(publicKey: Uint8Array): boolean {
  if (publicKey.length !== 32) return false;
  const y = bytesToNumberLE(publicKey) & ((1n << 255n) - 1n);
  if (y >= P) return false;
  try {
    const A = ed.Point.fromBytes(publicKey, false);
    return !A.isSmallOrder();
  } catch {
    return false;
  }
}

/** The Ed25519 public key of a 32-byte seed (RFC 8032 section 5.1.5). */
export function publicKeyFromSeed(seed: Uint8Array): Uint8Array {
  return ed.getPublicKey(seed);
}

/** Signs with a 32-byte seed in pure JS (browser-safe; the server uses node:crypto in signer.ts). */
export function signEd25519(seed: Uint8Array, message: Uint8Array): Uint8Array {
  return ed.sign(message, seed);
}
