/**
 * The commit pipeline (spec/commit-protocol.md): batches staged ahead of the write on the disk,
 * their checkpoints signed concurrently, written in order, several to one write.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { openCheckpoint } from '../../src/note/checkpoint.js';
import { parseVerifierKey } from '../../src/note/keys.js';
import type { Signer } from '../../src/note/signer.js';
import { mergeCommits } from '../../src/sequencer/group-commit.js';
import { Log } from '../../src/sequencer/log.js';
import type { Receipt } from '../../src/sequencer/receipt.js';
import type { CommitBatch, LogState, LogStore } from '../../src/storage/store.js';
import { verifyInclusion } from '../../src/merkle/verify.js';
import { faultyStore } from '../helpers/faulty-store.js';
import { tempLogDirs } from '../helpers/server.js';
import * as model from '../merkle/model.js';

const newDir = tempLogDirs();
const entry = (i: number) => new TextEncoder().encode(`pipelined entry ${i}`);
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function checkReceipt(r: Receipt, vkey: string): void {
  const { checkpoint } = openCheckpoint(r.checkpoint, parseVerifierKey(vkey));
  expect(checkpoint.size).toBe(r.tree_size);
  verifyInclusion(r.index, r.tree_size, r.leaf_hash, r.inclusion_proof, checkpoint.root);
}

/** The signer of a new log in `dir`, and the dir (so that the log can be reopened with it). */
async function keyOf(dir: string, origin: string): Promise<Signer> {
  const first = await Log.open({ dir, origin });
  const signer = first.signer;
  await first.close();
  return signer;
}

/**
 * A signer whose call k (from 1) takes delay(k) ms and fails when fail(k); it records how many
 * signatures were in flight at most.
 */
function scriptedSigner(
  base: Signer,
  delay: (k: number) => number,
  fail: (k: number) => boolean = () => false,
) {
  const stats = { calls: 0, inFlight: 0, maxInFlight: 0 };
  const signer: Signer = {
    name: base.name,
    publicKey: base.publicKey,
    async sign(m) {
      const k = ++stats.calls;
      stats.inFlight++;
      stats.maxInFlight = Math.max(stats.maxInFlight, stats.inFlight);
      try {
        await sleep(delay(k));
        if (fail(k)) throw new Error(`injected: signature ${k} failed`);
        return await base.sign(m);
      } finally {
        stats.inFlight--;
      }
    },
  };
  return { signer, stats };
}

/** A store that counts commits and makes each take `ms`. */
function countingStore(ms: number, counts: { commits: number }) {
  return (s: LogStore): LogStore => ({
    ...faultyStore({ fail: 'none' })(s),
    async commit(b) {
      await sleep(ms);
      await s.commit(b);
      counts.commits++;
    },
  });
}

