import { randomFillSync } from 'node:crypto';

const POOL_SIZE = 8192;
let pool = new Uint8Array(0);
let offset = 0;

/**
 * `n` bytes from the OS CSPRNG, drawn from a pool filled 8 KiB at a time (one system call for
 * many salts, nonces and ids). Each call gets its own bytes; a used pool is never refilled in
 * place, so returned arrays are never overwritten. Requires 0 < n <= 8192.
 */
export function randomBytes(n: number): Uint8Array {
  if (offset + n > pool.length) {
    pool = randomFillSync(new Uint8Array(Math.max(POOL_SIZE, n)));
    offset = 0;
  }
  const out = pool.subarray(offset, offset + n);
  offset += n;
  return out;
}
