import { join } from 'node:path';
import fc from 'fast-check';
import type { Level } from 'level';
import { describe, expect, it } from 'vitest';
import { AuditlogError } from '../../src/errors.js';
import { formatTilePath, splitTile, TILE_WIDTH } from '../../src/merkle/tiles.js';
import { verifyConsistency, verifyInclusion } from '../../src/merkle/verify.js';
import { openCheckpoint } from '../../src/note/checkpoint.js';
import { parseVerifierKey } from '../../src/note/keys.js';
import { withLatency } from '../../src/note/signer.js';
import { LEAF_INDEX_LIMITS } from '../../src/sequencer/leaf-index.js';
import { batchLength, Log } from '../../src/sequencer/log.js';
import type { Receipt } from '../../src/sequencer/receipt.js';
import type { LogState, LogStore } from '../../src/storage/store.js';
import { faultyStore } from '../helpers/faulty-store.js';
import { tempLogDirs } from '../helpers/server.js';
import * as model from '../merkle/model.js';

const newDir = tempLogDirs();
const entry = (i: number) => new TextEncoder().encode(`entry number ${i}`);
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

function checkReceipt(r: Receipt, vkey: string) {
  const { checkpoint } = openCheckpoint(r.checkpoint, parseVerifierKey(vkey));
  expect(checkpoint.size).toBe(r.tree_size);
  verifyInclusion(r.index, r.tree_size, r.leaf_hash, r.inclusion_proof, checkpoint.root);
}

/**
 * A log in `dir` whose second signature fails, on a store whose commits take 50 ms, so that
 * the second batch is staged (and its signing fails) while the first one is on the disk.
 * `counts.writes` counts finished commits; `counts.atFailure` is how many had finished when
 * the signature failed.
 */
async function openFailingSecondSignature(dir: string, origin: string) {
  const first = await Log.open({ dir, origin });
  const signer = first.signer;
  await first.close();
  const counts = { writes: 0, atFailure: -1 };
  let calls = 0;
  const failSecond = {
    name: signer.name,
    publicKey: signer.publicKey,
    sign: async (m: Uint8Array) => {
      calls++;
      if (calls === 2) {
        counts.atFailure = counts.writes;
        throw new Error('injected: KMS unavailable');
      }
      return signer.sign(m);
    },
  };
  const slow = (st: LogStore): LogStore => ({
    ...faultyStore({ fail: 'none' })(st),
    async commit(b) {
      await new Promise((r) => setTimeout(r, 50));
      await st.commit(b);
      counts.writes++;
    },
  });
  const log = await Log.open({ dir, signer: failSecond, wrapStore: slow, maxBatchSize: 10 });
  return { log, counts };
}

async function appendAll(log: Log, from: number, to: number, burst: number): Promise<Receipt[]> {
  const out: Receipt[] = [];
  for (let i = from; i < to; i += burst) {
    const batch = [];
    for (let j = i; j < Math.min(to, i + burst); j++) batch.push(log.append(entry(j)));
    out.push(...(await Promise.all(batch)));
  }
  return out;
}