describe('commit pipeline', () => {
  it('a slow signer signs batches concurrently, up to maxBatchesAhead, and they commit in order, one checkpoint each', async () => {
    const dir = newDir();
    const base = await keyOf(dir, 'example.com/pipelined');
    const { signer, stats } = scriptedSigner(base, () => 40);
    const log = await Log.open({ dir, signer, maxBatchSize: 16, maxBatchesAhead: 4 });
    const published: LogState[] = [];
    log.onCommit((s) => published.push(s));
    const n = 16 * 12;
    const started = Date.now();
    const receipts = await Promise.all(Array.from({ length: n }, (_, i) => log.append(entry(i))));
    const took = Date.now() - started;
    expect(stats.maxInFlight).toBe(4);
    // Twelve 40 ms signatures one at a time take 480 ms; four at a time about 120–160 ms.
    expect(took).toBeLessThan(400);
    // One signed checkpoint per batch of 16, published in order.
    expect(published.map((s) => s.size)).toEqual(Array.from({ length: 12 }, (_, i) => BigInt(16 * (i + 1))));
    expect(stats.calls).toBe(12);
    for (const [i, r] of receipts.entries()) {
      expect(r.index).toBe(BigInt(i));
      expect(r.tree_size).toBe(BigInt(16 * (Math.floor(i / 16) + 1)));
      checkReceipt(r, log.vkey);
    }
    const leaves = Array.from({ length: n }, (_, i) => model.leafHash(entry(i)));
    expect(hex(log.latest().root)).toBe(hex(model.mth(leaves)));
    await log.close();
    const reopened = await Log.open({ dir });
    expect(reopened.latest().size).toBe(BigInt(n));
    expect((await reopened.entries(0n, BigInt(n))).map(hex)).toEqual(
      Array.from({ length: n }, (_, i) => hex(entry(i))),
    );
    await reopened.close();
  });

  it('signatures that finish out of order still commit in order', async () => {
    const dir = newDir();
    const base = await keyOf(dir, 'example.com/out-of-order');
    // The first signature is the slowest, the later ones ever faster.
    const { signer } = scriptedSigner(base, (k) => Math.max(0, 80 - 20 * k));
    const log = await Log.open({ dir, signer, maxBatchSize: 8 });
    const published: bigint[] = [];
    log.onCommit((s) => published.push(s.size));
    const receipts = await Promise.all(Array.from({ length: 32 }, (_, i) => log.append(entry(i))));
    expect(published).toEqual([8n, 16n, 24n, 32n]);
    for (const r of receipts) checkReceipt(r, log.vkey);
    await log.close();
    const reopened = await Log.open({ dir });
    expect((await reopened.entries(0n, 32n)).map(hex)).toEqual(
      Array.from({ length: 32 }, (_, i) => hex(entry(i))),
    );
    await reopened.close();
  });

  it('a failed signature drops its batch; the batches staged on top of it are sequenced again, earlier ones commit, the log recovers', async () => {
    const dir = newDir();
    const base = await keyOf(dir, 'example.com/sig-fails');
    // Signature 2 fails after 30 ms while 3 and 4 (staged on top of it) are still being signed.
    const { signer } = scriptedSigner(
      base,
      (k) => (k === 1 ? 60 : 30),
      (k) => k === 2,
    );
    const log = await Log.open({ dir, signer, maxBatchSize: 10, maxBatchesAhead: 8 });
    const published: LogState[] = [];
    log.onCommit((s) => published.push(s));
    const results = await Promise.allSettled(Array.from({ length: 40 }, (_, i) => log.append(entry(i))));
    // Batch 2 (entries 10–19) is rejected; batches 3 and 4, signed over a tree that held it,
    // are discarded and their entries sequenced again, in order, right after batch 1.
    expect(results.map((r) => r.status === 'fulfilled')).toEqual(
      Array.from({ length: 40 }, (_, i) => i < 10 || i >= 20),
    );
    const ok = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
    expect(ok.map((r) => Number(r.index))).toEqual(Array.from({ length: 30 }, (_, i) => i));
    expect(log.latest().size).toBe(30n);
    // The log goes on from the committed tree.
    const later = await Promise.all(Array.from({ length: 15 }, (_, i) => log.append(entry(100 + i))));
    for (const r of [...ok, ...later]) checkReceipt(r, log.vkey);
    const byIndex = [
      ...Array.from({ length: 10 }, (_, i) => entry(i)),
      ...Array.from({ length: 20 }, (_, i) => entry(20 + i)),
      ...Array.from({ length: 15 }, (_, i) => entry(100 + i)),
    ];
    expect(hex(log.latest().root)).toBe(hex(model.mth(byIndex.map((e) => model.leafHash(e)))));
    expect(published.every((s, i) => i === 0 || s.size > published[i - 1]!.size)).toBe(true);
    await log.close();
    const reopened = await Log.open({ dir });
    expect((await reopened.entries(0n, 45n)).map(hex)).toEqual(byIndex.map(hex));
    await reopened.close();
  });

  it('batches staged while a write is on the disk go to the disk together, and bundle chunks they complete are not left behind', async () => {
    const dir = newDir();
    const counts = { commits: 0 };
    // Batches of 100 cut at bundle boundaries: 100, 100, 56, ... so a group holds chunks that
    // a later batch of the same group completes into a bundle.
    const log = await Log.open({
      dir,
      origin: 'example.com/group',
      maxBatchSize: 100,
      wrapStore: countingStore(25, counts),
    });
    const published: bigint[] = [];
    log.onCommit((s) => published.push(s.size));
    const n = 1500;
    const receipts = await Promise.all(Array.from({ length: n }, (_, i) => log.append(entry(i))));
    expect(counts.commits).toBeLessThan(published.length); // some writes carried several batches
    expect(published.at(-1)).toBe(BigInt(n));
    for (const r of receipts.filter((_, i) => i % 37 === 0)) checkReceipt(r, log.vkey);
    await log.close();
    const reopened = await Log.open({ dir });
    expect((await reopened.entries(0n, BigInt(n))).map(hex)).toEqual(
      Array.from({ length: n }, (_, i) => hex(entry(i))),
    );
    // Only the last, partial bundle has chunks; every full bundle's were deleted.
    let chunkKeys = 0;
    for await (const k of reopened.db.keys({ gte: Uint8Array.of(0x03), lt: Uint8Array.of(0x04) })) {
      expect(k[8]).toBe(Math.floor(n / 256)); // bundle index (low byte)
      chunkKeys++;
    }
    expect(chunkKeys).toBeGreaterThan(0);
    await reopened.close();
  });
});

