import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { Level } from 'level';
import { afterEach, describe, expect, it } from 'vitest';
import { LEAF_INDEX_LIMITS } from '../../src/sequencer/leaf-index.js';
import { tileKey } from '../../src/storage/keys.js';
import { Log } from '../../src/sequencer/log.js';
import type { Receipt } from '../../src/sequencer/receipt.js';
import { tempLogDirs } from '../helpers/server.js';

// Small bounds, so that a few thousand entries exercise what a million would in production.
// The worker (a separate thread) keeps its own defaults; these bound the hand-over to it.
const DEFAULTS = { ...LEAF_INDEX_LIMITS };
afterEach(() => Object.assign(LEAF_INDEX_LIMITS, DEFAULTS));

const newDir = tempLogDirs();
const entry = (i: number) => new TextEncoder().encode(`leaf index entry ${i}`);

async function appendRange(log: Log, from: number, to: number): Promise<Receipt[]> {
  const out: Receipt[] = [];
  for (let i = from; i < to; i += 500) {
    const batch = [];
    for (let j = i; j < Math.min(to, i + 500); j++) batch.push(log.append(entry(j)));
    out.push(...(await Promise.all(batch)));
  }
  return out;
}

/** Opens a stopped log's LevelDB (the log core's or the index's) directly, to damage it. */
async function openStopped(location: string): Promise<Level<Uint8Array, Uint8Array>> {
  const db = new Level<Uint8Array, Uint8Array>(location, { keyEncoding: 'view', valueEncoding: 'view' });
  await db.open();
  return db;
}

async function expectFound(log: Log, receipts: Receipt[], sample: number[]): Promise<void> {
  for (const i of sample) expect(await log.indexOfLeafHash(receipts[i]!.leaf_hash)).toBe(BigInt(i));
}

describe('leaf-hash index catch-up', () => {
  it('rebuilds a deleted index in the background, in windows, while appends go on; every entry is found', async () => {
    Object.assign(LEAF_INDEX_LIMITS, { maxPending: 2000, flushAt: 256, catchUpWindow: 512 });
    const dir = newDir();
    let log = await Log.open({ dir, origin: 'example.com/leaf-index-catch-up' });
    const first = await appendRange(log, 0, 5000);
    await log.close();
    // A gap larger than maxPending: handed over all at once, it would stop indexing.
    rmSync(join(dir, 'leaf-index'), { recursive: true, force: true });
    log = await Log.open({ dir });
    // Without waiting (the HTTP API's way), a lookup during the rebuild is UNAVAILABLE (503).
    await expect(
      log.indexOfLeafHash(first[10]!.leaf_hash, log.latest().size, { wait: false }),
    ).rejects.toMatchObject({ code: 'UNAVAILABLE' });
    const more = await appendRange(log, 5000, 6000); // while the catch-up runs
    const all = [...first, ...more];
    await expectFound(log, all, [0, 1, 255, 256, 2047, 4999, 5000, 5500, 5999]);
    expect(await log.indexOfLeafHash(first[10]!.leaf_hash, log.latest().size, { wait: false })).toBe(10n);
    const later = await appendRange(log, 6000, 6300); // after it: handed over as usual
    all.push(...later);
    await expectFound(log, all, [6000, 6299]);
    await log.close();
    log = await Log.open({ dir });
    await expectFound(log, all, [3, 4321, 5999, 6299]);
    await log.close();
  });

  it('closing during the catch-up leaves a marker the next start-up goes on from', async () => {
    Object.assign(LEAF_INDEX_LIMITS, { catchUpWindow: 256 });
    const dir = newDir();
    let log = await Log.open({ dir, origin: 'example.com/leaf-index-close' });
    const rs = await appendRange(log, 0, 4000);
    await log.close();
    rmSync(join(dir, 'leaf-index'), { recursive: true, force: true });
    log = await Log.open({ dir });
    const more = await appendRange(log, 4000, 4100);
    await log.close(); // most likely mid catch-up
    log = await Log.open({ dir });
    await expectFound(log, [...rs, ...more], [0, 1000, 3999, 4000, 4099]);
    await log.close();
  });

  it('rebuilds an index that reaches past the tree (a log restored from an older copy)', async () => {
    const dir = newDir();
    let log = await Log.open({ dir, origin: 'example.com/leaf-index-ahead' });
    const rs = await appendRange(log, 0, 700);
    await log.close();
    const idx = await openStopped(join(dir, 'leaf-index'));
    const marker = new Uint8Array(8);
    new DataView(marker.buffer).setBigUint64(0, 4096n * 250n); // whole runs: a consistent marker
    await idx.put(new Uint8Array([0x00]), marker);
    await idx.close();
    log = await Log.open({ dir });
    const more = await appendRange(log, 700, 800);
    await expectFound(log, [...rs, ...more], [0, 699, 700, 799]);
    await log.close();
  });

  it('answers UNAVAILABLE, not a false miss, when the catch-up cannot read a tile', async () => {
    const dir = newDir();
    let log = await Log.open({ dir, origin: 'example.com/leaf-index-broken' });
    const rs = await appendRange(log, 0, 700);
    await log.close();
    rmSync(join(dir, 'leaf-index'), { recursive: true, force: true });
    // Drop the full level-0 tile 0 (start-up needs only the right edge, so the log still opens).
    const db = await openStopped(join(dir, 'db'));
    await db.del(tileKey(0, 0n));
    await db.close();
    log = await Log.open({ dir });
    await expect(log.indexOfLeafHash(rs[300]!.leaf_hash)).rejects.toMatchObject({ code: 'UNAVAILABLE' });
    await log.close();
  });

  it('once the index falls too far behind, lookups of committed entries are UNAVAILABLE, not a false 404', async () => {
    // A small bound, so that one batch goes over it (in production: the worker 2^20 hashes behind).
    Object.assign(LEAF_INDEX_LIMITS, { maxPending: 100, flushAt: 50 });
    const log = await Log.open({ dir: newDir(), origin: 'example.com/overflow' });
    const receipts = await Promise.all(Array.from({ length: 300 }, (_, i) => log.append(entry(i))));
    const outcome = await log
      .indexOfLeafHash(receipts[200]!.leaf_hash, log.latest().size, { wait: false })
      .then(
        (index) => ({ index }),
        (e: { code?: string }) => ({ code: e.code }),
      );
    await log.close();
    expect([{ index: 200n }, { code: 'UNAVAILABLE' }]).toContainEqual(outcome);
  });
});
