/**
 * The log: a pool of pending entries and a commit loop (spec/commit-protocol.md).
 *
 * Commit order, for every batch:
 *   1. take up to maxBatchSize pending entries (everything that arrived while the previous
 *      batch was committing, so batching adapts to load), cut at a bundle boundary when the
 *      batch would cross one (`batchLength`);
 *   2. hash the leaves and append them to the in-memory right edge of the tree (the whole
 *      batch at once, each level four hashes at a time: src/merkle/sha256x4.ts);
 *   3. compute the new root and sign ONE checkpoint for the batch;
 *   4. write entries (bundle chunks), tiles, the leaf-hash index, the new state with the
 *      signed checkpoint, and the callers' side operations in ONE LevelDB batch, sync: true;
 *      ---- after this point the batch is final ----
 *   5. publish the checkpoint, compute receipts, answer the waiting submitters.
 * A failure in 2–4 rejects the whole batch (nothing was acknowledged or published) and the
 * in-memory state is reloaded from storage with the same code that runs at start-up.
 */
import { join } from 'node:path';
import { AuditlogError } from '../errors.js';
import { hashLeaf } from '../merkle/rfc6962.js';
import { hashLeaves, splitHashes } from '../merkle/sha256x4.js';
import { consistencyRanges, inclusionRanges } from '../merkle/proof.js';
import { decodeEntryBundle, encodeEntryBundle, MAX_ENTRY_SIZE, TILE_WIDTH } from '../merkle/tiles.js';
import { signCheckpoint } from '../note/checkpoint.js';
import { concatBytes } from '../note/encoding.js';
import { formatVerifierKey } from '../note/keys.js';
import { ed25519Signer, type Signer } from '../note/signer.js';
import { signTreeHead } from '../note/sth.js';
import { createKeyFile, DB_DIR, isLogDir, readKeyFile } from '../storage/data-dir.js';
import { type LogDB, LevelLogStore, openLogDB } from '../storage/level-store.js';
import type { CommitBatch, LogState, LogStore, SideOp } from '../storage/store.js';
import type { Receipt } from './receipt.js';
import { LeafIndex } from './leaf-index.js';
import { Tree } from './tree.js';

/**
 * How many of `waiting` pending entries the next batch takes when the tree has `size` leaves:
 * up to `max`, but a batch that would cross a 256-entry bundle boundary and end inside the
 * next bundle ends at the last boundary it reaches instead (the rest waits for the next
 * batch, staged right behind it). Under load every batch then ends on a boundary, so it writes
 * its entries and level-0 hashes once, as full bundles and tiles; without the cut a batch
 * starting at offset o rewrites, in the bundle it completes, the o entries an earlier batch
 * wrote as a partial chunk, and the same for the level-0 tile: up to twice the bytes, and a
 * different amount from run to run (o depends on how the first batches happened to fall).
 * Requires waiting >= 1 and max >= 1; returns a count in 1..min(waiting, max).
 */
export function batchLength(size: bigint, waiting: number, max: number): number {
  const n = Math.min(waiting, max);
  const offset = Number(size % BigInt(TILE_WIDTH));
  const end = offset + n; // relative to the start of the bundle the batch begins in
  if (end <= TILE_WIDTH || end % TILE_WIDTH === 0) return n;
  return end - (end % TILE_WIDTH) - offset;
}

