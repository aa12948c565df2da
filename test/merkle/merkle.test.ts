import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AuditlogError } from '../../src/errors.js';
import { consistencyRanges, foldRight, inclusionRanges, perfectSubtrees } from '../../src/merkle/proof.js';
import { nodeCryptoHasher, nodeHasher, SODIUM_MAX_INPUT } from '../../src/merkle/rfc6962.js';
import { portableHasher } from '../../src/merkle/portable.js';
import { rootFromInclusionProof, verifyConsistency, verifyInclusion } from '../../src/merkle/verify.js';
import { treeRootFromLeafHashes } from '../../src/merkle/tiles.js';
import * as model from './model.js';
import { EMPTY_ROOT_HEX, RFC6962_LEAVES, RFC6962_ROOTS } from './vectors.js';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const leavesOf = (n: number) =>
  Array.from({ length: n }, (_, i) => model.leafHash(new TextEncoder().encode(`leaf ${i}`)));

/** Proofs computed by the fast code from an in-memory oracle (MTH of a range via the model). */
function fastInclusion(index: number, leaves: Uint8Array[]): Uint8Array[] {
  return inclusionRanges(BigInt(index), BigInt(leaves.length)).map((r) =>
    model.mth(leaves.slice(Number(r.start), Number(r.end))),
  );
}
function fastConsistency(m: number, leaves: Uint8Array[]): Uint8Array[] {
  return consistencyRanges(BigInt(m), BigInt(leaves.length)).map((r) =>
    model.mth(leaves.slice(Number(r.start), Number(r.end))),
  );
}

function expectCode(f: () => unknown, code: string) {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(AuditlogError);
    expect((e as AuditlogError).code).toBe(code);
    return;
  }
  throw new Error(`expected ${code}, nothing thrown`);
}

describe('the hot-path hasher (libsodium below SODIUM_MAX_INPUT, node:crypto above)', () => {
  it('equals node:crypto and @noble/hashes on leaves of every length around the switch, and on nodes', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.uint8Array({ minLength: 0, maxLength: 2 * SODIUM_MAX_INPUT }),
          fc.uint8Array({ minLength: SODIUM_MAX_INPUT - 3, maxLength: SODIUM_MAX_INPUT + 3 }),
          fc.uint8Array({ minLength: 65_000, maxLength: 66_000 }),
        ),
        fc.uint8Array({ minLength: 32, maxLength: 32 }),
        fc.uint8Array({ minLength: 32, maxLength: 32 }),
        (entry, left, right) => {
          const leaf = hex(nodeHasher.hashLeaf(entry));
          expect(leaf).toBe(hex(nodeCryptoHasher.hashLeaf(entry)));
          expect(leaf).toBe(hex(portableHasher.hashLeaf(entry)));
          const node = hex(nodeHasher.hashChildren(left, right));
          expect(node).toBe(hex(nodeCryptoHasher.hashChildren(left, right)));
          expect(node).toBe(hex(portableHasher.hashChildren(left, right)));
        },
      ),
      { numRuns: 300 },
    );
  });
  it('hands out hashes that never share bytes and never change (slab outputs, scratch inputs)', () => {
    const a = nodeHasher.hashLeaf(Uint8Array.of(1));
    const b = nodeHasher.hashLeaf(Uint8Array.of(2));
    const c = nodeHasher.hashChildren(a, b);
    const want = [a, b, c].map(hex);
    // Past several slab boundaries: later hashes must not overwrite earlier ones.
    const later = Array.from({ length: 1000 }, (_, i) =>
      nodeHasher.hashLeaf(Uint8Array.of(i & 0xff, i >> 8)),
    );
    expect([a, b, c].map(hex)).toEqual(want);
    expect(want[0]).toBe(hex(portableHasher.hashLeaf(Uint8Array.of(1))));
    expect(want[1]).toBe(hex(portableHasher.hashLeaf(Uint8Array.of(2))));
    expect(want[2]).toBe(hex(portableHasher.hashChildren(a, b)));
    for (const [i, h] of later.entries())
      expect(hex(h)).toBe(hex(portableHasher.hashLeaf(Uint8Array.of(i & 0xff, i >> 8))));
    const all = [a, b, c, ...later];
    const spans = new Map<ArrayBufferLike, number[]>();
    for (const h of all) {
      expect(h.length).toBe(32);
      const list = spans.get(h.buffer) ?? [];
      list.push(h.byteOffset);
      spans.set(h.buffer, list);
    }
    for (const offsets of spans.values()) expect(new Set(offsets).size).toBe(offsets.length);
  });
});