describe('Log on a real LevelDB', () => {
  it('a new log serves a signed checkpoint of size 0', async () => {
    const log = await Log.open({ dir: newDir(), origin: 'example.com/empty' });
    const { checkpoint } = openCheckpoint(log.latest().note, parseVerifierKey(log.vkey));
    expect(checkpoint.size).toBe(0n);
    expect(hex(checkpoint.root)).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
    await log.close();
  });

  it('receipts equal the model PATH whatever the batch boundaries and tree sizes (property)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 70 }),
        fc.array(fc.integer({ min: 1, max: 150 }), { minLength: 1, maxLength: 4 }),
        async (maxBatchSize, bursts) => {
          const log = await Log.open({ dir: newDir(), origin: 'example.com/prop', maxBatchSize });
          try {
            const leaves: Uint8Array[] = [];
            let next = 0;
            for (const burst of bursts) {
              const rs = await appendAll(log, next, next + burst, burst);
              for (let i = next; i < next + burst; i++) leaves.push(model.leafHash(entry(i)));
              next += burst;
              for (const r of rs) {
                expect(r.inclusion_proof.map(hex)).toEqual(
                  model.path(Number(r.index), leaves.slice(0, Number(r.tree_size))).map(hex),
                );
              }
            }
          } finally {
            await log.close();
          }
        },
      ),
      { numRuns: 15 },
    );
  });

  it('matches the naive model: roots, receipts, tiles, bundles, proofs, across restarts', async () => {
    const dir = newDir();
    let log = await Log.open({ dir, origin: 'example.com/model', maxBatchSize: 37 });
    const seen: LogState[] = [];
    log.onCommit((s) => seen.push(s));
    const receipts = await appendAll(log, 0, 700, 90);
    const leaves = Array.from({ length: 700 }, (_, i) => model.leafHash(entry(i)));
    expect(log.latest().size).toBe(700n);
    expect(hex(log.latest().root)).toBe(hex(model.mth(leaves)));
    for (const r of receipts) {
      checkReceipt(r, log.vkey);
      expect(hex(r.leaf_hash)).toBe(hex(leaves[Number(r.index)]!));
      expect(r.inclusion_proof.map(hex)).toEqual(
        model.path(Number(r.index), leaves.slice(0, Number(r.tree_size))).map(hex),
      );
    }
    // Batches never exceed the maximum, and every published checkpoint is consistent with the last.
    expect(seen.length).toBeGreaterThanOrEqual(Math.ceil(700 / 37));
    await log.close();

    log = await Log.open({ dir, maxBatchSize: 1000 });
    expect(hex(log.latest().root)).toBe(hex(model.mth(leaves)));
    const more = await appendAll(log, 700, 1300, 250);
    for (let i = 700; i < 1300; i++) leaves.push(model.leafHash(entry(i)));
    for (const r of more) checkReceipt(r, log.vkey);
    const size = 1300n;
    expect(hex(log.latest().root)).toBe(hex(model.mth(leaves)));
    // Every published checkpoint is consistent with the latest; a sample is checked against the model too.
    for (const [k, s] of seen.entries()) {
      const proof = await log.consistencyProof(s.size, size);
      if (k % 5 === 0) expect(proof.map(hex)).toEqual(model.consistency(Number(s.size), leaves).map(hex));
      verifyConsistency(s.size, size, proof, s.root, log.latest().root);
    }
    for (const [i, n] of [
      [0, 1],
      [5, 700],
      [255, 256],
      [256, 257],
      [699, 1300],
      [1299, 1300],
      [1000, 1001],
    ] as const) {
      const proof = await log.inclusionProof(BigInt(i), BigInt(n));
      expect(proof.map(hex)).toEqual(model.path(i, leaves.slice(0, n)).map(hex));
      expect(hex(await log.rootAt(BigInt(n)))).toBe(hex(model.mth(leaves.slice(0, n))));
    }
    // Level-0 tiles hold the leaf hashes; level-1 tiles the roots of full level-0 tiles.
    for (let t = 0; t * TILE_WIDTH < 1300; t++) {
      const width = Math.min(TILE_WIDTH, 1300 - t * TILE_WIDTH);
      const tile = await log.readTile(0, BigInt(t), width);
      expect(splitTile(tile!).map(hex)).toEqual(leaves.slice(t * 256, t * 256 + width).map(hex));
      const bundle = await log.readBundle(BigInt(t), width);
      expect(bundle).toBeDefined();
    }
    const l1 = splitTile((await log.readTile(1, 0n, 5))!);
    for (let j = 0; j < 5; j++)
      expect(hex(l1[j]!)).toBe(hex(model.mth(leaves.slice(j * 256, (j + 1) * 256))));
    expect(await log.readTile(1, 0n, 6)).toBeUndefined();
    const got = await log.entries(250n, 530n);
    expect(got.map((e) => new TextDecoder().decode(e))).toEqual(
      Array.from({ length: 280 }, (_, k) => `entry number ${250 + k}`),
    );
    expect(formatTilePath(0, 5n)).toBe('tile/0/005');
    // get-proof-by-hash's index (written in the background) finds every committed entry, also
    // one asked for the moment its append resolves.
    const fresh = new TextEncoder().encode('asked for at once');
    const r = await log.append(fresh);
    expect(await log.indexOfLeafHash(r.leaf_hash)).toBe(r.index);
    expect(await log.indexOfLeafHash(leaves[1299]!)).toBe(1299n);
    await log.close();
    log = await Log.open({ dir });
    expect(await log.indexOfLeafHash(leaves[1234]!)).toBe(1234n);
    // An entry appended twice: the latest index in the tree asked about.
    const again = await log.append(fresh);
    expect(again.index).toBe(r.index + 1n);
    expect(await log.indexOfLeafHash(r.leaf_hash)).toBe(again.index);
    expect(await log.indexOfLeafHash(r.leaf_hash, again.index)).toBe(r.index);
    expect(await log.indexOfLeafHash(r.leaf_hash, r.index)).toBeUndefined();
    expect(await log.indexOfLeafHash(new Uint8Array(32))).toBeUndefined();
    await expect(log.indexOfLeafHash(r.leaf_hash, again.index + 2n)).rejects.toMatchObject({
      code: 'OUT_OF_RANGE',
    });
    await log.close();
  });

  it('finds leaves by hash whose 8-byte key prefixes collide, and rebuilds an index in an older layout', async () => {
    // Runs of 16 leaves, so that 300 entries put runs (and a merge) on disk to forge entries in.
    const limits = { ...LEAF_INDEX_LIMITS };
    LEAF_INDEX_LIMITS.runSize = 16;
    try {
      const dir = newDir();
      let log = await Log.open({ dir, origin: 'example.com/leaf-index' });
      const rs = await appendAll(log, 0, 300, 300);
      await log.close();
      // Rewrite the index as the first layout left it (0x01 ‖ full hash → u64, no layout key).
      const { Level } = await import('level');
      const idx = new Level<Uint8Array, Uint8Array>(join(dir, 'leaf-index'), {
        keyEncoding: 'view',
        valueEncoding: 'view',
      });
      await idx.open();
      await idx.clear();
      const u64 = (v: number) => {
        const b = new Uint8Array(8);
        new DataView(b.buffer).setBigUint64(0, BigInt(v));
        return b;
      };
      await idx.put(new Uint8Array([0x00]), u64(300));
      await idx.put(new Uint8Array([0x01, ...rs[5]!.leaf_hash]), u64(5));
      await idx.close();
      log = await Log.open({ dir });
      for (const i of [0, 5, 7, 255, 256, 299])
        expect(await log.indexOfLeafHash(rs[i]!.leaf_hash)).toBe(BigInt(i));
      await log.close();
      // Entries that share entry 7's 8-byte prefix but are at indices whose leaves have other
      // hashes (as a 64-bit prefix collision would be): candidates, refused by the tiles.
      await idx.open();
      await forgeEntry(idx, rs[7]!.leaf_hash, 3);
      await forgeEntry(idx, rs[7]!.leaf_hash, 250);
      await idx.close();
      log = await Log.open({ dir });
      expect(await log.indexOfLeafHash(rs[7]!.leaf_hash)).toBe(7n);
      expect(await log.indexOfLeafHash(rs[250]!.leaf_hash)).toBe(250n);
      expect(await log.indexOfLeafHash(rs[3]!.leaf_hash)).toBe(3n);
      // One entry appended 40 times (more than a lookup reads): the latest below the size asked.
      const same = new TextEncoder().encode('the same entry, again and again');
      const copies = await Promise.all(Array.from({ length: 40 }, () => log.append(same)));
      const at = copies.map((c) => c.index).sort((a, b) => (a < b ? -1 : 1));
      const h = copies[0]!.leaf_hash;
      expect(await log.indexOfLeafHash(h)).toBe(at[39]);
      expect(await log.indexOfLeafHash(h, at[4]! + 1n)).toBe(at[4]);
      expect(await log.indexOfLeafHash(h, at[0]!)).toBeUndefined();
      await log.close();
    } finally {
      Object.assign(LEAF_INDEX_LIMITS, limits);
    }
  });

  it('rejects oversized entries and a full queue with the right codes', async () => {
    const log = await Log.open({
      dir: newDir(),
      origin: 'example.com/limits',
      maxQueue: 5,
      maxEntrySize: 100,
    });
    await expect(log.append(new Uint8Array(101))).rejects.toMatchObject({ code: 'TOO_LARGE' });
    expect(log.maxEntrySize).toBe(100);
    // checkRoom, in the same turn as the appends it vouches for: room for all or none.
    const first = Array.from({ length: 3 }, (_, i) => log.append(entry(100 + i)));
    expect(() => log.checkRoom(2)).not.toThrow();
    expect(() => log.checkRoom(3)).toThrow(expect.objectContaining({ code: 'OVERLOADED' }));
    expect(() => log.checkRoom(6)).toThrow(expect.objectContaining({ code: 'TOO_LARGE' }));
    await Promise.all(first);
    const ps = Array.from({ length: 20 }, (_, i) => log.append(entry(i)));
    const results = await Promise.allSettled(ps);
    const overloaded = results.filter(
      (r) => r.status === 'rejected' && (r.reason as AuditlogError).code === 'OVERLOADED',
    );
    expect(overloaded.length).toBe(15);
    expect(results.filter((r) => r.status === 'fulfilled').length).toBe(5);
    await log.close();
    await expect(log.append(entry(1))).rejects.toMatchObject({ code: 'CLOSED' });
    expect(() => log.checkRoom(1)).toThrow(expect.objectContaining({ code: 'CLOSED' }));
  });
});

