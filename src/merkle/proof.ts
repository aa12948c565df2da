/**
 * Which subtrees a proof needs (RFC 6962 section 2.1.1 PATH and 2.1.2 SUBPROOF), and proof
 * assembly from a subtree-hash oracle. The oracle hides where hashes come from: LevelDB
 * tiles on the server, downloaded tiles in a client, an array in tests.
 */
import { AuditlogError } from '../errors.js';
import { largestPowerOfTwoBelow } from './bits.js';
import type { TreeHasher } from './hasher.js';

/** A half-open leaf range [start, end) whose Merkle Tree Hash a proof needs. */
export interface Range {
  start: bigint;
  end: bigint;
}

/** MTH(D[start:end]) for a range named by `inclusionRanges` or `consistencyRanges`. */
export type SubtreeHashOracle = (start: bigint, end: bigint) => Promise<Uint8Array>;

/**
 * The ranges whose hashes make up the inclusion proof of `index` in a tree of `size`, in
 * proof order (leaf-side first). Requires 0 <= index < size.
 */
export function inclusionRanges(index: bigint, size: bigint): Range[] {
  if (index < 0n || index >= size)
    throw new AuditlogError('OUT_OF_RANGE', `index ${index} not below size ${size}`);
  const ranges: Range[] = [];
  let lo = 0n;
  let hi = size;
  while (hi - lo > 1n) {
    const k = largestPowerOfTwoBelow(hi - lo);
    if (index < lo + k) {
      ranges.push({ start: lo + k, end: hi });
      hi = lo + k;
    } else {
      ranges.push({ start: lo, end: lo + k });
      lo = lo + k;
    }
  }
  return ranges.reverse();
}

/**
 * The ranges whose hashes make up the consistency proof from `size1` to `size2`, in proof
 * order. Requires 0 <= size1 <= size2; empty when size1 is 0 or equal to size2.
 */
export function consistencyRanges(size1: bigint, size2: bigint): Range[] {
  if (size1 < 0n || size1 > size2) throw new AuditlogError('OUT_OF_RANGE', `size ${size1} > ${size2}`);
  if (size1 === 0n || size1 === size2) return [];
  const ranges: Range[] = [];
  let lo = 0n;
  let hi = size2;
  let m = size1;
  let complete = true; // SUBPROOF's b: the subtree so far is the whole old tree
  for (;;) {
    const n = hi - lo;
    if (m === n) {
      if (!complete) ranges.push({ start: lo, end: hi });
      break;
    }
    const k = largestPowerOfTwoBelow(n);
    if (m <= k) {
      ranges.push({ start: lo + k, end: hi });
      hi = lo + k;
    } else {
      ranges.push({ start: lo, end: lo + k });
      lo = lo + k;
      m -= k;
      complete = false;
    }
  }
  return ranges.reverse();
}

/** Inclusion proof of `index` in the tree of `size`. Requires 0 <= index < size. */
export async function inclusionProof(
  index: bigint,
  size: bigint,
  subtreeHash: SubtreeHashOracle,
): Promise<Uint8Array[]> {
  return Promise.all(inclusionRanges(index, size).map((r) => subtreeHash(r.start, r.end)));
}

/** Consistency proof from `size1` to `size2`. Requires 0 <= size1 <= size2. */
export async function consistencyProof(
  size1: bigint,
  size2: bigint,
  subtreeHash: SubtreeHashOracle,
): Promise<Uint8Array[]> {
  return Promise.all(consistencyRanges(size1, size2).map((r) => subtreeHash(r.start, r.end)));
}

/** A perfect subtree: 2^level leaves starting at leaf index × 2^level. */
export interface NodeId {
  level: number;
  index: bigint;
}

/**
 * Splits [start, end) into perfect subtrees, largest first. For the ranges proofs use
 * (start aligned to a power of two at least as large as the range), MTH of the range is the
 * right fold of these nodes' hashes: h0 ⊕ (h1 ⊕ (... ⊕ hk)).
 */
export function perfectSubtrees(start: bigint, end: bigint): NodeId[] {
  const nodes: NodeId[] = [];
  let pos = start;
  while (pos < end) {
    let level = 0;
    while (((pos >> BigInt(level)) & 1n) === 0n && pos + (1n << BigInt(level + 1)) <= end) level++;
    nodes.push({ level, index: pos >> BigInt(level) });
    pos += 1n << BigInt(level);
  }
  return nodes;
}

/** Folds perfect-subtree hashes (largest first) into the hash of the range they cover. */
export function foldRight(hasher: TreeHasher, hashes: readonly Uint8Array[]): Uint8Array {
  if (hashes.length === 0) return hasher.emptyRoot;
  let acc = hashes[hashes.length - 1]!;
  for (let i = hashes.length - 2; i >= 0; i--) acc = hasher.hashChildren(hashes[i]!, acc);
  return acc;
}
