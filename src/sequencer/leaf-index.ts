/**
 * The leaf-hash → index map behind RFC 6962 get-proof-by-hash (spec/storage.md).
 *
 * It is derived data, so it stays off the commit path. After each commit the new leaf hashes
 * go to a worker thread that owns a separate LevelDB (`<data>/leaf-index/`, written without
 * sync): sorted runs of hash prefixes, merged LSM-style (leaf-index-worker.ts), with a marker
 * of how far the runs on disk reach. The incomplete run lives only in the worker's memory, so
 * at start-up the gap between the marker and the tree size is re-indexed from the level-0
 * tiles: at most one run's worth after a restart (done before start() returns), or the whole
 * tree for a deleted index (in the background, below). Committed hashes are handed over in
 * runs of up to flushAt (one message per run, not per batch), and the run is flushed before
 * every lookup and whenever the sequencer goes idle; the worker handles messages in order, so
 * a lookup always sees every hash committed before it was asked (the worker searches the run
 * in its memory too). The queue to the worker is bounded: past it, indexing is left to the
 * next start-up's catch-up.
 *
 * A larger catch-up (e.g. a deleted or rebuilt index) runs in the background after start-up,
 * a tile at a time with at most catchUpWindow hashes queued to the worker; hashes committed
 * meanwhile wait and follow it, so the worker always receives them in order (its marker must
 * never pass a hash it has not written).
 * Lookups wait for the catch-up (or, asked not to wait, throw UNAVAILABLE meanwhile); after a
 * failed catch-up they throw UNAVAILABLE rather than answer from an incomplete index.
 */
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { equalHashes, HASH_SIZE } from '../merkle/rfc6962.js';
import { TILE_WIDTH } from '../merkle/tiles.js';
import { AuditlogError, check } from '../errors.js';
import type { LeafIndexWorkerData } from './leaf-index-worker.js';

/**
 * The bounds of the hand-over and the index's layout (exported so that tests can make them
 * small; the layout and mergeChunkEntries are read when a LeafIndex is constructed):
 * maxPending — most hashes handed to the worker and not yet taken in by it;
 * flushAt — hashes gathered before they are handed over in one message;
 * catchUpWindow — most catch-up hashes queued to the worker at once;
 * runSize, fanout, levels, pageEntries — the layout (spec/storage.md): leaves per level-0 run,
 *   runs merged into one of the next level, levels (the top one never merged), entries per
 *   page; an index written with other values is cleared and rebuilt from the tiles;
 * mergeChunkEntries — about how many entries one merge step reads (each step holds up the
 *   worker's adds and lookups meanwhile).
 */
export const LEAF_INDEX_LIMITS = {
  maxPending: 1 << 20,
  flushAt: 4096,
  catchUpWindow: 1 << 16,
  runSize: 4096,
  fanout: 16,
  levels: 3,
  pageEntries: 256,
  mergeChunkEntries: 1 << 14,
};

/** The worker's parameters from LEAF_INDEX_LIMITS, checked against what its encoding can hold. */
function workerParams(location: string): LeafIndexWorkerData {
  const { runSize, fanout, levels, pageEntries, mergeChunkEntries } = LEAF_INDEX_LIMITS;
  const whole = (v: number, min: number) => Number.isSafeInteger(v) && v >= min;
  check(
    whole(runSize, 1) && whole(fanout, 2) && whole(levels, 1) && levels <= 8 && whole(pageEntries, 1),
    'INTERNAL',
    'leaf index layout: runSize, pageEntries >= 1, fanout >= 2, 1 <= levels <= 8',
  );
  // Offsets within a run are u32; the run in memory and a merge step hold at most 2^21 entries.
  check(
    runSize * fanout ** (levels - 1) <= 2 ** 32,
    'INTERNAL',
    'leaf index top-level runs over 2^32 leaves',
  );
  const chunkPages = Math.max(2, Math.floor(mergeChunkEntries / (fanout * pageEntries)));
  check(
    whole(mergeChunkEntries, 1) && runSize <= 2 ** 21 && fanout * chunkPages * pageEntries <= 2 ** 21,
    'INTERNAL',
    'leaf index merge steps over 2^21 entries',
  );
  return { location, layout: { runSize, fanout, levels, pageEntries }, mergeChunkEntries };
}

