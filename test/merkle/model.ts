/**
 * A naive RFC 6962 implementation written straight from section 2.1's definitions, used only
 * to cross-check the fast code. Recursive, O(n) per call, obviously right.
 */
import { createHash } from 'node:crypto';

const sha = (...parts: Uint8Array[]) => {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return new Uint8Array(h.digest());
};

export const leafHash = (d: Uint8Array) => sha(new Uint8Array([0]), d);
const node = (l: Uint8Array, r: Uint8Array) => sha(new Uint8Array([1]), l, r);

/** Largest power of two strictly smaller than n (n > 1). */
function k(n: number): number {
  let p = 1;
  while (p * 2 < n) p *= 2;
  return p;
}

/** MTH(D[n]) over leaf hashes. */
export function mth(leaves: Uint8Array[]): Uint8Array {
  if (leaves.length === 0) return sha();
  if (leaves.length === 1) return leaves[0]!;
  const s = k(leaves.length);
  return node(mth(leaves.slice(0, s)), mth(leaves.slice(s)));
}

/** PATH(m, D[n]). */
export function path(m: number, leaves: Uint8Array[]): Uint8Array[] {
  if (leaves.length <= 1) return [];
  const s = k(leaves.length);
  if (m < s) return [...path(m, leaves.slice(0, s)), mth(leaves.slice(s))];
  return [...path(m - s, leaves.slice(s)), mth(leaves.slice(0, s))];
}

function subproof(m: number, leaves: Uint8Array[], b: boolean): Uint8Array[] {
  const n = leaves.length;
  if (m === n) return b ? [] : [mth(leaves)];
  const s = k(n);
  if (m <= s) return [...subproof(m, leaves.slice(0, s), b), mth(leaves.slice(s))];
  return [...subproof(m - s, leaves.slice(s), false), mth(leaves.slice(0, s))];
}

/** PROOF(m, D[n]) for 0 < m < n; empty otherwise. */
export function consistency(m: number, leaves: Uint8Array[]): Uint8Array[] {
  if (m === 0 || m === leaves.length) return [];
  return subproof(m, leaves, true);
}
