/**
 * The leaf-hash index's sorted runs (spec/storage.md, "The leaf-hash index"), driven through
 * LeafIndex with leaf hashes chosen here (so that hashes can share 8-byte prefixes) and a
 * level-0 tile reader over them, on a real LevelDB: a model-based property test, a close and a
 * kill in the middle of a merge, and indexes in older or damaged layouts.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import fc from 'fast-check';
import { Level } from 'level';
import { afterEach, describe, expect, it } from 'vitest';
import { LEAF_INDEX_LIMITS, LeafIndex } from '../../src/sequencer/leaf-index.js';
import { concatBytes } from '../../src/note/encoding.js';
import { tempLogDirs } from '../helpers/server.js';

const DEFAULTS = { ...LEAF_INDEX_LIMITS };
afterEach(() => Object.assign(LEAF_INDEX_LIMITS, DEFAULTS));

/**
 * Tiny runs, pages and merge steps, so that a few hundred leaves go through merges at every
 * level: runs of 4, 8, 16 and (top, never merged) 32 leaves, pages of 2 entries.
 */
const SMALL = {
  runSize: 4,
  fanout: 2,
  levels: 4,
  pageEntries: 2,
  mergeChunkEntries: 1,
  flushAt: 3,
  catchUpWindow: 8,
  maxPending: 1 << 20,
};

const newDir = tempLogDirs();

/** The committed leaf hashes, and the level-0 tiles over them as the store would return them. */
class Leaves {
  readonly hashes: Uint8Array[] = [];
  readonly readTile = async (t: bigint): Promise<Uint8Array | undefined> => {
    const from = Number(t) * 256;
    if (from >= this.hashes.length) return undefined;
    const part = this.hashes.slice(from, from + 256);
    const tile = new Uint8Array(part.length * 32);
    for (let i = 0; i < part.length; i++) tile.set(part[i]!, i * 32);
    return tile;
  };
  get size(): bigint {
    return BigInt(this.hashes.length);
  }
}

const samePrefix = (a: Uint8Array, b: Uint8Array) => Buffer.compare(a.subarray(0, 8), b.subarray(0, 8)) === 0;

/**
 * What lookup must answer, straight from its contract: of the (at most 16) latest indices
 * below `below` whose leaf hashes share the hash's first 8 bytes, the first whose leaf hash
 * is the hash. Without two different hashes sharing 8 bytes, that is the latest index below
 * `below` with the hash.
 */
function expected(leaves: Uint8Array[], hash: Uint8Array, below: number): bigint | undefined {
  let candidates = 0;
  for (let i = below - 1; i >= 0 && candidates < 16; i--) {
    if (!samePrefix(leaves[i]!, hash)) continue;
    if (Buffer.compare(leaves[i]!, hash) === 0) return BigInt(i);
    candidates++;
  }
  return undefined;
}

async function openDb(location: string): Promise<Level<Uint8Array, Uint8Array>> {
  const db = new Level<Uint8Array, Uint8Array>(location, { keyEncoding: 'view', valueEncoding: 'view' });
  await db.open();
  return db;
}

const u64Bytes = (v: number) => {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigUint64(0, BigInt(v));
  return b;
};
const u32 = (b: Uint8Array, off: number) => new DataView(b.buffer, b.byteOffset).getUint32(off);
const u64 = (b: Uint8Array, off = 0) => Number(new DataView(b.buffer, b.byteOffset).getBigUint64(off));

interface Layout {
  marker: number;
  merged: number[];
  /** Run start → page count, per level. */
  runs: Map<number, number>[];
  /** Whether a merge was cut off: a target run and its sources both have pages. */
  midMerge: boolean;
}

/**
 * Reads a stopped index's LevelDB as spec/storage.md describes it and checks it: pages in
 * entry order, each key naming its page's last entry, each entry in its run's range and
 * carrying its leaf's 8-byte prefix, every index below the marker exactly once.
 */