export class LeafIndex {
  private readonly worker: Worker;
  private nextId = 1;
  private readonly waiting = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  /** How far hashes have been handed to the worker. */
  private sent = 0n;
  private pending = 0;
  private stopped = false;
  private closing = false;
  /**
   * Committed hashes not yet handed over, starting at `sent`: the packed hashes of each batch
   * given to `add` since the last flush, `runCount` in all.
   */
  private run: Uint8Array[] = [];
  private runCount = 0;
  /** False while the start-up catch-up runs: until then, new hashes wait in `run`. */
  private caughtUp = true;
  private catchUp: Promise<void> = Promise.resolve();
  /** Woken when the worker reports hashes taken in (the catch-up waits on it). */
  private onDone: (() => void) | undefined;
  /** Leaves per level-0 run: the worker's marker lags the hashes handed over by less. */
  private readonly runSize: bigint;

  constructor(
    dataDir: string,
    /** Reads the stored level-0 tile `index` (committed leaf hashes). */
    private readonly readLeafTile: (index: bigint) => Promise<Uint8Array | undefined>,
  ) {
    // The worker runs compiled JavaScript; when this module is loaded from TypeScript sources
    // (vitest), the build in dist/ provides it.
    const url = import.meta.url.endsWith('.ts')
      ? new URL('../../dist/src/sequencer/leaf-index-worker.js', import.meta.url)
      : new URL('./leaf-index-worker.js', import.meta.url);
    const params = workerParams(join(dataDir, 'leaf-index'));
    this.runSize = BigInt(params.layout.runSize);
    this.worker = new Worker(url, { workerData: params });
    this.worker.unref();
    this.worker.on(
      'message',
      (m: { op: string; id?: number; value?: unknown; error?: string; message?: string }) => {
        if (m.op === 'reply') {
          const w = this.waiting.get(m.id!);
          this.waiting.delete(m.id!);
          if (m.error === undefined) w?.resolve(m.value);
          else w?.reject(new AuditlogError('UNAVAILABLE', `leaf-hash index: ${m.error}`));
        } else if (m.op === 'error') {
          process.stderr.write(`auditlog: leaf index: ${m.message}\n`);
        } else if (m.op === 'done') {
          this.pending -= m.value as number;
          this.onDone?.();
        }
      },
    );
  }