describe('mergeCommits', () => {
  const state = (size: number): LogState => ({
    size: BigInt(size),
    root: new Uint8Array(32),
    note: `n${size}`,
    timestampMs: 0n,
  });
  const bytes = (v: number) => Uint8Array.of(v);

  /** The store's semantics for one commit: tiles, chunk deletions, bundles, chunks, state, side ops. */
  function apply(db: Map<string, string>, c: CommitBatch): void {
    for (const t of c.tiles) db.set(`t${t.level}/${t.index}`, hex(t.hashes));
    for (const d of c.dropChunks) db.delete(`c${d.index}/${d.offset}`);
    for (const b of c.bundles) db.set(`b${b.index}`, hex(b.bundle));
    for (const ch of c.chunks) db.set(`c${ch.index}/${ch.offset}`, hex(ch.bundle));
    db.set('state', c.state.note);
    for (const op of c.sideOps) {
      if (op.type === 'put') db.set(`s${op.key}`, String(op.value));
      else db.delete(`s${op.key}`);
    }
  }

  it('leaves the store as the batches one after another do (property)', () => {
    // Commits shaped like the sequencer's: chunks of the current bundle, then (sometimes) the
    // bundle completed and its chunks dropped; tiles overwritten; side ops on a few keys.
    const commitArb = fc.record({
      tiles: fc.array(
        fc.record({
          level: fc.integer({ min: 0, max: 2 }),
          index: fc.integer({ min: 0, max: 3 }),
          v: fc.integer({ min: 0, max: 255 }),
        }),
        { maxLength: 4 },
      ),
      chunk: fc.boolean(),
      complete: fc.boolean(),
      ops: fc.array(
        fc.record({
          put: fc.boolean(),
          key: fc.integer({ min: 0, max: 3 }),
          v: fc.integer({ min: 0, max: 9 }),
        }),
        { maxLength: 3 },
      ),
    });
    fc.assert(
      fc.property(fc.array(commitArb, { minLength: 1, maxLength: 8 }), (shapes) => {
        let bundle = 0;
        let offset = 0;
        let chunkOffsets: number[] = [];
        const commits: CommitBatch[] = shapes.map((sh, i) => {
          const c: CommitBatch = {
            tiles: [],
            bundles: [],
            chunks: [],
            dropChunks: [],
            state: state(i),
            sideOps: [],
          };
          for (const t of sh.tiles)
            c.tiles.push({ level: t.level, index: BigInt(t.index), hashes: bytes(t.v) });
          if (sh.complete) {
            c.bundles.push({ index: BigInt(bundle), bundle: bytes(i) });
            for (const o of chunkOffsets) c.dropChunks.push({ index: BigInt(bundle), offset: o });
            bundle++;
            offset = 0;
            chunkOffsets = [];
          }
          if (sh.chunk) {
            c.chunks.push({ index: BigInt(bundle), offset, bundle: bytes(i) });
            chunkOffsets.push(offset);
            offset += 10;
          }
          for (const op of sh.ops)
            c.sideOps.push(op.put ? { type: 'put', key: op.key, value: op.v } : { type: 'del', key: op.key });
          return c;
        });
        const one = new Map<string, string>();
        for (const c of commits) apply(one, c);
        const merged = new Map<string, string>();
        apply(merged, mergeCommits(commits));
        expect([...merged].sort()).toEqual([...one].sort());
      }),
      { numRuns: 300 },
    );
  });
});