export interface LogOptions {
  /** Data directory (created with a new key when it holds no log yet and `origin` is given). */
  dir: string;
  /** The checkpoint origin (and key name); required to create a log, checked when opening one. */
  origin?: string;
  /** Overrides the key file's signer (a remote KMS/HSM, or latency injection in tests). */
  signer?: Signer;
  /** Most entries per batch (default 4096). */
  maxBatchSize?: number;
  /** How long a batch may wait to fill before committing (default 0: commit whatever arrived). */
  maxBatchDelayMs?: number;
  /** Most entries waiting in the pool; beyond it `append` throws OVERLOADED (default 65536). */
  maxQueue?: number;
  /** Largest accepted entry in bytes (default and maximum 65535, an entry bundle's limit). */
  maxEntrySize?: number;
  /**
   * Benchmark baseline only: sign a checkpoint for every entry, as a naive per-record signing
   * design would, and answer each entry with a receipt against its own checkpoint (only the
   * batch's last one is stored and published).
   */
  signPerEntry?: boolean;
  /** Wraps the store, for fault injection in tests. */
  wrapStore?: (store: LogStore) => LogStore;
  /** Clock in milliseconds since the epoch (tests). */
  now?: () => bigint;
}

interface Pending {
  entry: Uint8Array;
  sideOps: SideOp[] | undefined;
  resolve: (r: Receipt) => void;
  reject: (e: unknown) => void;
}

export type CommitListener = (state: LogState) => void;

/** A batch appended to the in-memory tree and signed, with its write once started. */
interface Staged {
  readonly batch: Pending[];
  readonly startSize: bigint;
  /** The batch's leaf hashes, for its receipts. */
  readonly leafHashes: Uint8Array[];
  /** The same packed (hash i at bytes 32i..32i+32), for the leaf-hash index. */
  readonly packedLeafHashes: Uint8Array;
  readonly commit: CommitBatch;
  write: Promise<void>;
  /** With signPerEntry: the checkpoint signed after each entry (entry i's at size startSize+i+1). */
  readonly entryNotes?: string[];
}

const NOT_WRITING: Promise<void> = Promise.resolve();

function asStorageError(err: unknown): AuditlogError {
  return err instanceof AuditlogError
    ? err
    : new AuditlogError('STORAGE', `commit failed: ${(err as Error).message}`, { cause: err });
}

export class Log {
  private readonly pool: Pending[] = [];
  private running = false;
  private closed = false;
  private failed: AuditlogError | undefined;
  private idle: Promise<void> = Promise.resolve();
  private idleResolve: (() => void) | undefined;
  /** Ends a batch's wait to fill early (on close). */
  private wake: (() => void) | undefined;
  private readonly listeners = new Set<CommitListener>();
  private sthCache: { size: bigint; sig: Uint8Array } | undefined;
  // Right-edge entry bundle (committed part), to write the full bundle without reading back.
  private rightBundle: Uint8Array[] = [];
  private rightChunkOffsets: number[] = [];
  private readonly leafIndex: LeafIndex;

  private constructor(
    /** The data directory. */
    readonly dir: string,
    readonly origin: string,
    readonly signer: Signer,
    readonly db: LogDB,
    private readonly store: LogStore,
    private tree: Tree,
    private state: LogState,
    private readonly opts: Required<
      Pick<LogOptions, 'maxBatchSize' | 'maxBatchDelayMs' | 'maxQueue' | 'maxEntrySize'>
    > &
      Pick<LogOptions, 'signPerEntry' | 'now'>,
  ) {
    this.leafIndex = new LeafIndex(dir, (index) => store.readTile(0, index));
  }

  /** The log's verifier key: `<origin>+<key id>+<base64(0x01||pubkey)>`. */
  get vkey(): string {
    return formatVerifierKey(this.origin, this.signer.publicKey);
  }

