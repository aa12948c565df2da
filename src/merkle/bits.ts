/**
 * Bit helpers on bigint. Tree sizes and indexes are attacker-controlled uint64 values, and
 * JavaScript's number bit operators are 32-bit, so every tree coordinate is a bigint.
 */

/** Largest uint64 value; sizes and indexes above it are rejected by parsers. */
export const MAX_UINT64 = (1n << 64n) - 1n;

/** Number of bits needed to represent x (0 for 0). Requires x >= 0. */
export function bitLength(x: bigint): number {
  if (x < 0x1_0000_0000n) return 32 - Math.clz32(Number(x));
  if (x <= MAX_UINT64) {
    const hi = Number(x >> 32n);
    return 64 - Math.clz32(hi);
  }
  return x.toString(2).length;
}

/** Number of set bits. Requires x >= 0. */
export function onesCount(x: bigint): number {
  let n = 0;
  for (let v = x; v > 0n; v >>= 1n) if (v & 1n) n++;
  return n;
}

/** Number of trailing zero bits. Requires x > 0. */
export function trailingZeros(x: bigint): number {
  let n = 0;
  for (let v = x; (v & 1n) === 0n; v >>= 1n) n++;
  return n;
}

/** Largest power of two strictly less than n. Requires n > 1. */
export function largestPowerOfTwoBelow(n: bigint): bigint {
  return 1n << BigInt(bitLength(n - 1n) - 1);
}
