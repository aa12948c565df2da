/**
 * RFC 6962 hashing for the server's hot path (two hashes per appended entry).
 *
 * Short inputs (every interior node, and leaves of small entries) go to libsodium's SHA-256
 * through sodium-native, which hashes into a caller-owned output: node:crypto's `hash()`
 * pays ~2 µs of call overhead and allocates an off-heap Buffer per hash, which under load
 * costs as much again in garbage collection (spec/merkle.md, "Hashing on the hot path", has
 * the measurements). libsodium's SHA-256 is portable C, slower per byte than OpenSSL's, so
 * inputs from SODIUM_MAX_INPUT bytes up go to node:crypto. Browser-capable code imports
 * `portable.ts` instead.
 */
import { hash } from 'node:crypto';
import sodium from 'sodium-native';
import { HASH_SIZE, type TreeHasher, treeHasher } from './hasher.js';

export { equalHashes, HASH_SIZE } from './hasher.js';

/** Inputs of at least this many bytes are hashed by node:crypto (measured crossover ~400–600 B). */
export const SODIUM_MAX_INPUT = 512;

function nodeSha256(data: Uint8Array): Uint8Array {
  const out = hash('sha256', data, 'buffer') as unknown as Buffer;
  return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
}

/** The same tree hasher on node:crypto alone (kept as the reference the fast path is tested against). */
export const nodeCryptoHasher: TreeHasher = treeHasher(nodeSha256);

// Scratch input buffers. Each call fills and hashes one synchronously, so one per module
// instance (each worker thread has its own) is safe.
const leafInput = new Uint8Array(SODIUM_MAX_INPUT);
const nodeInput = new Uint8Array(1 + 2 * HASH_SIZE);
nodeInput[0] = 0x01;

/** The hot-path tree hasher. */
export const nodeHasher: TreeHasher = {
  emptyRoot: nodeCryptoHasher.emptyRoot,
  hashLeaf(entry) {
    if (entry.length + 1 >= SODIUM_MAX_INPUT) return nodeCryptoHasher.hashLeaf(entry);
    leafInput[0] = 0x00;
    leafInput.set(entry, 1);
    const out = new Uint8Array(HASH_SIZE);
    sodium.crypto_hash_sha256(out, leafInput.subarray(0, entry.length + 1));
    return out;
  },
  hashChildren(left, right) {
    nodeInput.set(left, 1);
    nodeInput.set(right, 1 + HASH_SIZE);
    const out = new Uint8Array(HASH_SIZE);
    sodium.crypto_hash_sha256(out, nodeInput);
    return out;
  },
};

/** SHA-256 of `data` on the same fast path as the tree hashes (libsodium for short inputs). */
export function sha256(data: Uint8Array): Uint8Array {
  if (data.length >= SODIUM_MAX_INPUT) return nodeSha256(data);
  const out = new Uint8Array(HASH_SIZE);
  sodium.crypto_hash_sha256(out, data);
  return out;
}

/** MTH({}) = SHA-256(). */
export const EMPTY_ROOT = nodeHasher.emptyRoot;
/** Leaf hash: SHA-256(0x00 || entry). */
export const hashLeaf = nodeHasher.hashLeaf;
/** Interior node hash: SHA-256(0x01 || left || right); both children HASH_SIZE bytes. */
export const hashChildren = nodeHasher.hashChildren;