  /**
   * Opens the log in `opts.dir`, creating it (key file, database, a signed empty
   * checkpoint) when the directory holds no log and `opts.origin` is given.
   */
  static async open(opts: LogOptions): Promise<Log> {
    let seedSigner: Signer;
    if (!isLogDir(opts.dir)) {
      if (!opts.origin)
        throw new AuditlogError('NOT_FOUND', `${opts.dir} holds no log; give an origin to create one`);
      const seed = createKeyFile(opts.dir, opts.origin);
      seedSigner = ed25519Signer(opts.origin, seed);
    } else {
      const key = readKeyFile(opts.dir);
      seedSigner = ed25519Signer(key.name, key.seed);
    }
    const signer = opts.signer ?? seedSigner;
    const origin = signer.name;
    if (opts.origin && opts.origin !== origin) {
      throw new AuditlogError('CONFLICT', `the log in ${opts.dir} has origin ${origin}, not ${opts.origin}`);
    }
    const now = opts.now ?? (() => BigInt(Date.now()));
    const db = await openLogDB(join(opts.dir, DB_DIR));
    try {
      const base = new LevelLogStore(db);
      const store = opts.wrapStore ? opts.wrapStore(base) : base;
      const meta = await store.readMeta();
      if (meta && meta.origin !== origin) {
        throw new AuditlogError('CONFLICT', `database origin ${meta.origin} does not match key ${origin}`);
      }
      let state = await store.readState();
      if (!state) {
        // A new log: its first checkpoint is the signed empty tree, so /checkpoint always serves one.
        const emptyRoot = (await import('../merkle/rfc6962.js')).EMPTY_ROOT;
        const timestampMs = now();
        const note = await signCheckpoint({ origin, size: 0n, root: emptyRoot, extensions: [] }, signer);
        state = { size: 0n, root: emptyRoot, note, timestampMs };
        await store.writeMeta({ origin, version: 1 });
        await store.commit({ tiles: [], bundles: [], chunks: [], dropChunks: [], state, sideOps: [] });
      }
      const tree = await Tree.load(store, state.size, state.root);
      const log = new Log(opts.dir, origin, signer, db, store, tree, state, {
        maxBatchSize: opts.maxBatchSize ?? 4096,
        maxBatchDelayMs: opts.maxBatchDelayMs ?? 0,
        maxQueue: opts.maxQueue ?? 65536,
        maxEntrySize: Math.min(opts.maxEntrySize ?? MAX_ENTRY_SIZE, MAX_ENTRY_SIZE),
        signPerEntry: opts.signPerEntry,
        now,
      });
      await log.loadRightBundle();
      await log.leafIndex.start(state.size);
      return log;
    } catch (err) {
      await db.close();
      throw err;
    }
  }

  private async loadRightBundle(): Promise<void> {
    const index = this.state.size / BigInt(TILE_WIDTH);
    const chunks =
      this.state.size % BigInt(TILE_WIDTH) === 0n ? [] : await this.store.readBundleChunks(index);
    this.rightBundle = chunks.flatMap((c) => decodeEntryBundle(c.bundle));
    this.rightChunkOffsets = chunks.map((c) => c.offset);
    if (BigInt(this.rightBundle.length) !== this.state.size % BigInt(TILE_WIDTH)) {
      throw new AuditlogError(
        'STORAGE',
        `partial entry bundle ${index} has ${this.rightBundle.length} entries`,
      );
    }
  }

  /** Re-reads the committed state after a failed commit: the start-up path. */
  private async reload(): Promise<void> {
    const state = await this.store.readState();
    if (!state) throw new AuditlogError('STORAGE', 'state vanished');
    this.state = state;
    this.tree = await Tree.load(this.store, state.size, state.root);
    await this.loadRightBundle();
  }

  /** The latest committed (and published) checkpoint. */
  latest(): LogState {
    return this.state;
  }

  /** Entries waiting for a batch. */
  get pending(): number {
    return this.pool.length;
  }