describe('commit pipeline under random faults (property)', () => {
  it('whatever the signer and the disk do, every answered entry is in the log where its receipt says, and nothing else is', async () => {
    const step = fc.record({
      delay: fc.integer({ min: 0, max: 12 }),
      fail: fc.integer({ min: 0, max: 9 }).map((v) => v === 0),
    });
    const write = fc.record({
      delay: fc.integer({ min: 0, max: 8 }),
      fault: fc.constantFrom('none', 'none', 'none', 'none', 'before', 'after'),
    });
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 12 }),
        fc.integer({ min: 1, max: 4 }),
        fc.array(step, { minLength: 1, maxLength: 20 }),
        fc.array(write, { minLength: 1, maxLength: 20 }),
        fc.array(fc.integer({ min: 1, max: 40 }), { minLength: 1, maxLength: 4 }),
        async (maxBatchSize, maxBatchesAhead, signs, writes, bursts) => {
          const dir = newDir();
          const base = await keyOf(dir, 'example.com/chaos');
          let signCall = 0;
          const signer: Signer = {
            name: base.name,
            publicKey: base.publicKey,
            async sign(m) {
              const s = signs[signCall++ % signs.length]!;
              await sleep(s.delay);
              if (s.fail) throw new Error('injected: signer');
              return base.sign(m);
            },
          };
          let writeCall = 0;
          const store = (st: LogStore): LogStore => ({
            ...faultyStore({ fail: 'none' })(st),
            async commit(b) {
              const w = writes[writeCall++ % writes.length]!;
              await sleep(w.delay);
              if (w.fault === 'before') throw new Error('injected: write refused');
              await st.commit(b);
              if (w.fault === 'after') throw new Error('injected: fsync failed late');
            },
          });
          const log = await Log.open({ dir, signer, wrapStore: store, maxBatchSize, maxBatchesAhead });
          const published: LogState[] = [];
          log.onCommit((s) => published.push(s));
          const submitted: Uint8Array[] = [];
          const answered: Receipt[] = [];
          // Bursts overlap: each starts while the one before is still in flight.
          const inFlight: Promise<unknown>[] = [];
          for (const n of bursts) {
            const ps = Array.from({ length: n }, () => {
              const e = entry(submitted.length + 1_000_000);
              submitted.push(e);
              return log.append(e).then((r) => {
                answered.push(r);
              });
            });
            inFlight.push(Promise.allSettled(ps));
            await sleep(3);
          }
          await Promise.all(inFlight);
          // Closing waits for the loop to finish, including the reload after a failure (a
          // write that failed late reached the disk: the reload finds its batches committed).
          await log.close();
          const final = log.latest();
          for (const [i, s] of published.entries()) {
            if (i > 0) expect(s.size).toBeGreaterThan(published[i - 1]!.size);
          }
          // Listeners heard of the committed state, also when it came back with a reload.
          expect(published.at(-1)?.size ?? 0n).toBe(final.size);
          for (const r of answered) {
            expect(r.index).toBeLessThan(final.size);
            checkReceipt(r, log.vkey);
          }
          const reopened = await Log.open({ dir });
          try {
            expect(hex(reopened.latest().root)).toBe(hex(final.root));
            const inLog = (await reopened.entries(0n, final.size)).map(hex);
            // Each answered entry sits where its receipt says.
            const byHex = new Map(submitted.map((e) => [hex(model.leafHash(e)), hex(e)]));
            for (const r of answered) expect(inLog[Number(r.index)]).toBe(byHex.get(hex(r.leaf_hash)));
            // Nothing else: every entry in the log was submitted, once (a write that failed
            // late may have put unanswered ones there).
            const known = new Set(submitted.map(hex));
            for (const e of inLog) expect(known.has(e)).toBe(true);
            expect(new Set(inLog).size).toBe(inLog.length);
            // Every published checkpoint is a prefix of the final tree.
            for (const s of published) {
              const root = await reopened.rootAt(s.size);
              expect(hex(root)).toBe(hex(s.root));
            }
          } finally {
            await reopened.close();
          }
        },
      ),
      { numRuns: 25 },
    );
  }, 120_000);
});