  private call(msg: object): Promise<unknown> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      this.worker.postMessage({ ...msg, id });
    });
  }

  /**
   * Reads the marker and starts handing the gap up to `size` (re-read from level-0 tiles) to
   * the worker: in the background, or, when the gap is no more than one run (the incomplete
   * run, which is never on disk, as after every restart), before returning. Called once,
   * before any append.
   */
  async start(size: bigint): Promise<void> {
    let from = (await this.call({ op: 'indexed' })) as bigint;
    if (from > size) {
      // The index reaches past the tree (the log was restored from an older copy): rebuild.
      await this.call({ op: 'reset' });
      from = 0n;
    }
    this.sent = size;
    if (from >= size) return;
    this.caughtUp = false;
    this.catchUp = this.runCatchUp(from, size).then(
      (complete) => {
        if (!complete) return; // closing: the next start-up goes on from the marker
        this.caughtUp = true;
        this.flush();
      },
      (err: unknown) => {
        // Left to the next start-up; new hashes are not handed over past the gap.
        this.stopped = true;
        this.run = [];
        this.runCount = 0;
        process.stderr.write(`auditlog: leaf index catch-up failed: ${(err as Error).message}\n`);
      },
    );
    if (size - from <= this.runSize) await this.catchUp;
  }

  /** Hands the gap [from, size) to the worker; false if the index is closed before the end. */
  private async runCatchUp(from: bigint, size: bigint): Promise<boolean> {
    const W = BigInt(TILE_WIDTH);
    for (let t = from / W; t * W < size; t++) {
      if (this.closing) return false;
      while (this.pending > LEAF_INDEX_LIMITS.catchUpWindow) {
        await new Promise<void>((r) => {
          this.onDone = r;
        });
        this.onDone = undefined;
      }
      const tile = await this.readLeafTile(t);
      const first = t * W > from ? t * W : from;
      const last = (t + 1n) * W < size ? (t + 1n) * W : size;
      const bytes = tile?.slice(Number(first - t * W) * HASH_SIZE, Number(last - t * W) * HASH_SIZE);
      if (!bytes || bytes.length !== Number(last - first) * HASH_SIZE)
        throw new Error(`level-0 tile ${t} missing or short`);
      this.post(first, bytes);
    }
    return true;
  }

  private post(start: bigint, hashes: Uint8Array): void {
    this.pending += hashes.length / HASH_SIZE;
    this.worker.postMessage({ op: 'add', start, hashes }, [hashes.buffer as ArrayBuffer]);
  }

  /**
   * Takes the leaf hashes of a committed batch starting at `start`, packed (hash i at bytes
   * 32i..32i+32; kept by reference until the next flush copies it, so the caller must not
   * modify it); they reach the worker with the next flush (at flushAt hashes, before a
   * lookup, or when the sequencer goes idle).
   */
  add(start: bigint, hashes: Uint8Array): void {
    if (this.stopped || start !== this.sent + BigInt(this.runCount)) return;
    this.run.push(hashes);
    this.runCount += hashes.length / HASH_SIZE;
    if (this.runCount >= LEAF_INDEX_LIMITS.flushAt) this.flush();
  }

  /** Hands the gathered hashes to the worker (dropped, to be caught up at start-up, past maxPending). */
  flush(): void {
    const n = this.runCount;
    if (this.stopped || n === 0) return;
    if (this.pending + n > LEAF_INDEX_LIMITS.maxPending) {
      // Too far behind: stop indexing until the next start-up, which re-indexes from tiles.
      this.stopped = true;
      this.run = [];
      this.runCount = 0;
      return;
    }
    if (!this.caughtUp) return; // handed over after the catch-up, in order
    const buf = new Uint8Array(n * HASH_SIZE);
    let at = 0;
    for (const chunk of this.run) {
      buf.set(chunk, at);
      at += chunk.length;
    }
    this.run = [];
    this.runCount = 0;
    this.post(this.sent, buf);
    this.sent += BigInt(n);
  }

  /**
   * The latest index below `below` whose leaf hash is `leafHash`, if indexed (everything added
   * before the call is). The worker returns, latest first, up to 16 indices below `below` whose
   * hashes share the first 8 bytes of `leafHash`; each is confirmed against the stored level-0
   * tile. Throws UNAVAILABLE if the worker fails to answer.
   * While the start-up catch-up runs, waits for it, or with `wait` false throws UNAVAILABLE;
   * after a failed catch-up, or once indexing stopped short of `below`, throws UNAVAILABLE
   * (a miss could be a false 404). Requires `below` <= the committed tree size.
   */
  async lookup(leafHash: Uint8Array, below: bigint, wait = true): Promise<bigint | undefined> {
    if (!this.caughtUp && !wait) {
      throw new AuditlogError('UNAVAILABLE', 'the leaf-hash index is being rebuilt; retry later');
    }
    await this.catchUp;
    // The catch-up failed (or the index is closing); or indexing stopped (the worker fell too
    // far behind) and the hashes from `sent` on are missing.
    const incomplete = () => !this.caughtUp || (this.stopped && below > this.sent);
    if (!incomplete()) this.flush();
    if (incomplete()) {
      throw new AuditlogError('UNAVAILABLE', 'the leaf-hash index is incomplete until the next start-up');
    }
    const found = (await this.call({ op: 'lookup', hash: leafHash.slice(), below })) as bigint[];
    const W = BigInt(TILE_WIDTH);
    for (const index of found) {
      const tile = await this.readLeafTile(index / W);
      const at = Number(index % W) * HASH_SIZE;
      if (tile && tile.length >= at + HASH_SIZE && equalHashes(tile.subarray(at, at + HASH_SIZE), leafHash))
        return index;
    }
    return undefined;
  }

  /** Writes what was handed over and closes the worker's database. */
  async stop(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    await this.catchUp;
    this.flush();
    this.stopped = true;
    await this.call({ op: 'close' });
    await this.worker.terminate();
  }
}