describe('RFC 6962 known answers', () => {
  it('empty root', () => {
    expect(hex(nodeHasher.emptyRoot)).toBe(EMPTY_ROOT_HEX);
    expect(hex(portableHasher.emptyRoot)).toBe(EMPTY_ROOT_HEX);
  });
  it('roots for sizes 1..8 from both hashers and the model', () => {
    const hashes = RFC6962_LEAVES.map((l) => nodeHasher.hashLeaf(l));
    for (let n = 1; n <= 8; n++) {
      expect(hex(treeRootFromLeafHashes(nodeHasher, hashes.slice(0, n)))).toBe(RFC6962_ROOTS[n - 1]);
      expect(hex(treeRootFromLeafHashes(portableHasher, hashes.slice(0, n)))).toBe(RFC6962_ROOTS[n - 1]);
      expect(hex(model.mth(hashes.slice(0, n)))).toBe(RFC6962_ROOTS[n - 1]);
    }
  });
  it('every inclusion and consistency proof among the 8 vector leaves verifies', () => {
    const hashes = RFC6962_LEAVES.map((l) => nodeHasher.hashLeaf(l));
    const roots = RFC6962_ROOTS.map((r) => new Uint8Array(Buffer.from(r, 'hex')));
    for (let n = 1; n <= 8; n++) {
      for (let i = 0; i < n; i++) {
        verifyInclusion(
          BigInt(i),
          BigInt(n),
          hashes[i]!,
          fastInclusion(i, hashes.slice(0, n)),
          roots[n - 1]!,
        );
      }
      for (let m = 1; m <= n; m++) {
        verifyConsistency(
          BigInt(m),
          BigInt(n),
          fastConsistency(m, hashes.slice(0, n)),
          roots[m - 1]!,
          roots[n - 1]!,
        );
      }
    }
  });
});

describe('proofs against the naive model (property tests)', () => {
  it('inclusion proofs equal PATH(m, D[n]) and verify', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 300 }), fc.nat(), (n, seed) => {
        const leaves = leavesOf(n);
        const m = seed % n;
        const proof = fastInclusion(m, leaves);
        expect(proof.map(hex)).toEqual(model.path(m, leaves).map(hex));
        verifyInclusion(BigInt(m), BigInt(n), leaves[m]!, proof, model.mth(leaves));
      }),
      { numRuns: 200 },
    );
  });
  it('consistency proofs equal PROOF(m, D[n]) and verify', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 300 }), fc.nat(), (n, seed) => {
        const leaves = leavesOf(n);
        const m = (seed % n) + 1;
        const proof = fastConsistency(m, leaves);
        expect(proof.map(hex)).toEqual(model.consistency(m, leaves).map(hex));
        verifyConsistency(BigInt(m), BigInt(n), proof, model.mth(leaves.slice(0, m)), model.mth(leaves));
      }),
      { numRuns: 200 },
    );
  });
  it('perfect-subtree folding equals MTH for every aligned range', () => {
    const leaves = leavesOf(64);
    for (let n = 1; n <= 64; n++) {
      const nodes = perfectSubtrees(0n, BigInt(n));
      const hashes = nodes.map((x) =>
        model.mth(
          leaves.slice(Number(x.index << BigInt(x.level)), Number((x.index + 1n) << BigInt(x.level))),
        ),
      );
      expect(hex(foldRight(nodeHasher, hashes))).toBe(hex(model.mth(leaves.slice(0, n))));
    }
  });
  it('the shapes are right far past 2^32 and 2^53', () => {
    const size = (1n << 60n) + 12345n;
    for (const index of [0n, 1n, (1n << 40n) + 7n, size - 1n]) {
      const ranges = inclusionRanges(index, size);
      for (const r of ranges) expect(r.end > r.start).toBe(true);
      const leaf = new Uint8Array(32);
      // A proof of the right length rebuilds some root; one node more or less is refused.
      const proof = ranges.map(() => new Uint8Array(32));
      rootFromInclusionProof(index, size, leaf, proof);
      expectCode(() => rootFromInclusionProof(index, size, leaf, proof.slice(1)), 'BAD_PROOF');
    }
    expect(consistencyRanges(1n << 40n, size).length).toBeGreaterThan(0);
  });
});