describe('commit pipeline: failures and bounds', () => {
  it('after a write that failed late (its batch found on disk by the reload), later entries are still found by leaf hash', async () => {
    const dir = newDir();
    const mode = { fail: 'none' as 'none' | 'before' | 'after' };
    const log = await Log.open({
      dir,
      origin: 'example.com/late',
      wrapStore: faultyStore(mode),
      maxBatchSize: 10,
    });
    await Promise.all(Array.from({ length: 5 }, (_, i) => log.append(entry(i))));
    mode.fail = 'after';
    const failed = await Promise.allSettled(Array.from({ length: 5 }, (_, i) => log.append(entry(100 + i))));
    // The reload finds the write on the disk: its submitters get receipts, not an error that
    // would make them append the entries again.
    expect(failed.map((r) => r.status)).toEqual(Array(5).fill('fulfilled'));
    for (const [i, r] of failed.entries()) {
      const receipt = (r as PromiseFulfilledResult<Receipt>).value;
      expect(receipt.index).toBe(BigInt(5 + i));
      checkReceipt(receipt, log.vkey);
    }
    mode.fail = 'none';
    const later = await Promise.all(Array.from({ length: 5 }, (_, i) => log.append(entry(200 + i))));
    expect(log.latest().size).toBe(15n); // the batch that failed late is in the log
    expect(later[0]!.index).toBe(10n);
    for (const r of later) expect(await log.indexOfLeafHash(r.leaf_hash)).toBe(r.index);
    expect(await log.indexOfLeafHash(model.leafHash(entry(102)))).toBe(7n);
    await log.close();
  });

  it('a failed write rejects its own entries only: the batches staged behind it are sequenced again and answered', async () => {
    const dir = newDir();
    // Each write takes 40 ms, so batches stage up behind it; the second write is refused.
    const writes: { from: bigint; to: bigint; failed: boolean }[] = [];
    let committed = 0n;
    const store = (st: LogStore): LogStore => ({
      ...faultyStore({ fail: 'none' })(st),
      async commit(b) {
        await sleep(40);
        const w = { from: committed, to: b.state.size, failed: writes.length === 1 };
        writes.push(w);
        if (w.failed) throw new Error('injected: write refused');
        await st.commit(b);
        committed = b.state.size;
      },
    });
    const log = await Log.open({
      dir,
      origin: 'example.com/requeue',
      wrapStore: store,
      maxBatchSize: 4,
      maxBatchesAhead: 4,
    });
    const first = log.append(entry(0));
    await sleep(5); // the first write (one entry) is on the disk; the next 40 entries pile up
    const rest = Array.from({ length: 40 }, (_, i) => log.append(entry(1 + i)));
    const results = await Promise.allSettled([first, ...rest]);
    await log.close();
    const bad = writes.find((w) => w.failed)!;
    const refused = Number(bad.to - bad.from);
    const rejected = results.filter((r) => r.status === 'rejected');
    // Only the failed write's entries were refused: everything else is in the log.
    expect(Number(log.latest().size)).toBe(41 - refused);
    expect(rejected.length).toBe(refused);
    expect(refused).toBeLessThan(40);
    for (const r of results) if (r.status === 'fulfilled') checkReceipt(r.value, log.vkey);
    const reopened = await Log.open({ dir });
    try {
      const inLog = new Set((await reopened.entries(0n, reopened.latest().size)).map(hex));
      expect(results.map((_, i) => inLog.has(hex(entry(i))))).toEqual(
        results.map((r) => r.status === 'fulfilled'),
      );
    } finally {
      await reopened.close();
    }
  });

  it('writes that land but report failure are successes: every entry is answered, also across tile boundaries and with close() under way', async () => {
    for (const [n, closeAtOnce] of [
      [300, true],
      [40, false],
    ] as const) {
      const dir = newDir();
      const mode = { fail: 'none' as 'none' | 'before' | 'after' };
      const log = await Log.open({
        dir,
        origin: 'example.com/landed',
        wrapStore: faultyStore(mode),
        maxBatchSize: closeAtOnce ? 4096 : 4,
        maxBatchesAhead: 4,
      });
      mode.fail = 'after'; // every write reaches the disk, then reports failure
      const ps = Array.from({ length: n }, (_, i) => log.append(entry(i)));
      const closing = closeAtOnce ? log.close() : undefined;
      const results = await Promise.allSettled(ps);
      await (closing ?? log.close());
      expect(results.map((r) => r.status)).toEqual(Array(n).fill('fulfilled'));
      for (const [i, r] of results.entries()) {
        const receipt = (r as PromiseFulfilledResult<Receipt>).value;
        expect(receipt.index).toBe(BigInt(i));
        checkReceipt(receipt, log.vkey);
      }
      expect(log.latest().size).toBe(BigInt(n));
    }
  });

  it('an entry caught by two failures is rejected, so a write fault that persists ends in errors', async () => {
    const dir = newDir();
    const full = { now: false };
    const store = (st: LogStore): LogStore => ({
      ...faultyStore({ fail: 'none' })(st),
      async commit(b) {
        await sleep(10);
        if (full.now) throw new Error('injected: no space left on device');
        await st.commit(b);
      },
    });
    const log = await Log.open({
      dir,
      origin: 'example.com/full',
      wrapStore: store,
      maxBatchSize: 4,
      maxBatchesAhead: 4,
    });
    full.now = true;
    const results = await Promise.allSettled(Array.from({ length: 40 }, (_, i) => log.append(entry(i))));
    expect(results.every((r) => r.status === 'rejected')).toBe(true);
    await log.close();
  });

  it('a durable batch whose receipts cannot be built is answered with an error naming its indices; the batches after it are answered', async () => {
    const dir = newDir();
    const log = await Log.open({ dir, origin: 'example.com/noreceipt', maxBatchSize: 4 });
    // Fault injection: the second batch's receipts need a read that fails.
    const inner = log as unknown as { receiptsFor: (...a: unknown[]) => Promise<Receipt[]> };
    const real = inner.receiptsFor.bind(log);
    let calls = 0;
    inner.receiptsFor = (...a) => {
      calls++;
      return calls === 2 ? Promise.reject(new Error('injected: tile read failed')) : real(...a);
    };
    const results = await Promise.allSettled(Array.from({ length: 12 }, (_, i) => log.append(entry(i))));
    const rejected = results.flatMap((r, i) => (r.status === 'rejected' ? [{ i, e: r.reason }] : []));
    expect(rejected.map((x) => x.i)).toEqual([4, 5, 6, 7]);
    for (const { e } of rejected) {
      expect(e.code).toBe('STORAGE');
      expect(e.message).toMatch(/committed at indices 4\.\.7 of the tree of size 8/);
    }
    for (const r of results) if (r.status === 'fulfilled') checkReceipt(r.value, log.vkey);
    // The entries are in the log where the error says, and the log goes on.
    expect(await log.indexOfLeafHash(model.leafHash(entry(5)))).toBe(5n);
    expect((await log.append(entry(99))).index).toBe(12n);
    await log.close();
  });

  it('an unexpected exception in the commit loop stops the log: every entry held is answered with an error, none hangs, and a restart serves what was committed', async () => {
    const dir = newDir();
    const log = await Log.open({
      dir,
      origin: 'example.com/defect',
      wrapStore: countingStore(5, { commits: 0 }),
      maxBatchSize: 4,
      maxBatchesAhead: 4,
    });
    // Fault injection: a defect (not a storage or signer failure) in publishing the third
    // durable batch, while the next write is on the disk and more are staged.
    const inner = log as unknown as { publish: (...a: unknown[]) => Promise<void> };
    const real = inner.publish.bind(log);
    let published = 0;
    inner.publish = (...a) =>
      ++published === 3 ? Promise.reject(new Error('injected: defect')) : real(...a);
    const results = await Promise.allSettled(Array.from({ length: 40 }, (_, i) => log.append(entry(i))));
    const rejected = results.filter((r) => r.status === 'rejected');
    expect(rejected.length).toBeGreaterThan(0);
    for (const r of rejected) expect((r as PromiseRejectedResult).reason.code).toBe('INTERNAL');
    for (const r of results) if (r.status === 'fulfilled') checkReceipt(r.value, log.vkey);
    await expect(log.append(entry(99))).rejects.toMatchObject({ code: 'INTERNAL' });
    await log.close();
    const reopened = await Log.open({ dir });
    try {
      // Every answered entry is in the log where its receipt says; the store is consistent.
      const size = reopened.latest().size;
      const inLog = (await reopened.entries(0n, size)).map(hex);
      for (const [i, r] of results.entries()) {
        if (r.status === 'fulfilled') expect(inLog[Number(r.value.index)]).toBe(hex(entry(i)));
      }
      expect((await reopened.append(entry(100))).index).toBe(size);
    } finally {
      await reopened.close();
    }
  });

  it('signatures in flight stay within maxBatchesAhead across failed writes and slow signatures', async () => {
    const dir = newDir();
    const base = await keyOf(dir, 'example.com/bound');
    // Every write is refused (say ENOSPC), so each round starts again from the empty tree: its
    // first batch (size 4) is signed at once and fails at the disk, while the batches staged
    // behind it wait on a slow signature (a KMS with a long tail) and are dropped.
    const stats = { inFlight: 0, maxInFlight: 0 };
    const signer: Signer = {
      name: base.name,
      publicKey: base.publicKey,
      async sign(m) {
        stats.inFlight++;
        stats.maxInFlight = Math.max(stats.maxInFlight, stats.inFlight);
        try {
          await sleep(new TextDecoder().decode(m).split('\n')[1] === '4' ? 1 : 300);
          return await base.sign(m);
        } finally {
          stats.inFlight--;
        }
      },
    };
    const store = (s: LogStore): LogStore => ({
      ...faultyStore({ fail: 'none' })(s),
      async commit() {
        throw new Error('injected: no space left on device');
      },
    });
    const log = await Log.open({ dir, signer, wrapStore: store, maxBatchSize: 4, maxBatchesAhead: 2 });
    for (let round = 0; round < 20; round++) {
      const rs = await Promise.allSettled(
        Array.from({ length: 12 }, (_, i) => log.append(entry(round * 100 + i))),
      );
      expect(rs.every((r) => r.status === 'rejected')).toBe(true);
    }
    await log.close();
    expect(stats.maxInFlight).toBeLessThanOrEqual(2);
  });

  it('once a staged batch has failed to be signed, nothing is staged on top of it', async () => {
    const dir = newDir();
    const base = await keyOf(dir, 'example.com/no-dead-trees');
    // Sizes the signer is asked to sign. The first batch's signature is slow; the second one
    // fails at once (before the loop's next turn), so the loop knows of it before staging more.
    const asked: number[] = [];
    let calls = 0;
    const signer: Signer = {
      name: base.name,
      publicKey: base.publicKey,
      async sign(m) {
        asked.push(Number(new TextDecoder().decode(m).split('\n')[1]));
        const k = ++calls;
        if (k === 1) await sleep(50);
        if (k === 2) throw new Error('injected: signature 2 failed');
        return base.sign(m);
      },
    };
    const log = await Log.open({ dir, signer, maxBatchSize: 2, maxBatchesAhead: 8 });
    const results = await Promise.allSettled(Array.from({ length: 10 }, (_, i) => log.append(entry(i))));
    await log.close();
    expect(results.map((r) => r.status === 'fulfilled')).toEqual([
      true,
      true,
      false,
      false,
      true,
      true,
      true,
      true,
      true,
      true,
    ]);
    // 2 (batch 1), 4 (failed), then 4, 6, 8 over the reloaded tree of 2: never a tree holding
    // the failed batch.
    expect(asked).toEqual([2, 4, 4, 6, 8]);
  });

  it('at most maxBatchesAhead + 1 batches are held beyond the pool (staged, or in the write on the disk)', async () => {
    const dir = newDir();
    let submitted = 0;
    let answered = 0;
    let maxHeld = 0;
    const counts = { commits: 0 };
    const log = await Log.open({
      dir,
      origin: 'example.com/held',
      wrapStore: countingStore(60, counts), // a slow fsync
      maxBatchSize: 4,
      maxBatchesAhead: 2,
    });
    const timer = setInterval(() => {
      maxHeld = Math.max(maxHeld, submitted - log.pending - answered);
    }, 1);
    const ps: Promise<unknown>[] = [];
    for (let i = 0; i < 60; i++) {
      submitted++;
      ps.push(log.append(entry(i)).then(() => answered++));
    }
    await Promise.all(ps);
    clearInterval(timer);
    await log.close();
    expect(maxHeld).toBeGreaterThan(4); // more than one batch was held at times
    expect(maxHeld).toBeLessThanOrEqual((2 + 1) * 4);
  });
});