async function checkLayout(dir: string, leaves: Uint8Array[], limits = SMALL): Promise<Layout> {
  const db = await openDb(join(dir, 'leaf-index'));
  const runLength = (level: number) => limits.runSize * limits.fanout ** level;
  const out: Layout = { marker: 0, merged: [], runs: [], midMerge: false };
  for (let l = 0; l < limits.levels; l++) out.runs.push(new Map());
  const seen = new Set<number>();
  try {
    for await (const [k, v] of db.iterator()) {
      if (k[0] === 0x00) out.marker = u64(v);
      else if (k[0] === 0x04) out.merged[k[1]!] = u64(v);
      else if (k[0] === 0x03) {
        const level = k[1]!;
        const start = u64(k, 2);
        const runs = out.runs[level]!;
        runs.set(start, (runs.get(start) ?? 0) + 1);
        expect(v.length % 12).toBe(0);
        expect(v.length).toBeGreaterThan(0);
        expect(v.length).toBeLessThanOrEqual(12 * limits.pageEntries);
        let prev: [number, number, number] | undefined;
        for (let off = 0; off < v.length; off += 12) {
          const entry: [number, number, number] = [u32(v, off), u32(v, off + 4), start + u32(v, off + 8)];
          const index = entry[2];
          expect(index - start).toBeLessThan(runLength(level));
          expect(seen.has(index)).toBe(false);
          seen.add(index);
          expect(Buffer.from(v.subarray(off, off + 8))).toEqual(Buffer.from(leaves[index]!.subarray(0, 8)));
          if (prev)
            expect(
              prev[0] < entry[0] ||
                (prev[0] === entry[0] && (prev[1] < entry[1] || (prev[1] === entry[1] && prev[2] > index))),
            ).toBe(true);
          prev = entry;
        }
        expect(Buffer.from(k.subarray(10, 18))).toEqual(Buffer.from(v.subarray(v.length - 12, v.length - 4)));
        expect(2n ** 64n - 1n - new DataView(k.buffer, k.byteOffset).getBigUint64(18)).toBe(BigInt(prev![2]));
      }
    }
  } finally {
    await db.close();
  }
  expect(seen.size).toBe(out.marker);
  for (let i = 0; i < out.marker; i++) expect(seen.has(i)).toBe(true);
  for (let l = 0; l + 1 < limits.levels; l++) {
    const group = out.merged[l] ?? 0;
    const targetHasPages = out.runs[l + 1]!.has(group);
    const sourcesHavePages = [...out.runs[l]!.keys()].some((s) => s >= group && s < group + runLength(l + 1));
    if (targetHasPages && sourcesHavePages) out.midMerge = true;
  }
  return out;
}

/** A 32-byte hash: `prefix` picks the first 8 bytes, `rest` the others. */
function hashOf(prefix: number, rest: number): Uint8Array {
  const h = new Uint8Array(32);
  h.set(createHash('sha256').update(`prefix ${prefix}`).digest().subarray(0, 8), 0);
  h.set(createHash('sha256').update(`rest ${rest}`).digest().subarray(0, 24), 8);
  return h;
}

type Op =
  | { op: 'append'; hashes: [number, number][] }
  | { op: 'lookup'; hash: [number, number]; below: number }
  | { op: 'restart' }
  | { op: 'rebuild' };

// Few prefixes and few rests: duplicates, and different hashes sharing 8-byte prefixes.
const hashId = fc.tuple(fc.integer({ min: 0, max: 7 }), fc.integer({ min: 0, max: 3 }));
const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({
      op: fc.constant('append' as const),
      hashes: fc.array(hashId, { minLength: 1, maxLength: 40 }),
    }),
  },
  {
    weight: 6,
    arbitrary: fc.record({
      op: fc.constant('lookup' as const),
      hash: hashId,
      below: fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
    }),
  },
  { weight: 1, arbitrary: fc.constant({ op: 'restart' as const }) },
  { weight: 1, arbitrary: fc.constant({ op: 'rebuild' as const }) },
);

/** Appends n hashes drawn from a few prefixes and rests, pausing (a lookup) now and then so that merges interleave. */
async function appendHashes(idx: LeafIndex, leaves: Leaves, n: number): Promise<void> {
  for (let done = 0; done < n; ) {
    const k = Math.min(n - done, 7);
    const start = leaves.size;
    const hs = Array.from({ length: k }, (_, j) =>
      hashOf((leaves.hashes.length + j) % 11, (leaves.hashes.length + j) % 3),
    );
    leaves.hashes.push(...hs);
    idx.add(start, concatBytes(...hs));
    done += k;
    if (done % 35 === 0) await idx.lookup(hs[0]!, leaves.size);
  }
}