describe('verifiers reject every mutation', () => {
  const leaves = leavesOf(13);
  const root = model.mth(leaves);
  const idx = 5;
  const proof = fastInclusion(idx, leaves);
  it('accepts the good proof', () => verifyInclusion(BigInt(idx), 13n, leaves[idx]!, proof, root));
  const cases: [string, () => void, string][] = [
    ['index == size', () => verifyInclusion(13n, 13n, leaves[idx]!, proof, root), 'BAD_PROOF'],
    ['index > size', () => verifyInclusion(20n, 13n, leaves[idx]!, proof, root), 'BAD_PROOF'],
    ['wrong index', () => verifyInclusion(4n, 13n, leaves[idx]!, proof, root), 'ROOT_MISMATCH'],
    [
      'wrong size (another proof shape)',
      () => verifyInclusion(5n, 6n, leaves[idx]!, proof, root),
      'BAD_PROOF',
    ],
    [
      'trailing-garbage',
      () => verifyInclusion(5n, 13n, leaves[idx]!, [...proof, new Uint8Array(32)], root),
      'BAD_PROOF',
    ],
    ['truncated', () => verifyInclusion(5n, 13n, leaves[idx]!, proof.slice(0, -1), root), 'BAD_PROOF'],
    [
      'short-node',
      () => verifyInclusion(5n, 13n, leaves[idx]!, [proof[0]!.slice(1), ...proof.slice(1)], root),
      'BAD_PROOF',
    ],
    ['wrong-leaf', () => verifyInclusion(5n, 13n, leaves[6]!, proof, root), 'ROOT_MISMATCH'],
    ['empty-tree', () => verifyInclusion(0n, 0n, leaves[0]!, [], root), 'BAD_PROOF'],
  ];
  for (const [name, f, code] of cases) it(name, () => expectCode(f, code));

  it('modified-proof[i]-bit-@j: every bit flip of every node, the leaf and the root is rejected', () => {
    for (let p = 0; p < proof.length; p++) {
      for (let bit = 0; bit < 256; bit++) {
        const bad = proof.map((x) => x.slice());
        bad[p]![bit >> 3]! ^= 1 << (bit & 7);
        expectCode(() => verifyInclusion(BigInt(idx), 13n, leaves[idx]!, bad, root), 'ROOT_MISMATCH');
      }
    }
    for (let bit = 0; bit < 256; bit++) {
      const badRoot = root.slice();
      badRoot[bit >> 3]! ^= 1 << (bit & 7);
      expectCode(() => verifyInclusion(BigInt(idx), 13n, leaves[idx]!, proof, badRoot), 'ROOT_MISMATCH');
    }
  });

  it('consistency: mutations, wrong sizes and trailing garbage are rejected', () => {
    const all = leavesOf(21);
    for (const m of [1, 3, 4, 8, 13, 20]) {
      const r1 = model.mth(all.slice(0, m));
      const r2 = model.mth(all);
      const cp = fastConsistency(m, all);
      verifyConsistency(BigInt(m), 21n, cp, r1, r2);
      expectCode(() => verifyConsistency(BigInt(m), 21n, [...cp, new Uint8Array(32)], r1, r2), 'BAD_PROOF');
      if (cp.length > 1)
        expectCode(() => verifyConsistency(BigInt(m), 21n, cp.slice(0, -1), r1, r2), 'BAD_PROOF');
      expectCode(() => verifyConsistency(21n, BigInt(m), cp, r2, r1), 'BAD_PROOF');
      expectCode(() => verifyConsistency(BigInt(m), 21n, cp, r2, r2), 'ROOT_MISMATCH');
      for (let p = 0; p < cp.length; p++) {
        for (let bit = 0; bit < 256; bit += 7) {
          const bad = cp.map((x) => x.slice());
          bad[p]![bit >> 3]! ^= 1 << (bit & 7);
          expectCode(() => verifyConsistency(BigInt(m), 21n, bad, r1, r2), 'ROOT_MISMATCH');
        }
      }
    }
    expectCode(
      () =>
        verifyConsistency(
          5n,
          5n,
          [new Uint8Array(32)],
          model.mth(all.slice(0, 5)),
          model.mth(all.slice(0, 5)),
        ),
      'BAD_PROOF',
    );
    expectCode(
      () => verifyConsistency(5n, 5n, [], model.mth(all.slice(0, 5)), model.mth(all.slice(0, 6))),
      'ROOT_MISMATCH',
    );
    verifyConsistency(0n, 21n, [], nodeHasher.emptyRoot, model.mth(all));
  });
});
