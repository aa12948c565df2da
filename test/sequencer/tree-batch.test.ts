import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EMPTY_ROOT, nodeCryptoHasher } from '../../src/merkle/rfc6962.js';
import { splitHashes } from '../../src/merkle/sha256x4.js';
import { proofLength, Tree } from '../../src/sequencer/tree.js';
import { LevelLogStore, type LogDB, openLogDB } from '../../src/storage/level-store.js';
import * as model from '../merkle/model.js';
import { tempLogDirs } from '../helpers/server.js';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const leafHashes = (label: string, from: number, n: number) => {
  const flat = new Uint8Array(n * 32);
  for (let i = 0; i < n; i++)
    flat.set(
      createHash('sha256')
        .update(`${label}/${from + i}`)
        .digest(),
      i * 32,
    );
  return flat;
};

const newLogDir = tempLogDirs();
let db: LogDB;
let store: LevelLogStore;
beforeAll(async () => {
  db = await openLogDB(newLogDir());
  store = new LevelLogStore(db);
});
afterAll(() => db.close());

/** Tile writes keyed by level/index (the last write of a tile wins, as in one LevelDB batch). */
function tileMap(writes: { level: number; index: bigint; hashes: Uint8Array }[], into: Map<string, string>) {
  for (const w of writes) into.set(`${w.level}/${w.index}`, hex(w.hashes));
}

/**
 * Appends the same leaves to one tree leaf by leaf and to another in batches; compares
 * everything. With `reload`, the batched tree is loaded from stored tiles after the first
 * `first` leaves (as at start-up); chunk i is appended leaf by leaf to both when `single[i]`.
 */
async function compare(
  label: string,
  first: number,
  chunks: number[],
  reload = false,
  single: boolean[] = [],
) {
  const one = await Tree.load(store, 0n, EMPTY_ROOT);
  let batched = await Tree.load(store, 0n, EMPTY_ROOT);
  const tilesOne = new Map<string, string>();
  const tilesBatched = new Map<string, string>();
  const all: Uint8Array[] = [];
  const firstLeaves = splitHashes(leafHashes(label, 0, first));
  for (const h of firstLeaves) {
    one.appendLeaf(h);
    batched.appendLeaf(h);
    all.push(h);
  }
  if (reload && first > 0) {
    const tiles = batched.takeTileWrites();
    tileMap(tiles, tilesBatched);
    const root = batched.root();
    await store.commit({
      tiles,
      bundles: [],
      chunks: [],
      dropChunks: [],
      state: { size: BigInt(first), root, note: '', timestampMs: 0n },
      sideOps: [],
    });
    batched = await Tree.load(store, BigInt(first), root);
  }
  for (const [i, n] of chunks.entries()) {
    const flat = leafHashes(label, all.length, n);
    const leaves = splitHashes(flat);
    for (const h of leaves) one.appendLeaf(h);
    if (single[i]) for (const h of leaves) batched.appendLeaf(h);
    else batched.appendLeaves(flat, leaves);
    all.push(...leaves);
    expect(batched.size).toBe(one.size);
    expect(hex(batched.root())).toBe(hex(one.root()));
    tileMap(one.takeTileWrites(), tilesOne);
    tileMap(batched.takeTileWrites(), tilesBatched);
    expect(tilesBatched).toEqual(tilesOne);
  }
  expect(hex(batched.root())).toBe(hex(all.length > 0 ? model.mth(all) : EMPTY_ROOT));
  // Every complete node the batched tree holds (including those handed to tiles as memos)
  // is the true subtree hash; `level` holds them all, computed bottom-up by node:crypto.
  let level = all;
  for (let h = 0; level.length > 0; h++) {
    const step = all.length > 5000 ? Math.max(1, Math.floor(level.length / 300)) : 1;
    for (let j = level.length - 1; j >= 0; j -= step) {
      const node = batched.nodeHashSync(h, BigInt(j));
      if (node) expect(hex(node)).toBe(hex(level[j]!));
    }
    const up: Uint8Array[] = [];
    for (let j = 0; 2 * j + 1 < level.length; j++)
      up.push(nodeCryptoHasher.hashChildren(level[2 * j]!, level[2 * j + 1]!));
    level = up;
  }
  // Receipts from both trees agree.
  const size = BigInt(all.length);
  if (all.length > 0) {
    const start = BigInt(all.length - (chunks.at(-1) ?? 0));
    const count = Number(size - start);
    // With the batch's own leaf views (as the log's receipts pass them) and without.
    const proofs = batched.inclusionProofsSync(start, count, size, all.slice(Number(start)));
    const expected = one.inclusionProofsSync(start, count, size).map((p) => p?.map(hex));
    expect(proofs.map((p) => p?.map(hex))).toEqual(expected);
    expect(batched.inclusionProofsSync(start, count, size).map((p) => p?.map(hex))).toEqual(expected);
    // ... and they are RFC 6962's PATH(m, D[n]) (the recursive model), for a sample of leaves.
    if (all.length <= 5000) {
      for (let k = 0; k < count; k += Math.max(1, Math.floor(count / 12))) {
        expect(proofs[k]?.map(hex)).toEqual(model.path(Number(start) + k, all).map(hex));
      }
    }
  }
}

