import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { resolve } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { nodeCryptoHasher } from '../../src/merkle/rfc6962.js';
import {
  hashLeaves,
  hashNodePairs,
  lanesAvailable,
  MAX_LANE_BLOCKS,
  splitHashes,
} from '../../src/merkle/sha256x4.js';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const hexes = (flat: Uint8Array) => splitHashes(flat).map(hex);
/** Deterministic bytes: SHA-256 counter mode over a label. */
function bytes(label: string, n: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i * 32 < n; i++) {
    const block = createHash('sha256').update(`${label}/${i}`).digest();
    out.set(block.subarray(0, Math.min(32, n - i * 32)), i * 32);
  }
  return out;
}

describe('four-lane SHA-256 (WebAssembly SIMD)', () => {
  it('is in use on this Node (the fallback is not what the benchmarks measure)', () => {
    expect(lanesAvailable).toBe(true);
  });

  it('hashes leaves of every length like node:crypto, lengths mixed in one batch', () => {
    const lane = MAX_LANE_BLOCKS * 64;
    fc.assert(
      fc.property(
        fc.array(
          fc.oneof(
            fc.integer({ min: 0, max: 200 }),
            // around every padding boundary (55/56 bytes of message per block) and the lane limit
            fc.integer({ min: 0, max: 40 }).map((k) => 54 + 64 * k + (k % 4)),
            fc.integer({ min: lane - 12, max: lane + 12 }),
            fc.integer({ min: 3000, max: 9000 }),
          ),
          { minLength: 0, maxLength: 40 },
        ),
        fc.string(),
        (lengths, label) => {
          const entries = lengths.map((n, i) => bytes(`${label}/${i}`, n));
          expect(hexes(hashLeaves(entries))).toEqual(entries.map((e) => hex(nodeCryptoHasher.hashLeaf(e))));
        },
      ),
      { numRuns: 150 },
    );
  });

  it('hashes batches larger than one call into the module (8192 leaves) in order', () => {
    const entries = Array.from({ length: 8192 * 2 + 7 }, (_, i) => bytes(`big/${i}`, 1 + (i % 130)));
    const got = hexes(hashLeaves(entries));
    expect(got.length).toBe(entries.length);
    for (let i = 0; i < entries.length; i += 97)
      expect(got[i]).toBe(hex(nodeCryptoHasher.hashLeaf(entries[i]!)));
    expect(got.at(-1)).toBe(hex(nodeCryptoHasher.hashLeaf(entries.at(-1)!)));
  });

  it('hashes interior nodes over consecutive pairs like node:crypto, for every count', () => {
    for (const count of [0, 1, 2, 3, 4, 5, 7, 8, 9, 63, 64, 65, 8191, 8192, 8193, 8192 * 2 + 5]) {
      const children = bytes(`nodes/${count}`, count * 64);
      const got = hexes(hashNodePairs(children, count));
      expect(got.length).toBe(count);
      for (let j = 0; j < count; j += count > 100 ? 37 : 1) {
        const want = nodeCryptoHasher.hashChildren(
          children.subarray(64 * j, 64 * j + 32),
          children.subarray(64 * j + 32, 64 * j + 64),
        );
        expect(got[j]).toBe(hex(want));
      }
      if (count > 0) {
        const j = count - 1;
        const want = nodeCryptoHasher.hashChildren(
          children.subarray(64 * j, 64 * j + 32),
          children.subarray(64 * j + 32, 64 * j + 64),
        );
        expect(got[j]).toBe(hex(want));
      }
    }
  });

  it('hands out fresh buffers that later calls do not overwrite', () => {
    const a = hashLeaves([Uint8Array.of(1), Uint8Array.of(2)]);
    const want = hexes(a);
    hashLeaves(Array.from({ length: 300 }, (_, i) => Uint8Array.of(i & 0xff)));
    hashNodePairs(bytes('x', 64 * 300), 300);
    expect(hexes(a)).toEqual(want);
    expect(want[0]).toBe(hex(nodeCryptoHasher.hashLeaf(Uint8Array.of(1))));
  });

  it('falls back to one hash at a time, with the same results, where WebAssembly SIMD is missing', () => {
    // V8 validates SIMD modules only with SSE4.1; without it the module does not instantiate.
    if (process.arch !== 'x64') return;
    const dist = resolve(import.meta.dirname, '../../dist/src/merkle/sha256x4.js');
    const script = `
      import { createHash } from 'node:crypto';
      const m = await import(${JSON.stringify(dist)});
      const sha = (b) => createHash('sha256').update(b).digest('hex');
      const entries = [0, 1, 55, 56, 128, 2039, 3000].map((n) => new Uint8Array(n).fill(n & 0xff));
      const leaves = m.splitHashes(m.hashLeaves(entries)).map((h) => Buffer.from(h).toString('hex'));
      const want = entries.map((e) => sha(Buffer.concat([Buffer.from([0]), e])));
      const pairs = new Uint8Array(64 * 5).map((_, i) => i);
      const nodes = m.splitHashes(m.hashNodePairs(pairs, 5)).map((h) => Buffer.from(h).toString('hex'));
      const wantNodes = [0, 1, 2, 3, 4].map((j) => sha(Buffer.concat([Buffer.from([1]), pairs.subarray(64 * j, 64 * j + 64)])));
      console.log(JSON.stringify({ lanes: m.lanesAvailable, ok: JSON.stringify(leaves) === JSON.stringify(want) && JSON.stringify(nodes) === JSON.stringify(wantNodes) }));
    `;
    const out = execFileSync(process.execPath, ['--no-enable-sse4-1', '--input-type=module', '-e', script], {
      encoding: 'utf8',
    });
    expect(JSON.parse(out)).toEqual({ lanes: false, ok: true });
  });

  it('refuses a pair count its input does not hold', () => {
    expect(() => hashNodePairs(new Uint8Array(64 * 3 - 1), 3)).toThrow(/bytes for 3 pairs/);
  });

  it('the committed module is what tools/sha256x4/generate.mjs builds', () => {
    const script = resolve(import.meta.dirname, '../../tools/sha256x4/generate.mjs');
    expect(() => execFileSync(process.execPath, [script, '--check'], { stdio: 'pipe' })).not.toThrow();
  });
});