/** Every distinct hash appended, looked up at the full size and at a few smaller ones. */
async function expectAll(idx: LeafIndex, leaves: Leaves): Promise<void> {
  const distinct = new Map(leaves.hashes.map((h) => [Buffer.from(h).toString('hex'), h]));
  const n = leaves.hashes.length;
  for (const below of [n, n - 1, Math.floor(n / 2), Math.floor(n / 3) + 1]) {
    for (const h of distinct.values())
      expect(await idx.lookup(h, BigInt(below))).toBe(expected(leaves.hashes, h, below));
  }
}

/** Leaf i of the killed process (its hashes are a function of the index, so both sides agree). */
function killedLeaf(i: number): Uint8Array {
  return hashOf(i % 50, i % 7);
}

const DIST = resolve(import.meta.dirname, '../../dist/src/sequencer/leaf-index.js');

/**
 * Runs a process that indexes killedLeaf(0), killedLeaf(1), … through LeafIndex with `limits`,
 * and kills it (SIGKILL) once it has handed over at least `after` leaves.
 */
async function killWhileIndexing(dir: string, limits: object, after: number): Promise<void> {
  const code = `
    import { createHash } from 'node:crypto';
    const { LEAF_INDEX_LIMITS, LeafIndex } = await import(${JSON.stringify(DIST)});
    Object.assign(LEAF_INDEX_LIMITS, ${JSON.stringify(limits)});
    const part = (s, n) => createHash('sha256').update(s).digest().subarray(0, n);
    const leaf = (i) => { const h = new Uint8Array(32); h.set(part('prefix ' + (i % 50), 8)); h.set(part('rest ' + (i % 7), 24), 8); return h; };
    const idx = new LeafIndex(${JSON.stringify(dir)}, async () => undefined);
    await idx.start(0n);
    for (let n = 0; ; n += 13) {
      const hs = Array.from({ length: 13 }, (_, k) => leaf(n + k));
      const packed = new Uint8Array(13 * 32);
      hs.forEach((h, k) => packed.set(h, 32 * k));
      idx.add(BigInt(n), packed);
      await idx.lookup(hs[0], BigInt(n + 13));
      process.stdout.write(n + 13 + '\\n');
    }`;
  const script = join(dirname(dir), 'indexer.mjs'); // removed with the test's directories
  writeFileSync(script, code);
  const proc: ChildProcess = spawn(process.execPath, [script], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  // Killed in any case within 20 s, so that no indexer outlives a failing test.
  const timer = setTimeout(() => proc.kill('SIGKILL'), 20_000);
  await new Promise<void>((res, rej) => {
    let out = '';
    proc.stdout!.on('data', (d) => {
      out += d;
      const lines = out.trim().split('\n');
      if (Number(lines[lines.length - 1]) >= after) {
        proc.kill('SIGKILL');
      }
    });
    proc.on('exit', (_code, signal) =>
      signal === 'SIGKILL' ? res() : rej(new Error(`indexer exited: ${_code}`)),
    );
  }).finally(() => clearTimeout(timer));
}

/** The marker of a stopped index. */
async function readMarker(dir: string): Promise<{ marker: number }> {
  const db = await openDb(join(dir, 'leaf-index'));
  try {
    const v = await db.get(new Uint8Array([0x00]));
    return { marker: v ? u64(v) : 0 };
  } finally {
    await db.close();
  }
}

describe('leaf-hash index runs', () => {
  it('answers as the model does through appends, lookups at random sizes, restarts and rebuilds from tiles (property)', async () => {
    Object.assign(LEAF_INDEX_LIMITS, SMALL);
    const levelsMerged = new Set<number>();
    const noteLevels = (layout: Layout) =>
      layout.runs.forEach((runs, l) => {
        if (l > 0 && runs.size > 0) levelsMerged.add(l);
      });
    await fc.assert(
      fc.asyncProperty(fc.array(opArb, { minLength: 5, maxLength: 40 }), async (ops) => {
        const dir = newDir();
        const leaves = new Leaves();
        let idx = new LeafIndex(dir, leaves.readTile);
        await idx.start(0n);
        try {
          for (const o of ops) {
            if (o.op === 'append') {
              const start = leaves.size;
              const hs = o.hashes.map(([p, r]) => hashOf(p, r));
              leaves.hashes.push(...hs);
              idx.add(start, concatBytes(...hs));
            } else if (o.op === 'lookup') {
              const below = Math.floor(o.below * (leaves.hashes.length + 1));
              const hash = hashOf(...o.hash);
              expect(await idx.lookup(hash, BigInt(below))).toBe(expected(leaves.hashes, hash, below));
            } else {
              await idx.stop();
              if (o.op === 'rebuild') rmSync(join(dir, 'leaf-index'), { recursive: true, force: true });
              else noteLevels(await checkLayout(dir, leaves.hashes));
              idx = new LeafIndex(dir, leaves.readTile);
              await idx.start(leaves.size);
            }
          }
          // Every hash appended, at the full size.
          for (let p = 0; p < 8; p++)
            for (let r = 0; r < 4; r++) {
              const hash = hashOf(p, r);
              expect(await idx.lookup(hash, leaves.size)).toBe(
                expected(leaves.hashes, hash, leaves.hashes.length),
              );
            }
        } finally {
          await idx.stop();
        }
        noteLevels(await checkLayout(dir, leaves.hashes));
      }),
      { numRuns: 25 },
    );
    // Runs were merged into every level above 0 (the top one included).
    expect([...levelsMerged].sort()).toEqual([1, 2, 3]);
  }, 120_000);

  it('a close in the middle of a merge leaves an index that the next start-up completes', async () => {
    // Runs of 4, 16 and 64 leaves (top); a merge into level 2 takes several steps.
    const limits = { ...SMALL, fanout: 4, levels: 3 };
    Object.assign(LEAF_INDEX_LIMITS, limits);
    let cutOff = false;
    for (let attempt = 0; attempt < 20 && !cutOff; attempt++) {
      const dir = newDir();
      const leaves = new Leaves();
      let idx = new LeafIndex(dir, leaves.readTile);
      await idx.start(0n);
      await appendHashes(idx, leaves, 64 * 3 + 5 * attempt);
      await idx.stop(); // merge steps still queued are left undone
      const layout = await checkLayout(dir, leaves.hashes, limits);
      cutOff ||= layout.midMerge;
      // The next start-up goes on: every lookup answers as before, more appends merge on.
      idx = new LeafIndex(dir, leaves.readTile);
      await idx.start(leaves.size);
      await expectAll(idx, leaves);
      await appendHashes(idx, leaves, 200);
      await expectAll(idx, leaves);
      await idx.stop();
      const after = await checkLayout(dir, leaves.hashes, limits);
      expect(after.marker).toBeGreaterThan(layout.marker);
    }
    expect(cutOff).toBe(true);
  });

  it('a killed process in the middle of a merge leaves an index that the next start-up completes', async () => {
    const limits = { ...SMALL, fanout: 4, levels: 3 };
    Object.assign(LEAF_INDEX_LIMITS, limits);
    let cutOff = false;
    for (let attempt = 0; attempt < 10 && !cutOff; attempt++) {
      const dir = newDir();
      await killWhileIndexing(dir, limits, 300 + 97 * attempt);
      // Whatever it wrote last is there whole: each batch is atomic.
      const { marker } = await readMarker(dir);
      const leaves = new Leaves();
      for (let i = 0; i < marker + 30; i++) leaves.hashes.push(killedLeaf(i));
      const layout = await checkLayout(dir, leaves.hashes, limits);
      cutOff ||= layout.midMerge;
      const idx = new LeafIndex(dir, leaves.readTile);
      await idx.start(leaves.size); // catches up the 30 leaves and the run lost with the process
      await expectAll(idx, leaves);
      await appendHashes(idx, leaves, 100);
      await expectAll(idx, leaves);
      await idx.stop();
      await checkLayout(dir, leaves.hashes, limits);
    }
    expect(cutOff).toBe(true);
  });

  it('finds the latest copy below any size of a hash appended many times, past the candidate limit', async () => {
    Object.assign(LEAF_INDEX_LIMITS, SMALL);
    const dir = newDir();
    const leaves = new Leaves();
    const idx = new LeafIndex(dir, leaves.readTile);
    await idx.start(0n);
    const same = hashOf(100, 100);
    const other = hashOf(100, 101); // the same 8-byte prefix
    for (let i = 0; i < 600; i++) {
      const h = i % 50 === 49 ? other : same;
      leaves.hashes.push(h);
      idx.add(BigInt(i), h);
    }
    try {
      for (const below of [600, 599, 550, 551, 400, 123, 50, 49, 1, 0]) {
        expect(await idx.lookup(same, BigInt(below))).toBe(expected(leaves.hashes, same, below));
        expect(await idx.lookup(other, BigInt(below))).toBe(expected(leaves.hashes, other, below));
      }
      // The documented limit: 16 later entries sharing the 8-byte prefix hide an older one.
      expect(expected(leaves.hashes, other, 599)).toBeUndefined();
      expect(await idx.lookup(other, 599n)).toBeUndefined();
    } finally {
      await idx.stop();
    }
    await checkLayout(dir, leaves.hashes);
  });
});

describe('leaf-hash index in an older or damaged layout', () => {
  /** A stopped index over n hashes (with shared prefixes), in the small layout. */
  async function built(n: number): Promise<{ dir: string; leaves: Leaves }> {
    const dir = newDir();
    const leaves = new Leaves();
    const idx = new LeafIndex(dir, leaves.readTile);
    await idx.start(0n);
    await appendHashes(idx, leaves, n);
    await idx.stop();
    return { dir, leaves };
  }

  /** Opens the index at the leaves' size, checks every lookup, stops, and checks the layout. */
  async function reopenAndCheck(dir: string, leaves: Leaves, limits = SMALL): Promise<Layout> {
    const idx = new LeafIndex(dir, leaves.readTile);
    await idx.start(leaves.size);
    try {
      await expectAll(idx, leaves);
    } finally {
      await idx.stop();
    }
    return checkLayout(dir, leaves.hashes, limits);
  }

  it('clears an index in layout 2 (one key per leaf) and rebuilds it from the tiles', async () => {
    Object.assign(LEAF_INDEX_LIMITS, SMALL);
    const dir = newDir();
    const leaves = new Leaves();
    for (let i = 0; i < 300; i++) leaves.hashes.push(hashOf(i % 11, i % 3));
    // Layout 2: 0x02 → [2], 0x00 → marker, 0x01 ‖ hash[0:8] ‖ index (u64 BE) → empty.
    const db = await openDb(join(dir, 'leaf-index'));
    await db.put(new Uint8Array([0x02]), new Uint8Array([2]));
    await db.put(new Uint8Array([0x00]), u64Bytes(300));
    for (let i = 0; i < 300; i++)
      await db.put(
        new Uint8Array([0x01, ...leaves.hashes[i]!.subarray(0, 8), ...u64Bytes(i)]),
        new Uint8Array(0),
      );
    await db.close();
    const layout = await reopenAndCheck(dir, leaves);
    expect(layout.marker).toBe(300);
    const after = await openDb(join(dir, 'leaf-index'));
    try {
      expect(await after.keys({ gte: new Uint8Array([0x01]), lt: new Uint8Array([0x02]) }).all()).toEqual([]);
      expect((await after.get(new Uint8Array([0x02])))![0]).toBe(3);
    } finally {
      await after.close();
    }
  });

  it('clears an index whose marker or merge pointers cannot be right, or in other layout parameters', async () => {
    Object.assign(LEAF_INDEX_LIMITS, SMALL);
    const damages: [string, (db: Level<Uint8Array, Uint8Array>) => Promise<void>][] = [
      ['a marker inside a run', (db) => db.put(new Uint8Array([0x00]), u64Bytes(298))],
      ['a marker of 7 bytes', (db) => db.put(new Uint8Array([0x00]), new Uint8Array(7))],
      ['a merge pointer past the marker', (db) => db.put(new Uint8Array([0x04, 0]), u64Bytes(1 << 20))],
      ['a merge pointer inside a run', (db) => db.put(new Uint8Array([0x04, 1]), u64Bytes(8))],
      ['no layout key', (db) => db.del(new Uint8Array([0x02]))],
    ];
    for (const [what, damage] of damages) {
      const { dir, leaves } = await built(300);
      const db = await openDb(join(dir, 'leaf-index'));
      await damage(db);
      await db.close();
      const layout = await reopenAndCheck(dir, leaves);
      expect(layout.marker, what).toBe(300);
    }
    // Other parameters: the runs on disk mean nothing in them; rebuilt in the new ones.
    const { dir, leaves } = await built(300);
    const other = { ...SMALL, runSize: 8, fanout: 3 };
    Object.assign(LEAF_INDEX_LIMITS, other);
    const layout = await reopenAndCheck(dir, leaves, other);
    expect(layout.marker).toBe(296);
  });
});
