/**
 * The leaf-hash → index map behind RFC 6962 get-proof-by-hash.
 *
 * It is derived data, so it stays off the commit path: a random-key LevelDB insert costs
 * ~15 µs, more than everything else an append does. After each commit the new leaf hashes
 * are written in the background (sync: false) together with a marker of how far the index
 * reaches; at start-up the gap between the marker and the tree size is re-indexed from the
 * level-0 tiles. A hash whose index is not written yet is simply not found for a moment.
 */
import { HASH_SIZE } from '../merkle/rfc6962.js';
import { TILE_WIDTH } from '../merkle/tiles.js';
import { leafIndexKey } from '../storage/keys.js';
import type { LogDB } from '../storage/level-store.js';

const KEY_INDEXED = new Uint8Array([0x07]);
/** Largest number of hashes waiting to be indexed; beyond it indexing catches up from tiles. */
const MAX_PENDING = 1 << 20;

function u64(v: bigint): Uint8Array {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigUint64(0, v);
  return b;
}

function readU64(b: Uint8Array): bigint {
  return new DataView(b.buffer, b.byteOffset, b.byteLength).getBigUint64(0);
}

export class LeafIndex {
  private pending: { start: bigint; hashes: Uint8Array[] }[] = [];
  private pendingCount = 0;
  private indexed = 0n;
  private flushing: Promise<void> | undefined;
  private stopped = false;

  constructor(
    private readonly db: LogDB,
    /** Reads the stored level-0 tile `index` (committed leaf hashes). */
    private readonly readLeafTile: (index: bigint) => Promise<Uint8Array | undefined>,
  ) {}

  /** Reads the marker and re-indexes up to `size` in the background. */
  async start(size: bigint): Promise<void> {
    const m = await this.db.get(KEY_INDEXED);
    this.indexed = m ? readU64(m) : 0n;
    if (this.indexed < size) this.flushing = this.catchUp(this.indexed, size);
  }

  /** Queues the leaf hashes of a committed batch starting at `start`. */
  add(start: bigint, hashes: Uint8Array[]): void {
    if (this.stopped) return;
    if (this.pendingCount + hashes.length > MAX_PENDING) return; // the next start-up re-indexes from tiles
    this.pending.push({ start, hashes });
    this.pendingCount += hashes.length;
    if (!this.flushing) this.flushing = this.flush();
  }

  private async flush(): Promise<void> {
    await new Promise((r) => setImmediate(r));
    while (this.pending.length > 0 && !this.stopped) {
      const groups = this.pending.splice(0);
      this.pendingCount = 0;
      for (const g of groups) {
        if (g.start !== this.indexed) continue; // a gap (dropped when over MAX_PENDING): left to start-up
        await this.write(g.start, g.hashes);
      }
    }
    this.flushing = undefined;
  }

  private async write(start: bigint, hashes: Uint8Array[]): Promise<void> {
    const ops: { type: 'put'; key: Uint8Array; value: Uint8Array }[] = hashes.map((h, i) => ({
      type: 'put',
      key: leafIndexKey(h),
      value: u64(start + BigInt(i)),
    }));
    this.indexed = start + BigInt(hashes.length);
    ops.push({ type: 'put', key: KEY_INDEXED, value: u64(this.indexed) });
    await this.db.batch(ops);
  }

  private async catchUp(from: bigint, to: bigint): Promise<void> {
    const W = BigInt(TILE_WIDTH);
    for (let t = from / W; t * W < to && !this.stopped; t++) {
      const tile = await this.readLeafTile(t);
      if (!tile) break;
      const hashes: Uint8Array[] = [];
      for (let i = t * W; i < to && i < (t + 1n) * W; i++) {
        const off = Number(i - t * W) * HASH_SIZE;
        if (i >= from && off + HASH_SIZE <= tile.length) hashes.push(tile.subarray(off, off + HASH_SIZE));
      }
      await this.write(t * W > from ? t * W : from, hashes);
    }
    this.flushing = this.pending.length > 0 ? this.flush() : undefined;
  }

  /** The index of a leaf hash, if indexed. */
  async lookup(leafHash: Uint8Array): Promise<bigint | undefined> {
    const v = await this.db.get(leafIndexKey(leafHash));
    return v ? readU64(v) : undefined;
  }

  /** Finishes the write in progress; call before closing the database. */
  async stop(): Promise<void> {
    while (this.flushing) await this.flushing;
    this.stopped = true;
  }
}
