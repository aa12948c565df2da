/**
 * Verification of RFC 6962 / RFC 9162 inclusion and consistency proofs.
 *
 * Compute, then compare: `rootFromInclusionProof` rebuilds a root, `verifyInclusion` only
 * compares it. Shapes (index < size, exact proof length, 32-byte hashes) are checked before
 * any hashing. Imports only the portable hasher, so this runs in a browser.
 */
import { AuditlogError } from '../errors.js';
import { bitLength, onesCount, trailingZeros } from './bits.js';
import { equalHashes, HASH_SIZE, type TreeHasher } from './hasher.js';
import { portableHasher } from './portable.js';

/**
 * Splits an inclusion proof for `index` in a tree of `size` into the number of nodes below
 * the point where the leaf's path leaves the right border (`inner`) and the number of
 * nodes on the border (`border`). Requires index < size.
 */
export function decompInclProof(index: bigint, size: bigint): { inner: number; border: number } {
  const inner = bitLength(index ^ (size - 1n));
  const border = onesCount(index >> BigInt(inner));
  return { inner, border };
}

function checkHashes(proof: readonly Uint8Array[]): void {
  for (let i = 0; i < proof.length; i++) {
    if (proof[i]?.length !== HASH_SIZE) {
      throw new AuditlogError('BAD_PROOF', `proof[${i}] is not ${HASH_SIZE} bytes`);
    }
  }
}

function chainInner(
  h: TreeHasher,
  seed: Uint8Array,
  proof: readonly Uint8Array[],
  index: bigint,
): Uint8Array {
  let acc = seed;
  for (let i = 0; i < proof.length; i++) {
    const sibling = proof[i]!;
    acc = ((index >> BigInt(i)) & 1n) === 0n ? h.hashChildren(acc, sibling) : h.hashChildren(sibling, acc);
  }
  return acc;
}

function chainInnerRight(
  h: TreeHasher,
  seed: Uint8Array,
  proof: readonly Uint8Array[],
  index: bigint,
): Uint8Array {
  let acc = seed;
  for (let i = 0; i < proof.length; i++) {
    if (((index >> BigInt(i)) & 1n) === 1n) acc = h.hashChildren(proof[i]!, acc);
  }
  return acc;
}

function chainBorderRight(h: TreeHasher, seed: Uint8Array, proof: readonly Uint8Array[]): Uint8Array {
  let acc = seed;
  for (const sibling of proof) acc = h.hashChildren(sibling, acc);
  return acc;
}

/**
 * Rebuilds the root of a tree of `size` from the leaf hash at `index` and its inclusion
 * proof (RFC 9162 section 2.1.3.2).
 * @throws AuditlogError BAD_PROOF if index >= size, the proof has the wrong length, or a
 *   node is not 32 bytes.
 */
export function rootFromInclusionProof(
  index: bigint,
  size: bigint,
  leafHash: Uint8Array,
  proof: readonly Uint8Array[],
  hasher: TreeHasher = portableHasher,
): Uint8Array {
  if (index < 0n || size < 0n) throw new AuditlogError('BAD_PROOF', 'negative index or size');
  if (index >= size) throw new AuditlogError('BAD_PROOF', `index ${index} is not below tree size ${size}`);
  if (leafHash.length !== HASH_SIZE) throw new AuditlogError('BAD_PROOF', 'leaf hash is not 32 bytes');
  const { inner, border } = decompInclProof(index, size);
  if (proof.length !== inner + border) {
    throw new AuditlogError(
      'BAD_PROOF',
      `inclusion proof has ${proof.length} nodes, want ${inner + border} for index ${index} in size ${size}`,
    );
  }
  checkHashes(proof);
  const res = chainInner(hasher, leafHash, proof.slice(0, inner), index);
  return chainBorderRight(hasher, res, proof.slice(inner));
}

/**
 * Checks that `leafHash` is at `index` in the tree of `size` with root `root`.
 * @throws AuditlogError BAD_PROOF (shape) or ROOT_MISMATCH (the proof leads elsewhere).
 */
export function verifyInclusion(
  index: bigint,
  size: bigint,
  leafHash: Uint8Array,
  proof: readonly Uint8Array[],
  root: Uint8Array,
  hasher: TreeHasher = portableHasher,
): void {
  const calc = rootFromInclusionProof(index, size, leafHash, proof, hasher);
  if (!equalHashes(calc, root))
    throw new AuditlogError('ROOT_MISMATCH', 'inclusion proof does not lead to the root');
}

/**
 * Checks that the tree of `size2` with `root2` extends the tree of `size1` with `root1`
 * (RFC 9162 section 2.1.4.2). Requires 0 <= size1 <= size2; a tree of size 0 is consistent
 * with every tree and needs an empty proof, as does size1 == size2 (then the roots must match).
 * @throws AuditlogError BAD_PROOF (shape or size1 > size2) or ROOT_MISMATCH.
 */
export function verifyConsistency(
  size1: bigint,
  size2: bigint,
  proof: readonly Uint8Array[],
  root1: Uint8Array,
  root2: Uint8Array,
  hasher: TreeHasher = portableHasher,
): void {
  if (size1 < 0n || size2 < size1) throw new AuditlogError('BAD_PROOF', `size1 ${size1} > size2 ${size2}`);
  if (root1.length !== HASH_SIZE || root2.length !== HASH_SIZE) {
    throw new AuditlogError('BAD_PROOF', 'root is not 32 bytes');
  }
  if (size1 === size2) {
    if (proof.length !== 0) throw new AuditlogError('BAD_PROOF', 'proof between equal sizes must be empty');
    if (!equalHashes(root1, root2)) throw new AuditlogError('ROOT_MISMATCH', 'same size, different roots');
    return;
  }
  if (size1 === 0n) {
    if (proof.length !== 0) throw new AuditlogError('BAD_PROOF', 'proof from the empty tree must be empty');
    return;
  }
  if (proof.length === 0) throw new AuditlogError('BAD_PROOF', 'empty consistency proof');
  checkHashes(proof);
  const { inner: fullInner, border } = decompInclProof(size1 - 1n, size2);
  const shift = trailingZeros(size1);
  const inner = fullInner - shift;
  // When size1 is a power of two (a complete left subtree), root1 itself is the seed and
  // the proof omits it.
  const seedIsRoot1 = size1 === 1n << BigInt(shift);
  const start = seedIsRoot1 ? 0 : 1;
  if (proof.length !== start + inner + border) {
    throw new AuditlogError(
      'BAD_PROOF',
      `consistency proof has ${proof.length} nodes, want ${start + inner + border} for ${size1} -> ${size2}`,
    );
  }
  const seed = seedIsRoot1 ? root1 : proof[0]!;
  const rest = proof.slice(start);
  const mask = (size1 - 1n) >> BigInt(shift);
  const innerNodes = rest.slice(0, inner);
  const borderNodes = rest.slice(inner);
  const hash1 = chainBorderRight(hasher, chainInnerRight(hasher, seed, innerNodes, mask), borderNodes);
  if (!equalHashes(hash1, root1))
    throw new AuditlogError('ROOT_MISMATCH', 'consistency proof does not lead to root1');
  const hash2 = chainBorderRight(hasher, chainInner(hasher, seed, innerNodes, mask), borderNodes);
  if (!equalHashes(hash2, root2))
    throw new AuditlogError('ROOT_MISMATCH', 'consistency proof does not lead to root2');
}
