/**
 * RFC 6962 section 2.1 tree hashing, parameterised by the SHA-256 implementation. This is
 * the only module that knows the 0x00 (leaf) and 0x01 (interior node) prefixes.
 *
 * Two instances exist: `rfc6962.ts` (node:crypto, the server's hot path) and `portable.ts`
 * (@noble/hashes, for verification code that must also run in a browser).
 */

/** Size in bytes of every hash in the tree (SHA-256). */
export const HASH_SIZE = 32;

export interface TreeHasher {
  /** MTH({}) = SHA-256() — the root of the empty tree. */
  readonly emptyRoot: Uint8Array;
  /** Leaf hash: SHA-256(0x00 || entry). */
  hashLeaf(entry: Uint8Array): Uint8Array;
  /**
   * Interior node hash: SHA-256(0x01 || left || right).
   * Requires both children to be HASH_SIZE bytes; not checked on this hot path, so callers
   * holding hashes from outside check lengths first.
   */
  hashChildren(left: Uint8Array, right: Uint8Array): Uint8Array;
}

/** Builds a TreeHasher from a one-shot SHA-256 function. */
export function treeHasher(sha256: (data: Uint8Array) => Uint8Array): TreeHasher {
  return {
    emptyRoot: sha256(new Uint8Array(0)),
    hashLeaf(entry) {
      const buf = new Uint8Array(1 + entry.length);
      buf[0] = 0x00;
      buf.set(entry, 1);
      return sha256(buf);
    },
    hashChildren(left, right) {
      const buf = new Uint8Array(1 + 2 * HASH_SIZE);
      buf[0] = 0x01;
      buf.set(left, 1);
      buf.set(right, 1 + HASH_SIZE);
      return sha256(buf);
    },
  };
}

/** Byte equality of two hashes (hashes are public, so no constant-time concern). */
export function equalHashes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