/** A store whose commit fails on demand: before writing, or after writing (an fsync that errs late). */
describe('fault injection on the commit path', () => {
  for (const where of ['before', 'after', 'signer'] as const) {
    it(`a failure ${where === 'signer' ? 'in the signer' : `${where} the write`} ${where === 'after' ? 'is found on the disk and answered' : 'acknowledges nothing'}, and the log recovers`, async () => {
      const dir = newDir();
      const mode = { fail: 'none' as 'none' | 'before' | 'after' };
      let signerFails = false;
      const first = await Log.open({ dir, origin: 'example.com/faults' });
      const signer = first.signer;
      await first.close();
      const flaky = {
        name: signer.name,
        publicKey: signer.publicKey,
        sign: async (m: Uint8Array) => {
          if (signerFails) throw new Error('injected: KMS unavailable');
          return signer.sign(m);
        },
      };
      const log = await Log.open({ dir, wrapStore: faultyStore(mode), signer: flaky, maxBatchSize: 10 });
      const published: LogState[] = [];
      log.onCommit((s) => published.push(s));
      const good = await appendAll(log, 0, 25, 25);
      if (where === 'signer') signerFails = true;
      else mode.fail = where;
      const failed = await Promise.allSettled(
        Array.from({ length: 15 }, (_, i) => log.append(entry(100 + i))),
      );
      // "after": every write reached the disk although it reported failure; the reload finds
      // it there, so its submitters are answered with receipts (not an error that would make
      // them submit again). Otherwise nothing is acknowledged.
      for (const r of failed) {
        if (where === 'after') {
          expect(r.status).toBe('fulfilled');
          checkReceipt((r as PromiseFulfilledResult<Receipt>).value, log.vkey);
        } else {
          expect(r.status).toBe('rejected');
          expect((r as PromiseRejectedResult).reason).toBeInstanceOf(AuditlogError);
        }
      }
      signerFails = false;
      mode.fail = 'none';
      const later = await appendAll(log, 200, 230, 30);
      // Every receipt ever answered verifies, and every published checkpoint is consistent with the last.
      for (const r of [...good, ...later]) checkReceipt(r, log.vkey);
      const final = log.latest();
      for (const s of published)
        verifyConsistency(
          s.size,
          final.size,
          await log.consistencyProof(s.size, final.size),
          s.root,
          final.root,
        );
      // "after": all 15 reached the disk, in order.
      const extra = final.size - (25n + 30n);
      if (where === 'after') {
        expect(extra).toBe(15n);
        const landed = await log.entries(25n, 25n + extra);
        expect(landed.map(hex)).toEqual(landed.map((_, i) => hex(entry(100 + i))));
      } else {
        expect(extra).toBe(0n);
      }
      await log.close();
      const reopened = await Log.open({ dir });
      expect(hex(reopened.latest().root)).toBe(hex(final.root));
      for (const r of later) {
        const proof = await reopened.inclusionProof(r.index, final.size);
        verifyInclusion(r.index, final.size, r.leaf_hash, proof, final.root);
      }
      await reopened.close();
    });
  }

  it('a batch whose signing fails while the batch before it is on the disk: the earlier one is answered, the log recovers', async () => {
    const { log, counts } = await openFailingSecondSignature(newDir(), 'example.com/pipeline');
    const results = await Promise.allSettled(Array.from({ length: 20 }, (_, i) => log.append(entry(i))));
    const ok = results
      .filter((r) => r.status === 'fulfilled')
      .map((r) => (r as PromiseFulfilledResult<Receipt>).value);
    expect(counts.atFailure).toBe(0); // the failing batch was staged during the first one's write
    expect(ok.map((r) => Number(r.index))).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(results.slice(10).every((r) => r.status === 'rejected')).toBe(true);
    expect(log.latest().size).toBe(10n);
    const later = await appendAll(log, 100, 125, 25);
    for (const r of [...ok, ...later]) checkReceipt(r, log.vkey);
    expect(log.latest().size).toBe(35n);
    const leaves = [
      ...Array.from({ length: 10 }, (_, i) => entry(i)),
      ...Array.from({ length: 25 }, (_, i) => entry(100 + i)),
    ];
    expect(hex(log.latest().root)).toBe(hex(model.mth(leaves.map((e) => model.leafHash(e)))));
    await log.close();
  });

  it('a batch waiting behind one whose signing failed is not staged on the half-appended tree', async () => {
    const dir = newDir();
    const { log } = await openFailingSecondSignature(dir, 'example.com/pipeline3');
    // Three batches: the first on the disk, the second's signature fails, the third waiting.
    const results = await Promise.allSettled(Array.from({ length: 30 }, (_, i) => log.append(entry(i))));
    const ok = results
      .filter((r) => r.status === 'fulfilled')
      .map((r) => (r as PromiseFulfilledResult<Receipt>).value);
    expect(results.slice(10, 20).every((r) => r.status === 'rejected')).toBe(true);
    // Whatever was answered is in the log, at the indices its receipts name, and nothing else is.
    const answered = ok.map((r) => Number(r.index));
    expect(answered).toEqual(Array.from({ length: answered.length }, (_, i) => i));
    expect(log.latest().size).toBe(BigInt(answered.length));
    const byIndex = results.flatMap((r, i) => (r.status === 'fulfilled' ? [entry(i)] : []));
    for (const r of ok) checkReceipt(r, log.vkey);
    expect(hex(log.latest().root)).toBe(hex(model.mth(byIndex.map((e) => model.leafHash(e)))));
    await log.close();
    // And the stored tree is whole: reopening checks the tiles against the signed root.
    const reopened = await Log.open({ dir });
    expect(reopened.latest().size).toBe(BigInt(answered.length));
    expect(await reopened.entries(0n, reopened.latest().size)).toEqual(byIndex);
    await reopened.close();
  });

  it('entries of every length around the padding and lane boundaries, in one batch, hash and prove right', async () => {
    const log = await Log.open({ dir: newDir(), origin: 'example.com/lengths' });
    const sizes = [0, 1, 54, 55, 56, 63, 64, 119, 127, 128, 500, 2037, 2038, 2039, 5000, 65_535];
    const entries = [...sizes, ...sizes.slice().reverse(), 7, 128, 128, 128, 128, 128].map((n, i) =>
      Uint8Array.from({ length: n }, (_, k) => (k * 31 + i) & 0xff),
    );
    const receipts = await Promise.all(entries.map((e) => log.append(e)));
    for (const r of receipts) checkReceipt(r, log.vkey);
    const leaves = entries.map((e) => model.leafHash(e));
    expect(receipts.map((r) => hex(r.leaf_hash))).toEqual(leaves.map(hex));
    expect(hex(log.latest().root)).toBe(hex(model.mth(leaves)));
    await log.close();
  });

  it('the per-entry signing baseline answers each entry against its own signed checkpoint', async () => {
    const log = await Log.open({
      dir: newDir(),
      origin: 'example.com/per-entry',
      signPerEntry: true,
      maxBatchSize: 10,
    });
    const receipts = await appendAll(log, 0, 37, 37);
    expect(receipts.map((r) => r.tree_size)).toEqual(receipts.map((r) => r.index + 1n));
    expect(new Set(receipts.map((r) => r.checkpoint)).size).toBe(37);
    for (const r of receipts) checkReceipt(r, log.vkey);
    // Entry i's checkpoint commits to exactly entries 0..i.
    const leaves = Array.from({ length: 37 }, (_, i) => model.leafHash(entry(i)));
    for (const [i, r] of receipts.entries()) {
      const { checkpoint } = openCheckpoint(r.checkpoint, parseVerifierKey(log.vkey));
      expect(hex(checkpoint.root)).toBe(hex(model.mth(leaves.slice(0, i + 1))));
    }
    expect(log.latest().size).toBe(37n);
    expect(log.latest().note).toBe(receipts.at(-1)!.checkpoint);
    await log.close();
  });

  it('batches that would cross a bundle boundary end on it, so under load every batch writes whole bundles', async () => {
    const log = await Log.open({ dir: newDir(), origin: 'example.com/aligned', maxBatchSize: 256 });
    const sizes: bigint[] = [];
    log.onCommit((s) => sizes.push(s.size));
    await appendAll(log, 0, 10, 10); // an unaligned start
    const rs = await appendAll(log, 10, 2000, 1990);
    for (const r of rs.filter((_, i) => i % 97 === 0)) checkReceipt(r, log.vkey);
    // 10, then 246 (to the boundary), then whole bundles of 256, then the 196 left.
    expect(sizes).toEqual([10n, 256n, 512n, 768n, 1024n, 1280n, 1536n, 1792n, 2000n]);
    expect((await log.entries(0n, 2000n)).length).toBe(2000);
    await log.close();
  });

  it('a slow signer (remote KMS) still commits one checkpoint per batch, and batches grow with load', async () => {
    const dir = newDir();
    const base = await Log.open({ dir, origin: 'example.com/kms' });
    const signer = withLatency(base.signer, 20);
    await base.close();
    const log = await Log.open({ dir, signer, maxBatchSize: 4096 });
    let commits = 0;
    log.onCommit(() => commits++);
    const rs = await appendAll(log, 0, 2000, 2000);
    for (const r of rs.slice(0, 50)) checkReceipt(r, log.vkey);
    expect(commits).toBeLessThan(20);
    await log.close();
  });
});

