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
/** leafViews[n]: the first n bytes of leafInput (a view per length, made once). */
const leafViews: Uint8Array[] = [];
const nodeInput = new Uint8Array(1 + 2 * HASH_SIZE);
nodeInput[0] = 0x01;

/**
 * Hash outputs are cut from slabs: a 32-byte view of a large off-heap buffer, rather than a
 * `new Uint8Array(32)`, which lives on V8's heap and must be moved off it (a backing store
 * allocated and tracked) the moment native code writes to it. A slab stays alive while any
 * of its hashes does, so slabs are small (256 hashes, 8 KiB): a caller that keeps one
 * receipt's leaf hash pins at most 8 KiB, and the tiles, which keep nodes of neighbouring
 * leaves together, pin little beyond themselves.
 */
const SLAB_HASHES = 256;
let slab = new Uint8Array(SLAB_HASHES * HASH_SIZE);
let slabAt = 0;
function nextOutput(): Uint8Array {
  if (slabAt === slab.length) {
    slab = new Uint8Array(SLAB_HASHES * HASH_SIZE);
    slabAt = 0;
  }
  const out = slab.subarray(slabAt, slabAt + HASH_SIZE);
  slabAt += HASH_SIZE;
  return out;
}

/** The hot-path tree hasher. */
export const nodeHasher: TreeHasher = {
  emptyRoot: nodeCryptoHasher.emptyRoot,
  hashLeaf(entry) {
    const n = entry.length + 1;
    if (n >= SODIUM_MAX_INPUT) return nodeCryptoHasher.hashLeaf(entry);
    leafInput[0] = 0x00;
    leafInput.set(entry, 1);
    let input = leafViews[n];
    if (input === undefined) input = leafViews[n] = leafInput.subarray(0, n);
    const out = nextOutput();
    sodium.crypto_hash_sha256(out, input);
    return out;
  },
  hashChildren(left, right) {
    nodeInput.set(left, 1);
    nodeInput.set(right, 1 + HASH_SIZE);
    const out = nextOutput();
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
