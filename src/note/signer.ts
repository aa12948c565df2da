/**
 * The signing interface and its in-process Ed25519 implementation (node:crypto). A remote KMS or
 * HSM implements the same interface. Node-only: verification code must not import this module
 * except with `import type`.
 */
import { createPrivateKey, createPublicKey, type KeyObject, randomBytes, sign } from 'node:crypto';
import { AuditlogError } from '../errors.js';
import { checkKeyName } from './keys.js';

/** Something that signs with one Ed25519 key under one key name. */
export interface Signer {
  /** The key name used in note signature lines. */
  readonly name: string;
  /** The 32-byte Ed25519 public key. */
  readonly publicKey: Uint8Array;
  /** Returns the 64-byte Ed25519 signature of `message`. */
  sign(message: Uint8Array): Promise<Uint8Array>;
}

// DER prefix of a PKCS#8 OneAsymmetricKey holding an Ed25519 seed (RFC 8410 section 7).
const PKCS8_ED25519_PREFIX = Uint8Array.from([
  0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20,
]);

function privateKeyFromSeed(seed: Uint8Array): KeyObject {
  const der = new Uint8Array(PKCS8_ED25519_PREFIX.length + 32);
  der.set(PKCS8_ED25519_PREFIX);
  der.set(seed, PKCS8_ED25519_PREFIX.length);
  return createPrivateKey({ key: Buffer.from(der), format: 'der', type: 'pkcs8' });
}

/**
 * An Ed25519 signer from a 32-byte seed. The KeyObject is built once; each signature is one
 * synchronous node:crypto call.
 * @throws AuditlogError('BAD_KEY') on an invalid name or a seed that is not 32 bytes.
 */
export function ed25519Signer(name: string, seed: Uint8Array): Signer {
  checkKeyName(name);
  if (seed.length !== 32) throw new AuditlogError('BAD_KEY', 'Ed25519 seed must be 32 bytes');
  const key = privateKeyFromSeed(seed);
  const spki = createPublicKey(key).export({ format: 'der', type: 'spki' });
  const publicKey = new Uint8Array(spki.subarray(spki.length - 32));
  return {
    name,
    publicKey,
    sign: async (message) => new Uint8Array(sign(null, message, key)),
  };
}

/** Wraps a signer so that every signature takes at least `ms` milliseconds longer (tests, benchmarks). */
export function withLatency(signer: Signer, ms: number): Signer {
  return {
    name: signer.name,
    publicKey: signer.publicKey,
    sign: async (message) => {
      await new Promise((resolve) => setTimeout(resolve, ms));
      return signer.sign(message);
    },
  };
}

/** 32 random bytes from the OS CSPRNG, for a new Ed25519 seed. */
export function generateSeed(): Uint8Array {
  return new Uint8Array(randomBytes(32));
}