/**
 * Adds to the leaf-hash index page (layout 3, spec/storage.md) that holds `index` an entry
 * claiming that leaf `index` starts with `hash`'s 8 bytes, keeping the page in entry order.
 */
async function forgeEntry(db: Level<Uint8Array, Uint8Array>, hash: Uint8Array, index: number): Promise<void> {
  const pages = await db.iterator({ gte: new Uint8Array([0x03]), lt: new Uint8Array([0x04]) }).all();
  for (const [key, value] of pages) {
    const start = Number(new DataView(key.buffer, key.byteOffset).getBigUint64(2));
    const entries: Uint8Array[] = [];
    for (let off = 0; off < value.length; off += 12) entries.push(value.slice(off, off + 12));
    const offset = (e: Uint8Array) => new DataView(e.buffer, e.byteOffset).getUint32(8);
    if (!entries.some((e) => start + offset(e) === index)) continue;
    const forged = new Uint8Array(12);
    forged.set(hash.subarray(0, 8));
    new DataView(forged.buffer).setUint32(8, index - start);
    entries.push(forged);
    entries.sort((a, b) => Buffer.compare(a.subarray(0, 8), b.subarray(0, 8)) || offset(b) - offset(a));
    const last = entries[entries.length - 1]!;
    const newKey = new Uint8Array(26);
    newKey.set(key.subarray(0, 10));
    newKey.set(last.subarray(0, 8), 10);
    new DataView(newKey.buffer).setBigUint64(18, 2n ** 64n - 1n - BigInt(start + offset(last)));
    const page = new Uint8Array(entries.length * 12);
    for (let i = 0; i < entries.length; i++) page.set(entries[i]!, i * 12);
    await db.batch([
      { type: 'del', key },
      { type: 'put', key: newKey, value: page },
    ]);
    return;
  }
  throw new Error(`no index page holds leaf ${index}`);
}

