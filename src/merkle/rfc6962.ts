/**
 * RFC 6962 hashing on node:crypto's one-shot `hash()` (Node >= 20.12). On the machines we
 * measured it is about 1.7x faster than @noble/hashes for 33..65-byte inputs, and it sits on
 * the append hot path (two hashes per entry). Browser-capable code imports `portable.ts`.
 */
import { hash } from 'node:crypto';
import { treeHasher } from './hasher.js';

export { equalHashes, HASH_SIZE } from './hasher.js';

function sha256(data: Uint8Array): Uint8Array {
  const out = hash('sha256', data, 'buffer') as unknown as Buffer;
  return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
}

/** The node:crypto tree hasher. */
export const nodeHasher = treeHasher(sha256);
/** MTH({}) = SHA-256(). */
export const EMPTY_ROOT = nodeHasher.emptyRoot;
/** Leaf hash: SHA-256(0x00 || entry). */
export const hashLeaf = nodeHasher.hashLeaf;
/** Interior node hash: SHA-256(0x01 || left || right); both children HASH_SIZE bytes. */
export const hashChildren = nodeHasher.hashChildren;