/** The RFC 9162 walk, one level at a time: the proof length proofLength computes in closed form. */
function walkLength(m: number, last: number): number {
  let n = 0;
  for (let width = 1; ; width *= 2) {
    const node = Math.floor(m / width);
    if (node !== Math.floor(last / width)) n++;
    else if (node === 0) return n;
    else if (node % 2 === 1) n++;
  }
}

describe('proofLength', () => {
  it('is the length of the RFC 9162 walk, below and above 2^32, up to 2^53 (property)', () => {
    const ordered = (a: number, b: number) => (a <= b ? [a, b] : [b, a]) as [number, number];
    const small = fc.tuple(fc.nat({ max: 2 ** 32 - 1 }), fc.nat({ max: 2 ** 32 - 1 }));
    const large = fc.tuple(fc.maxSafeNat(), fc.maxSafeNat());
    fc.assert(
      fc.property(fc.oneof(small, large), ([a, b]) => {
        const [m, last] = ordered(a, b);
        return proofLength(m, last) === walkLength(m, last);
      }),
      { numRuns: 4000 },
    );
    for (const [m, last] of [
      [0, 0],
      [0, 1],
      [1, 1],
      [5, 6],
      [0, 2 ** 31],
      [2 ** 31, 2 ** 32 - 1],
      [2 ** 32 - 1, 2 ** 32],
      [2 ** 32, 2 ** 33 + 7],
      [2 ** 53 - 2, 2 ** 53 - 1],
    ] as const)
      expect(proofLength(m, last)).toBe(walkLength(m, last));
  });

  it('matches the model PATH length for every leaf of small trees', () => {
    const leaves = splitHashes(leafHashes('len', 0, 70));
    for (let n = 1; n <= 70; n++)
      for (let m = 0; m < n; m++)
        expect(proofLength(m, n - 1)).toBe(model.path(m, leaves.slice(0, n)).length);
  });
});

describe('Tree.appendLeaves (level by level, four lanes) against appendLeaf one by one', () => {
  it('gives the same roots, tiles, nodes and proofs for random starts and batch sizes', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: 700 }),
        fc.array(fc.integer({ min: 0, max: 700 }), { minLength: 1, maxLength: 5 }),
        (first, chunks) => compare(`p/${first}/${chunks.join(',')}`, first, chunks),
      ),
      { numRuns: 25 },
    );
  });

  it('from a tree reloaded from stored tiles, with batches and single appends mixed (property)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.constantFrom(1, 255, 256, 257, 511, 512, 65_535, 65_536, 65_537),
          fc.integer({ min: 1, max: 900 }),
        ),
        fc.array(fc.tuple(fc.integer({ min: 0, max: 600 }), fc.boolean()), { minLength: 1, maxLength: 4 }),
        (first, chunks) =>
          compare(
            `r/${first}/${chunks.join(',')}`,
            first,
            chunks.map((c) => c[0]),
            true,
            chunks.map((c) => c[1]),
          ),
      ),
      { numRuns: 12 },
    );
  });

  it('across tile level 2 (65536 leaves) and batches larger than one call into the module', async () => {
    await compare('big', 65_530, [3, 1, 4096, 8192 * 2 + 9]);
  });
});
