import { verify as nodeVerify } from 'node:crypto';
import * as ed from '@noble/ed25519';
import { sha512 } from '@noble/hashes/sha2.js';
import { describe, expect, test } from 'vitest';
import { isStrictPublicKey, verifyEd25519 } from '../../src/note/ed25519.js';
import { concatBytes } from '../../src/note/encoding.js';
import { ed25519Signer, generateSeed } from '../../src/note/signer.js';

const L = 2n ** 252n + 27742317777372353535851937790883648493n;

function le(n: bigint): Uint8Array {
  const out = new Uint8Array(32);
  for (let i = 0; i < 32; i++) out[i] = Number((n >> BigInt(8 * i)) & 255n);
  return out;
}
function fromLe(b: Uint8Array): bigint {
  let n = 0n;
  for (let i = b.length - 1; i >= 0; i--) n = (n << 8n) | BigInt(b[i]!);
  return n;
}
function nodeKey(publicKey: Uint8Array) {
  const spki = Buffer.concat([Buffer.from('302a300506032b6570032100', 'hex'), Buffer.from(publicKey)]);
  return { key: spki, format: 'der' as const, type: 'spki' as const };
}

/** A point of small order, found as [L]P for points P of the full group. */
function torsionPoint(): ed.Point {
  for (let i = 0; ; i++) {
    try {
      const P = ed.Point.fromBytes(le(BigInt(i) + 5n), false);
      const T = P.multiply(L - 1n, false).add(P);
      if (!T.is0() && !T.multiply(2n, false).is0()) return T;
    } catch {}
  }
}

describe('Ed25519 verification (Go crypto/ed25519 semantics)', () => {
  test('agrees with node:crypto on valid signatures and on every single-bit flip of some', async () => {
    for (let i = 0; i < 2; i++) {
      const s = ed25519Signer('k', generateSeed());
      const msg = new TextEncoder().encode(`message ${i}`);
      const sig = await s.sign(msg);
      expect(verifyEd25519(s.publicKey, msg, sig)).toBe(true);
      for (let bit = 0; bit < 512; bit += 7) {
        const m = sig.slice();
        m[bit >> 3]! ^= 1 << (bit & 7);
        expect(verifyEd25519(s.publicKey, msg, m)).toBe(nodeVerify(null, msg, nodeKey(s.publicKey), m));
        expect(verifyEd25519(s.publicKey, msg, m)).toBe(false);
      }
    }
  });

  test('rejects non-canonical S (S + L), as Go and OpenSSL do', async () => {
    const s = ed25519Signer('k', generateSeed());
    const msg = new TextEncoder().encode('m');
    const sig = await s.sign(msg);
    const S = fromLe(sig.subarray(32));
    const bad = concatBytes(sig.subarray(0, 32), le(S + L));
    expect(verifyEd25519(s.publicKey, msg, bad)).toBe(false);
    expect(nodeVerify(null, msg, nodeKey(s.publicKey), bad)).toBe(false);
  });

  test('cofactorless: rejects a signature whose R carries a torsion component (ZIP-215 would accept)', () => {
    const seed = generateSeed();
    const s = ed25519Signer('k', seed);
    const h = sha512(seed);
    const a = h.slice(0, 32);
    a[0]! &= 248;
    a[31]! &= 127;
    a[31]! |= 64;
    const scalar = fromLe(a) % L;
    const msg = new TextEncoder().encode('mixed torsion');
    const r = 123456789n;
    const R = ed.Point.BASE.multiply(r).add(torsionPoint()).toBytes();
    const k = fromLe(sha512(concatBytes(R, s.publicKey, msg))) % L;
    const S = (r + k * scalar) % L;
    const sig = concatBytes(R, le(S));
    expect(ed.verify(sig, msg, s.publicKey)).toBe(true); // noble default: ZIP-215, cofactored
    expect(verifyEd25519(s.publicKey, msg, sig)).toBe(false); // Go: cofactorless
    expect(nodeVerify(null, msg, nodeKey(s.publicKey), sig)).toBe(false); // OpenSSL agrees with Go
  });

  test('strict public keys: identity and torsion points are refused', () => {
    expect(isStrictPublicKey(ed25519Signer('k', generateSeed()).publicKey)).toBe(true);
    expect(isStrictPublicKey(ed.Point.ZERO.toBytes())).toBe(false);
    expect(isStrictPublicKey(torsionPoint().toBytes())).toBe(false);
    expect(isStrictPublicKey(new Uint8Array(31))).toBe(false);
  });

  test('node:crypto signatures and pure-JS signatures are identical', async () => {
    const seed = generateSeed();
    const msg = new TextEncoder().encode('same');
    const a = await ed25519Signer('k', seed).sign(msg);
    expect(Buffer.from(ed.sign(msg, seed))).toEqual(Buffer.from(a));
  });
});