  /** Calls `listener` after every commit, with the new state. Returns an unsubscribe function. */
  onCommit(listener: CommitListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * Queues an entry; resolves with its receipt once the batch holding it (and `sideOps`) is
   * durably committed.
   * @throws AuditlogError TOO_LARGE, OVERLOADED (pool full; retry later), CLOSED, STORAGE.
   */
  append(entry: Uint8Array, sideOps?: SideOp[]): Promise<Receipt> {
    if (this.closed) return Promise.reject(new AuditlogError('CLOSED', 'the log is shutting down'));
    if (this.failed) return Promise.reject(this.failed);
    if (entry.length > this.opts.maxEntrySize) {
      return Promise.reject(
        new AuditlogError('TOO_LARGE', `entry of ${entry.length} bytes exceeds ${this.opts.maxEntrySize}`),
      );
    }
    if (this.pool.length >= this.opts.maxQueue) {
      return Promise.reject(
        new AuditlogError('OVERLOADED', `${this.pool.length} entries waiting; retry later`),
      );
    }
    return new Promise<Receipt>((resolve, reject) => {
      this.pool.push({ entry, sideOps, resolve, reject });
      if (!this.running) this.start();
    });
  }

  private start(): void {
    this.running = true;
    this.idle = new Promise((r) => {
      this.idleResolve = r;
    });
    // setImmediate lets every submission that arrived in this turn join the first batch.
    setImmediate(() => void this.loop());
  }

  /**
   * The commit loop, two batches deep: while batch N's write is on the disk, batch N+1 is
   * hashed, appended to the in-memory tree and signed; N+1's write starts only once N's has
   * succeeded, and N's receipts are computed while N+1's write is on the disk. So the disk
   * and the CPU work at the same time, and writes still happen strictly in order.
   */
  private async loop(): Promise<void> {
    /** The batch whose write is on the disk. */
    let writing: Staged | undefined;
    try {
      for (;;) {
        let staged: Staged | undefined;
        let stageError: AuditlogError | undefined;
        if (this.pool.length > 0) {
          await this.waitToFill();
          const batch = this.pool.splice(
            0,
            batchLength(this.tree.size, this.pool.length, this.opts.maxBatchSize),
          );
          if (this.failed) {
            for (const p of batch) p.reject(this.failed);
          } else {
            try {
              staged = await this.stage(batch);
            } catch (err) {
              // The tree may hold part of this batch: it is reloaded below, once the write in
              // flight (which the reload must see) has settled.
              stageError = asStorageError(err);
              for (const p of batch) p.reject(stageError);
            }
          }
        }
        if (writing) {
          const err = await writing.write.then(
            () => undefined,
            (e: unknown) => asStorageError(e),
          );
          if (err) {
            // Nothing of either batch was acknowledged or published; the staged one was signed
            // over a tree that included the failed one, so its signature is discarded too.
            for (const p of writing.batch) p.reject(err);
            if (staged) for (const p of staged.batch) p.reject(err);
            writing = undefined;
            await this.recover();
            continue;
          }
          // ---- writing's batch is final: durable, and its checkpoint may now be published ----
          const done = writing;
          writing = staged ? this.startWrite(staged) : undefined;
          await this.publish(done);
          // Let the answered submitters' continuations (and I/O) run, so that what they
          // submit next is in the pool for the next batch to be staged while this write runs.
          if (writing) await new Promise<void>((r) => setImmediate(r));
        } else if (staged) {
          writing = this.startWrite(staged);
        }
        if (stageError) {
          if (writing) continue; // settle it first, then reload
          await this.recover();
        }
        if (!writing && this.pool.length === 0) break;
      }
      this.leafIndex.flush();
    } finally {
      this.running = false;
      this.idleResolve?.();
    }
  }

  /** With maxBatchDelayMs > 0, waits that long (or until close) for a batch to fill. */
  private async waitToFill(): Promise<void> {
    if (this.opts.maxBatchDelayMs <= 0 || this.pool.length >= this.opts.maxBatchSize || this.closed) return;
    await new Promise<void>((r) => {
      const timer = setTimeout(r, this.opts.maxBatchDelayMs);
      this.wake = () => {
        clearTimeout(timer);
        r();
      };
    });
    this.wake = undefined;
  }

  private startWrite(staged: Staged): Staged {
    staged.write = this.store.commit(staged.commit);
    // Settled by the loop; this keeps an early rejection from counting as unhandled.
    staged.write.catch(() => {});
    return staged;
  }

  /** Reloads the committed state after a failure (the start-up path); on failure, the log stops. */
  private async recover(): Promise<void> {
    try {
      await this.reload();
    } catch (reloadErr) {
      this.failed = new AuditlogError(
        'STORAGE',
        `log failed and could not recover: ${(reloadErr as Error).message}`,
        { cause: reloadErr },
      );
    }
  }

  /** Step 5 for a durable batch: publish its checkpoint, compute receipts, answer submitters. */
  private async publish(done: Staged): Promise<void> {
    const state = done.commit.state;
    this.state = state;
    for (const l of this.listeners) {
      try {
        l(state);
      } catch {
        // A listener's failure must not undo a committed batch.
      }
    }
    this.leafIndex.add(done.startSize, done.packedLeafHashes);
    const receipts = done.entryNotes
      ? await this.perEntryReceipts(done.startSize, done.leafHashes, done.entryNotes)
      : await this.receiptsFor(done.startSize, done.leafHashes, state);
    for (let i = 0; i < done.batch.length; i++) done.batch[i]!.resolve(receipts[i]!);
  }

  /**
   * Steps 2–3: appends the batch to the in-memory tree (which may be one batch ahead of the
   * committed state), signs, and builds the one atomic write.
   */
  private async stage(batch: Pending[]): Promise<Staged> {
    const startSize = this.tree.size;
    let leafHashes: Uint8Array[] = [];
    let packedLeafHashes: Uint8Array;
    const commit: CommitBatch = {
      tiles: [],
      bundles: [],
      chunks: [],
      dropChunks: [],
      state: this.state,
      sideOps: [],
    };
    const W = BigInt(TILE_WIDTH);
    let bundleIndex = startSize / W;
    let offset = Number(startSize % W);
    let chunkStart = offset;
    let fresh: Uint8Array[] = [];
    const bundle = this.rightBundle.slice();
    const chunkOffsets = this.rightChunkOffsets.slice();
    let entryNotes: string[] | undefined;
    if (this.opts.signPerEntry) {
      // The benchmark's naive baseline: a root and a signed checkpoint after every entry, each
      // handed to that entry's submitter in its receipt (the batch's own checkpoint, signed
      // below, is the last entry's).
      entryNotes = [];
      for (let i = 0; i < batch.length; i++) {
        const leafHash = hashLeaf(batch[i]!.entry);
        leafHashes.push(leafHash);
        this.tree.appendLeaf(leafHash);
        if (i < batch.length - 1) {
          entryNotes.push(
            await signCheckpoint(
              { origin: this.origin, size: this.tree.size, root: this.tree.root(), extensions: [] },
              this.signer,
            ),
          );
        }
      }
      packedLeafHashes = concatBytes(...leafHashes);
    } else {
      // The whole batch at once: leaves, then each tree level, four hashes at a time.
      const entries: Uint8Array[] = new Array(batch.length);
      for (let i = 0; i < batch.length; i++) entries[i] = batch[i]!.entry;
      packedLeafHashes = hashLeaves(entries);
      leafHashes = splitHashes(packedLeafHashes);
      this.tree.appendLeaves(packedLeafHashes, leafHashes);
    }
    for (let i = 0; i < batch.length; i++) {
      const p = batch[i]!;
      if (p.sideOps) for (const op of p.sideOps) commit.sideOps.push(op);
      bundle.push(p.entry);
      fresh.push(p.entry);
      offset++;
      if (offset === TILE_WIDTH) {
        commit.bundles.push({ index: bundleIndex, bundle: encodeEntryBundle(bundle) });
        for (const o of chunkOffsets) commit.dropChunks.push({ index: bundleIndex, offset: o });
        bundle.length = 0;
        chunkOffsets.length = 0;
        fresh = [];
        bundleIndex++;
        offset = 0;
        chunkStart = 0;
      }
    }
    if (fresh.length > 0) {
      commit.chunks.push({ index: bundleIndex, offset: chunkStart, bundle: encodeEntryBundle(fresh) });
      chunkOffsets.push(chunkStart);
    }
    commit.tiles = this.tree.takeTileWrites();
    const size = this.tree.size;
    const root = this.tree.root();
    const timestampMs = this.opts.now!();
    const note = await signCheckpoint({ origin: this.origin, size, root, extensions: [] }, this.signer);
    commit.state = { size, root, note, timestampMs };
    // Only reached when staging succeeded; on a failed commit reload() restores these.
    this.rightBundle = bundle;
    this.rightChunkOffsets = chunkOffsets;
    if (entryNotes) entryNotes.push(note);
    return { batch, startSize, leafHashes, packedLeafHashes, commit, write: NOT_WRITING, entryNotes };
  }

  private async receiptsFor(
    startSize: bigint,
    leafHashes: Uint8Array[],
    state: LogState,
  ): Promise<Receipt[]> {
    const proofs = this.tree.inclusionProofsSync(startSize, leafHashes.length, state.size, leafHashes);
    const out: Receipt[] = [];
    for (let i = 0; i < leafHashes.length; i++) {
      const index = startSize + BigInt(i);
      const proof = proofs[i] ?? (await this.inclusionProof(index, state.size));
      out.push({
        origin: this.origin,
        index,
        tree_size: state.size,
        leaf_hash: leafHashes[i]!,
        inclusion_proof: proof,
        checkpoint: state.note,
      });
    }
    return out;
  }

  /**
   * signPerEntry receipts: entry i's proof is against its own checkpoint, the tree of size
   * startSize+i+1, as a design that signs every record would answer each submitter.
   */
  private async perEntryReceipts(
    startSize: bigint,
    leafHashes: Uint8Array[],
    notes: string[],
  ): Promise<Receipt[]> {
    const out: Receipt[] = [];
    for (let i = 0; i < leafHashes.length; i++) {
      const index = startSize + BigInt(i);
      const size = index + 1n;
      const proof =
        this.tree.inclusionProofsSync(index, 1, size)[0] ?? (await this.inclusionProof(index, size));
      out.push({
        origin: this.origin,
        index,
        tree_size: size,
        leaf_hash: leafHashes[i]!,
        inclusion_proof: proof,
        checkpoint: notes[i]!,
      });
    }
    return out;
  }

  private checkSize(size: bigint, what: string): void {
    if (size < 0n || size > this.state.size) {
      throw new AuditlogError('OUT_OF_RANGE', `${what} ${size} is beyond the tree size ${this.state.size}`);
    }
  }

  /** Inclusion proof of `index` in the committed tree of `size`. Requires index < size <= latest size. */
  async inclusionProof(index: bigint, size: bigint): Promise<Uint8Array[]> {
    this.checkSize(size, 'tree size');
    if (index < 0n || index >= size)
      throw new AuditlogError('OUT_OF_RANGE', `index ${index} is not below ${size}`);
    const out: Uint8Array[] = [];
    for (const r of inclusionRanges(index, size)) out.push(await this.tree.subtreeHash(r.start, r.end));
    return out;
  }

  /** Consistency proof from `size1` to `size2`. Requires 0 <= size1 <= size2 <= latest size. */
  async consistencyProof(size1: bigint, size2: bigint): Promise<Uint8Array[]> {
    this.checkSize(size2, 'tree size');
    if (size1 < 0n || size1 > size2)
      throw new AuditlogError('OUT_OF_RANGE', `first ${size1} > second ${size2}`);
    const out: Uint8Array[] = [];
    for (const r of consistencyRanges(size1, size2)) out.push(await this.tree.subtreeHash(r.start, r.end));
    return out;
  }

  /** Root of the committed tree of `size`. Requires size <= latest size. */
  async rootAt(size: bigint): Promise<Uint8Array> {
    this.checkSize(size, 'tree size');
    if (size === this.state.size) return this.state.root;
    if (size === 0n) return (await import('../merkle/rfc6962.js')).EMPTY_ROOT;
    return this.tree.subtreeHash(0n, size);
  }

  /** Leaf hash at `index` of the committed tree. */
  async leafHash(index: bigint): Promise<Uint8Array> {
    this.checkSize(index + 1n, 'index + 1');
    return this.tree.nodeHash(0, index);
  }

  /**
   * Index of an entry with this leaf hash in the committed tree of size `below` (default: the
   * latest), if any: the latest such index when the entry was appended more than once. While
   * the index is being rebuilt at start-up this waits for it, or, with `opts.wait` false (the
   * HTTP API), throws UNAVAILABLE.
   */
  async indexOfLeafHash(
    leafHash: Uint8Array,
    below: bigint = this.state.size,
    opts: { wait?: boolean } = {},
  ): Promise<bigint | undefined> {
    this.checkSize(below, 'tree size');
    return this.leafIndex.lookup(leafHash, below, opts.wait ?? true);
  }

  /**
   * The stored hashes of tile (level, index) as of the committed tree, cut to `width`
   * hashes; undefined when the committed tree has fewer.
   */
  async readTile(level: number, index: bigint, width: number): Promise<Uint8Array | undefined> {
    const t = await this.store.readTile(level, index);
    if (!t || t.length < width * 32) return undefined;
    return t.subarray(0, width * 32);
  }

  /** Entry bundle `index` cut to `width` entries; undefined when the committed tree has fewer. */
  async readBundle(index: bigint, width: number): Promise<Uint8Array | undefined> {
    const full = await this.store.readBundle(index);
    if (full) return width === TILE_WIDTH ? full : encodeEntryBundle(decodeEntryBundle(full).slice(0, width));
    if (width === TILE_WIDTH) return undefined;
    const chunks = await this.store.readBundleChunks(index);
    const entries = chunks.flatMap((c) => decodeEntryBundle(c.bundle));
    if (entries.length < width) return undefined;
    return encodeEntryBundle(entries.slice(0, width));
  }

  /** Entries [start, end) of the committed tree. Requires start <= end <= latest size. */
  async entries(start: bigint, end: bigint): Promise<Uint8Array[]> {
    this.checkSize(end, 'end');
    if (start < 0n || start > end) throw new AuditlogError('OUT_OF_RANGE', `start ${start} > end ${end}`);
    const W = BigInt(TILE_WIDTH);
    const out: Uint8Array[] = [];
    for (let b = start / W; b * W < end; b++) {
      const width = end >= (b + 1n) * W ? TILE_WIDTH : Number(end - b * W);
      const bundle = await this.readBundle(b, width);
      if (!bundle) throw new AuditlogError('STORAGE', `entry bundle ${b} missing`);
      const entries = decodeEntryBundle(bundle);
      const from = b * W < start ? Number(start - b * W) : 0;
      for (let i = from; i < width; i++) out.push(entries[i]!);
    }
    return out;
  }

  /**
   * The RFC 6962 TreeHeadSignature (DigitallySigned bytes) of the latest tree head. Signed
   * lazily, at most once per tree head: Ed25519 is deterministic, so this is the signature
   * the log would have made at commit time, over the commit's timestamp.
   */
  async treeHeadSignature(): Promise<{ state: LogState; signature: Uint8Array }> {
    const state = this.state;
    if (this.sthCache?.size !== state.size) {
      this.sthCache = {
        size: state.size,
        sig: await signTreeHead(this.signer, state.timestampMs, state.size, state.root),
      };
    }
    return { state, signature: this.sthCache.sig };
  }

  /**
   * Stops taking entries, lets the batch in flight and everything already queued commit, and
   * closes the database.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.wake?.();
    await this.idle;
    while (this.running) await this.idle;
    await this.leafIndex.stop();
    await this.store.close();
  }
}