describe('batchLength', () => {
  it('takes up to the maximum, cut back to the last bundle boundary when the batch would cross one (property)', () => {
    fc.assert(
      fc.property(
        fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }),
        fc.integer({ min: 1, max: 100_000 }),
        fc.integer({ min: 1, max: 5000 }),
        (size, waiting, max) => {
          const n = Math.min(waiting, max);
          const r = batchLength(size, waiting, max);
          const W = BigInt(TILE_WIDTH);
          const end = size + BigInt(r);
          const uncut = size + BigInt(n);
          const crosses = uncut / W > size / W && uncut % W !== 0n;
          expect(r).toBeGreaterThanOrEqual(1);
          expect(r).toBeLessThanOrEqual(n);
          if (!crosses) expect(r).toBe(n);
          else {
            expect(end % W).toBe(0n); // ends on a boundary ...
            expect(end / W).toBe(uncut / W); // ... the last one the uncut batch reached
          }
        },
      ),
      { numRuns: 2000 },
    );
    expect(batchLength(10n, 500, 256)).toBe(246);
    expect(batchLength(0n, 500, 256)).toBe(256);
    expect(batchLength(255n, 1, 256)).toBe(1);
    expect(batchLength(255n, 2, 256)).toBe(1);
    expect(batchLength(10n, 9000, 4096)).toBe(4086);
  });
});