describe('entries and bundles', () => {
  it('a submitter that reuses its buffer after the receipt does not change the bundle a later batch completes', async () => {
    const log = await Log.open({ dir: newDir(), origin: 'example.com/reuse', maxBatchSize: 256 });
    const buf = new TextEncoder().encode('original bytes');
    const first = await log.append(buf);
    buf.fill(0x21); // reused for something else
    await Promise.all(Array.from({ length: 255 }, (_, i) => log.append(entry(i)))); // completes bundle 0
    const [stored] = await log.entries(0n, 1n);
    expect(new TextDecoder().decode(stored)).toBe('original bytes');
    expect(hex(model.leafHash(stored!))).toBe(hex(first.leaf_hash));
    await log.close();
  });

  it('reading a partial bundle while a write completes it returns the entries, not an error', async () => {
    let gate: Promise<void> | undefined;
    let open: () => void = () => {};
    const store = (s: LogStore): LogStore => ({
      ...faultyStore({ fail: 'none' })(s),
      async readBundleChunks(i) {
        if (gate) await gate; // the write completing the bundle lands here, between the reads
        return s.readBundleChunks(i);
      },
    });
    const log = await Log.open({
      dir: newDir(),
      origin: 'example.com/race',
      wrapStore: store,
      maxBatchSize: 256,
    });
    await Promise.all(Array.from({ length: 100 }, (_, i) => log.append(entry(i))));
    gate = new Promise((r) => {
      open = r;
    });
    const reading = log.entries(0n, 100n);
    await sleep(20);
    gate = undefined;
    await Promise.all(Array.from({ length: 156 }, (_, i) => log.append(entry(100 + i))));
    open();
    expect((await reading).map(hex)).toEqual(Array.from({ length: 100 }, (_, i) => hex(entry(i))));
    await log.close();
  });
});
