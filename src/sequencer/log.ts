/**
 * The log: a pool of pending entries and a commit loop (spec/commit-protocol.md).
 *
 * Commit order, for every batch:
 *   1. take up to maxBatchSize pending entries (everything that arrived while the previous
 *      batch was committing, so batching adapts to load), cut at a bundle boundary when the
 *      batch would cross one (`batchLength`);
 *   2. hash the leaves and append them to the in-memory right edge of the tree (the whole
 *      batch at once, each level four hashes at a time: src/merkle/sha256x4.ts);
 *   3. compute the new root and sign ONE checkpoint for the batch (several batches' signatures
 *      may be in flight at once, for a slow remote signer);
 *   4. write entries (bundle chunks), tiles, the new state with the signed checkpoint, and the
 *      callers' side operations in ONE LevelDB batch, sync: true (one write may carry several
 *      consecutive signed batches, in order);
 *      ---- after this point the batch is final ----
 *   5. publish the checkpoint, compute receipts, answer the waiting submitters.
 * A failure in 2–4 rejects the whole batch, and every batch staged on top of it (nothing of
 * them was acknowledged or published), and the in-memory state is reloaded from storage with
 * the same code that runs at start-up.
 */
import { join } from 'node:path';
import { AuditlogError } from '../errors.js';
import { equalHashes } from '../merkle/hasher.js';
import { hashLeaf } from '../merkle/rfc6962.js';
import { hashLeaves, splitHashes } from '../merkle/sha256x4.js';
import { consistencyRanges, inclusionRanges } from '../merkle/proof.js';
import { decodeEntryBundle, encodeEntryBundle, MAX_ENTRY_SIZE, TILE_WIDTH } from '../merkle/tiles.js';
import { type Checkpoint, signCheckpoint } from '../note/checkpoint.js';
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
import { DEFAULT_BATCHES_AHEAD, mergeCommits } from './group-commit.js';

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
  /**
   * Most batches staged ahead of the write on the disk (default 8, at least 1): their
   * checkpoints are signed concurrently and they are written together (spec/commit-protocol.md).
   */
  maxBatchesAhead?: number;
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
  /** Put back in the pool once already, after a failure it had no part in (requeue). */
  requeued?: true;
}

export type CommitListener = (state: LogState) => void;

/**
 * A batch appended to the in-memory tree, with its write prepared; its checkpoint is being
 * signed (`signed` 'pending'), is signed ('ok': `commit.state` holds it), or failed.
 */
interface Staged {
  readonly batch: Pending[];
  readonly startSize: bigint;
  /** The batch's leaf hashes, for its receipts. */
  readonly leafHashes: Uint8Array[];
  /** The same packed (hash i at bytes 32i..32i+32), for the leaf-hash index. */
  readonly packedLeafHashes: Uint8Array;
  readonly commit: CommitBatch;
  signed: 'pending' | 'ok' | AuditlogError;
  /** With signPerEntry: the checkpoint signed after each entry (entry i's at size startSize+i+1). */
  entryNotes?: string[];
}

/** One write on the disk: consecutive signed batches, oldest first. */
interface Writing {
  readonly group: Staged[];
  /** Whether the write has settled. */
  settled: boolean;
  /** Why it failed; undefined once settled means durable. */
  error: AuditlogError | undefined;
}

/**
 * Whether two states are of the same tree: equal size and root. A stored state that matches the
 * checkpoint a write's last batch was signed for means that write is on the disk (only a commit
 * writes the state, in the same atomic batch).
 */
function sameTree(a: LogState, b: LogState): boolean {
  return a.size === b.size && equalHashes(a.root, b.root);
}

function asStorageError(err: unknown): AuditlogError {
  return err instanceof AuditlogError
    ? err
    : new AuditlogError('STORAGE', `commit failed: ${(err as Error).message}`, { cause: err });
}

export class Log {
  private pool: Pending[] = [];
  private running = false;
  private closed = false;
  private failed: AuditlogError | undefined;
  private idle: Promise<void> = Promise.resolve();
  private idleResolve: (() => void) | undefined;
  /** Ends a batch's wait to fill early (on close). */
  private wake: (() => void) | undefined;
  /** Wakes the commit loop while it waits for a signature, a write, or a full batch. */
  private kickLoop: (() => void) | undefined;
  private readonly listeners = new Set<CommitListener>();
  // Right-edge entry bundle (committed part), to write the full bundle without reading back.
  private rightBundle: Uint8Array[] = [];
  private rightChunkOffsets: number[] = [];
  private readonly leafIndex: LeafIndex;
  /** Checkpoint signatures in flight, those of batches already discarded included. */
  private signing = 0;
  /** Reads in flight (proofs, tiles, bundles, lookups); close() waits for them. */
  private readers = 0;
  private readersDone: (() => void) | undefined;
  /** The RFC 6962 STH signature of one tree head, signed or being signed. */
  private sth: { size: bigint; sig: Promise<Uint8Array> } | undefined;

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
      Pick<LogOptions, 'maxBatchSize' | 'maxBatchDelayMs' | 'maxQueue' | 'maxEntrySize' | 'maxBatchesAhead'>
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
        maxBatchesAhead: Math.max(1, opts.maxBatchesAhead ?? DEFAULT_BATCHES_AHEAD),
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
    const r = await this.readRightBundle(this.state.size);
    this.rightBundle = r.bundle;
    this.rightChunkOffsets = r.offsets;
  }

  private async readRightBundle(size: bigint): Promise<{ bundle: Uint8Array[]; offsets: number[] }> {
    const index = size / BigInt(TILE_WIDTH);
    const chunks = size % BigInt(TILE_WIDTH) === 0n ? [] : await this.store.readBundleChunks(index);
    const bundle = chunks.flatMap((c) => decodeEntryBundle(c.bundle));
    if (BigInt(bundle.length) !== size % BigInt(TILE_WIDTH)) {
      throw new AuditlogError('STORAGE', `partial entry bundle ${index} has ${bundle.length} entries`);
    }
    return { bundle, offsets: chunks.map((c) => c.offset) };
  }

  /**
   * Re-reads the committed state after a failed commit: the start-up path. Everything is read
   * first; then, in one synchronous step, `beforeServe` runs and the state, tree and right edge
   * are switched, so that readers never see a state whose tree or leaf-hash index lags it.
   */
  private async reload(beforeServe: (state: LogState) => void = () => {}): Promise<void> {
    const state = await this.store.readState();
    if (!state) throw new AuditlogError('STORAGE', 'state vanished');
    const tree = await Tree.load(this.store, state.size, state.root);
    const right = await this.readRightBundle(state.size);
    beforeServe(state);
    this.state = state;
    this.tree = tree;
    this.rightBundle = right.bundle;
    this.rightChunkOffsets = right.offsets;
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
   * durably committed. Requires `entry` not to change until then (it is read when its batch is
   * hashed; the log keeps copies of its own after that).
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
      // A full batch may be staged ahead at once; smaller ones wait for the loop's turn.
      else if (this.pool.length === this.opts.maxBatchSize) this.kick();
    });
  }

  /** Largest entry append() takes, in bytes. */
  get maxEntrySize(): number {
    return this.opts.maxEntrySize;
  }

  /**
   * Throws what append() would for any of `count` entries appended now, one after another:
   * CLOSED, the log's failure, or OVERLOADED when the pool has no room for all of them (TOO_LARGE
   * when `count` is more than it ever holds). A caller that then appends all of them in the same
   * synchronous turn has them accepted whole or not at all (sizes it checks against maxEntrySize).
   */
  checkRoom(count: number): void {
    if (this.closed) throw new AuditlogError('CLOSED', 'the log is shutting down');
    if (this.failed) throw this.failed;
    if (count > this.opts.maxQueue) {
      throw new AuditlogError('TOO_LARGE', `${count} entries at once; the queue holds ${this.opts.maxQueue}`);
    }
    if (this.pool.length + count > this.opts.maxQueue) {
      throw new AuditlogError(
        'OVERLOADED',
        `${this.pool.length} entries waiting, no room for ${count} more; retry later`,
      );
    }
  }

  private start(): void {
    this.running = true;
    this.idle = new Promise((r) => {
      this.idleResolve = r;
    });
    // setImmediate lets every submission that arrived in this turn join the first batch.
    setImmediate(() => void this.loop());
  }

  private kick(): void {
    const k = this.kickLoop;
    this.kickLoop = undefined;
    k?.();
  }

  /**
   * The commit loop (spec/commit-protocol.md). Batches are staged (hashed, appended to the
   * in-memory tree, their checkpoints sent to the signer) in order; one write is on the disk at
   * a time, and it takes every batch at the front whose checkpoint is signed, so writes stay
   * strictly in order; a write that has succeeded is published, batch by batch. A batch is
   * staged when none is waiting for its write (at the start, and while the previous one is
   * on the disk: the disk and the CPU work at the same time, and what arrives meanwhile forms
   * the next batch), or when a whole batch is waiting in the pool and fewer than
   * maxBatchesAhead are staged (a slow signer's latency is then paid concurrently, and a
   * slow fsync is ridden out by writing the batches staged meanwhile together).
   * After a failed signature or staging, nothing more is staged; the batches before it are
   * written, and then the tree is reloaded. After a failed write, everything staged is
   * dropped and the tree is reloaded at once.
   */
  private async loop(): Promise<void> {
    let writing: Writing | undefined;
    /** Staged batches not yet on the disk, in order. */
    const ahead: Staged[] = [];
    /** Why staging stopped: the tree may hold batches that will never be written. */
    let broken: AuditlogError | undefined;
    /** A failed signature: that batch and every one staged on top of it are dropped. */
    const dropFailed = (): void => {
      const bad = ahead.findIndex((a) => a.signed instanceof AuditlogError);
      if (bad < 0) return;
      const err = ahead[bad]!.signed as AuditlogError;
      const [failed, ...behind] = ahead.splice(bad);
      for (const p of failed!.batch) p.reject(err);
      this.requeue(behind, err);
      broken ??= err;
    };
    const held = () => ahead.length + (writing?.group.length ?? 0);
    /** The batches of the last write to settle, until all their submitters are answered. */
    let answering: readonly Staged[] = [];
    try {
      for (;;) {
        dropFailed();
        while (!broken && this.pool.length > 0 && this.mayStage(ahead.length, held())) {
          if (!writing && ahead.length > 0) {
            // Nothing on the disk: a batch whose checkpoint a local signer signs at once is
            // written first, and the next one staged while that write runs. Only a signer
            // still busy after a turn of the event loop (a remote one) is given more.
            await new Promise<void>((r) => setImmediate(r));
            dropFailed();
            if (broken || ahead[0]!.signed !== 'pending' || !this.mayStage(ahead.length, held())) break;
          }
          if (ahead.length === 0) await this.waitToFill();
          const batch = this.pool.splice(
            0,
            batchLength(this.tree.size, this.pool.length, this.opts.maxBatchSize),
          );
          if (this.failed) {
            for (const p of batch) p.reject(this.failed);
            continue;
          }
          try {
            ahead.push(this.stage(batch));
          } catch (err) {
            broken = asStorageError(err);
            for (const p of batch) p.reject(broken);
          }
        }
        dropFailed();
        if (writing?.settled) {
          const done = writing;
          writing = undefined;
          answering = done.group;
          // A write reported failed that is on the disk after all (an fsync that errs late) is
          // a success: the in-memory tree, the batches staged on top of it and their signatures
          // are exactly right, and receipts come from the tiles in memory.
          if (done.error && (await this.wroteAnyway(done.group))) done.error = undefined;
          if (done.error) {
            // Nothing of these batches was acknowledged or published. The staged ones were
            // signed over trees that included the failed ones, so their checkpoints are
            // discarded (their signatures still in flight are left to finish; they count
            // against the bound on signatures, mayStage, until they do), and their entries go
            // back to the pool. The failed write's own submitters are answered once the reload
            // says whether it reached the disk after all.
            const behind = ahead.splice(0);
            broken = undefined;
            const landed = await this.recover(done.group);
            for (const d of done.group) {
              // Landed, though its state could not be read just now: answered from the
              // reloaded tree, which may need reads; if they fail, its submitters get the error
              // (the entries are in the log: at-least-once, as before this check existed).
              const answered = landed
                ? await this.answer(d, this.state).then(
                    () => true,
                    () => false,
                  )
                : false;
              if (!answered) for (const p of d.batch) p.reject(done.error);
            }
            this.requeue(behind, done.error);
            continue;
          }
          // ---- the group is durable: its checkpoints may now be published, in order ----
          writing = this.startWrite(ahead);
          for (const d of done.group) await this.publish(d);
          // Let the answered submitters' continuations (and I/O) run, so that what they
          // submit next is in the pool to be staged while the next write runs.
          await new Promise<void>((r) => setImmediate(r));
          continue;
        }
        if (!writing) {
          writing = this.startWrite(ahead);
          if (writing) continue;
          if (broken) {
            if (ahead.some((a) => a.signed === 'pending')) {
              // Wait for them: a batch before the failure may still be written.
            } else {
              for (const a of ahead.splice(0)) for (const p of a.batch) p.reject(broken);
              broken = undefined;
              await this.recover();
              continue;
            }
          } else if (ahead.length === 0 && this.pool.length === 0) {
            break;
          }
        }
        await new Promise<void>((r) => {
          this.kickLoop = r;
        });
      }
      this.leafIndex.flush();
    } catch (err) {
      // Storage and signer failures are handled above; anything else is a defect, and the
      // in-memory tree may no longer match the disk. Fail-stop: every entry held is rejected
      // (one in the write on the disk may still land: at-least-once, as for a failed write),
      // and so is every later append, until a restart reloads the committed state.
      this.failed = new AuditlogError('INTERNAL', `commit loop failed: ${(err as Error)?.message ?? err}`, {
        cause: err,
      });
      // (Rejecting a submitter already answered does nothing.)
      for (const g of [...answering, ...(writing?.group ?? []), ...ahead]) {
        for (const p of g.batch) p.reject(this.failed);
      }
      for (const p of this.pool.splice(0)) p.reject(this.failed);
    } finally {
      this.running = false;
      this.idleResolve?.();
    }
  }

  /**
   * Whether another batch may be staged now, with `ahead` batches staged and unwritten and
   * `held` batches staged or in the write on the disk. At most maxBatchesAhead signatures are
   * ever in flight; one batch may always be staged behind the write on the disk, more only
   * while a whole batch waits and fewer than maxBatchesAhead are held (so at most
   * maxBatchesAhead + 1 batches are held beyond the pool).
   */
  private mayStage(ahead: number, held: number): boolean {
    if (this.signing >= this.opts.maxBatchesAhead) return false;
    if (ahead === 0) return true;
    return held < this.opts.maxBatchesAhead && this.pool.length >= this.opts.maxBatchSize;
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

  /**
   * Starts one write of the batches at the front of `ahead` whose checkpoints are signed (taking
   * them out of it); undefined if the first one is not signed yet.
   */
  private startWrite(ahead: Staged[]): Writing | undefined {
    let n = 0;
    while (n < ahead.length && ahead[n]!.signed === 'ok') n++;
    if (n === 0) return undefined;
    const w: Writing = { group: ahead.splice(0, n), settled: false, error: undefined };
    this.store.commit(mergeCommits(w.group.map((g) => g.commit))).then(
      () => {
        w.settled = true;
        this.kick();
      },
      (e: unknown) => {
        w.settled = true;
        w.error = asStorageError(e);
        this.kick();
      },
    );
    return w;
  }

  /**
   * Reloads the committed state after a failure (the start-up path); on failure, the log stops.
   * `failedWrite`: the batches of a write reported failed, which may have reached the disk
   * anyway (an fsync that errs late). Returns true when they did: the committed state is the
   * one the last of them was signed for.
   */
  private async recover(failedWrite: readonly Staged[] = []): Promise<boolean> {
    const before = this.state;
    let landed = false;
    try {
      await this.reload((state) => {
        const last = failedWrite.at(-1);
        if (last && sameTree(state, last.commit.state)) {
          // The failed write is on the disk after all: its checkpoint is the committed one,
          // served from now on; listeners (the witness pusher) hear of it, and its leaves go to
          // the leaf-hash index (which takes batches only in order) before it is served.
          landed = true;
          for (const d of failedWrite) this.leafIndex.add(d.startSize, d.packedLeafHashes);
        }
      });
      if (this.state.size > before.size) this.notify(this.state);
    } catch (reloadErr) {
      this.failed = new AuditlogError(
        'STORAGE',
        `log failed and could not recover: ${(reloadErr as Error).message}`,
        { cause: reloadErr },
      );
    }
    return landed;
  }

  /**
   * Whether a write reported failed is on the disk anyway: the stored state has the size and
   * root of the checkpoint its last batch was signed for (only a commit writes the state, in the
   * same atomic batch). False when the state cannot be read.
   */
  private async wroteAnyway(group: readonly Staged[]): Promise<boolean> {
    const last = group.at(-1)!.commit.state;
    try {
      const stored = await this.store.readState();
      return stored !== undefined && sameTree(stored, last);
    } catch {
      return false;
    }
  }

  /**
   * Puts the entries of staged batches that were never written back at the front of the pool,
   * in order, to be sequenced again on the reloaded tree: a failure in another batch (a write
   * or a signature) is not theirs, and they were neither acknowledged nor published. Once only:
   * an entry caught by a second failure is rejected with it, so a fault that persists (a full
   * disk) ends in errors, not a loop. After the log has failed for good, all are rejected.
   */
  private requeue(batches: readonly Staged[], err: AuditlogError): void {
    const again: Pending[] = [];
    for (const b of batches) {
      for (const p of b.batch) {
        if (this.failed) p.reject(this.failed);
        else if (p.requeued) p.reject(err);
        else {
          p.requeued = true;
          again.push(p);
        }
      }
    }
    // Not unshift(...again): a spread of ~10^5 arguments overflows the stack.
    if (again.length > 0) this.pool = again.concat(this.pool);
  }

  private notify(state: LogState): void {
    for (const l of this.listeners) {
      try {
        l(state);
      } catch {
        // A listener's failure must not undo a committed batch.
      }
    }
  }

  /** Step 5 for a durable batch: publish its checkpoint, compute receipts, answer submitters. */
  private async publish(done: Staged): Promise<void> {
    const state = done.commit.state;
    this.state = state;
    this.notify(state);
    this.leafIndex.add(done.startSize, done.packedLeafHashes);
    try {
      await this.answer(done, state);
    } catch (err) {
      // The batch is durable and published, but a receipt needed a read that failed (a tile no
      // longer in memory, a transient read error, or close() under way). Its submitters are told
      // where their entries are; the batches after it are published as usual.
      const last = done.startSize + BigInt(done.batch.length) - 1n;
      const e = new AuditlogError(
        'STORAGE',
        `committed at indices ${done.startSize}..${last} of the tree of size ${state.size}, but the receipt ` +
          `could not be built: ${(err as Error).message}; fetch it by leaf hash`,
        { cause: err },
      );
      for (const p of done.batch) p.reject(e);
    }
  }

  /**
   * Answers a durable batch's submitters with receipts against `state` (which includes it), or,
   * with signPerEntry, each against its own checkpoint.
   */
  private async answer(done: Staged, state: LogState): Promise<void> {
    const receipts = done.entryNotes
      ? await this.perEntryReceipts(done.startSize, done.leafHashes, done.entryNotes)
      : await this.receiptsFor(done.startSize, done.leafHashes, state);
    for (let i = 0; i < done.batch.length; i++) done.batch[i]!.resolve(receipts[i]!);
  }

  /**
   * Steps 2–3: appends the batch to the in-memory tree (which may be batches ahead of the
   * committed state), builds the one atomic write, and starts signing its checkpoint. All but
   * the signature happens before it returns, so batches staged one after another extend the
   * tree in order whatever their signatures do; when the signature settles, `signed` says so
   * and the loop is woken.
   */
  private stage(batch: Pending[]): Staged {
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
    let entryCheckpoints: Checkpoint[] | undefined;
    if (this.opts.signPerEntry) {
      // The benchmark's naive baseline: a root and a signed checkpoint after every entry, each
      // handed to that entry's submitter in its receipt (the batch's own checkpoint, signed
      // below, is the last entry's).
      entryCheckpoints = [];
      for (let i = 0; i < batch.length; i++) {
        const leafHash = hashLeaf(batch[i]!.entry);
        leafHashes.push(leafHash);
        this.tree.appendLeaf(leafHash);
        if (i < batch.length - 1) {
          entryCheckpoints.push({
            origin: this.origin,
            size: this.tree.size,
            root: this.tree.root(),
            extensions: [],
          });
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
      const chunk = encodeEntryBundle(fresh);
      commit.chunks.push({ index: bundleIndex, offset: chunkStart, bundle: chunk });
      chunkOffsets.push(chunkStart);
      // The right-edge bundle keeps these entries until a later batch completes it: as views of
      // the chunk's own copy, not of the submitters' buffers, which they may reuse.
      bundle.splice(bundle.length - fresh.length, fresh.length, ...decodeEntryBundle(chunk));
    }
    commit.tiles = this.tree.takeTileWrites();
    const size = this.tree.size;
    const root = this.tree.root();
    const timestampMs = this.opts.now!();
    // Only reached when staging succeeded; on a failure reload() restores these.
    this.rightBundle = bundle;
    this.rightChunkOffsets = chunkOffsets;
    const staged: Staged = { batch, startSize, leafHashes, packedLeafHashes, commit, signed: 'pending' };
    const checkpoint: Checkpoint = { origin: this.origin, size, root, extensions: [] };
    this.signing++;
    this.sign(checkpoint, entryCheckpoints).then(
      ({ note, entryNotes }) => {
        this.signing--;
        commit.state = { size, root, note, timestampMs };
        if (entryNotes) staged.entryNotes = entryNotes;
        staged.signed = 'ok';
        this.kick();
      },
      (err: unknown) => {
        this.signing--;
        staged.signed = asStorageError(err);
        this.kick();
      },
    );
    return staged;
  }

  /** Signs a batch's checkpoint (and, with signPerEntry, each entry's before it, in order). */
  private async sign(
    checkpoint: Checkpoint,
    entryCheckpoints: Checkpoint[] | undefined,
  ): Promise<{ note: string; entryNotes: string[] | undefined }> {
    let entryNotes: string[] | undefined;
    if (entryCheckpoints) {
      entryNotes = [];
      for (const c of entryCheckpoints) entryNotes.push(await signCheckpoint(c, this.signer));
    }
    const note = await signCheckpoint(checkpoint, this.signer);
    entryNotes?.push(note);
    return { note, entryNotes };
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
  inclusionProof(index: bigint, size: bigint): Promise<Uint8Array[]> {
    return this.track(async () => {
      this.checkSize(size, 'tree size');
      if (index < 0n || index >= size)
        throw new AuditlogError('OUT_OF_RANGE', `index ${index} is not below ${size}`);
      const out: Uint8Array[] = [];
      for (const r of inclusionRanges(index, size)) out.push(await this.tree.subtreeHash(r.start, r.end));
      return out;
    });
  }

  /** Consistency proof from `size1` to `size2`. Requires 0 <= size1 <= size2 <= latest size. */
  consistencyProof(size1: bigint, size2: bigint): Promise<Uint8Array[]> {
    return this.track(async () => {
      this.checkSize(size2, 'tree size');
      if (size1 < 0n || size1 > size2)
        throw new AuditlogError('OUT_OF_RANGE', `first ${size1} > second ${size2}`);
      const out: Uint8Array[] = [];
      for (const r of consistencyRanges(size1, size2)) out.push(await this.tree.subtreeHash(r.start, r.end));
      return out;
    });
  }

  /** Root of the committed tree of `size`. Requires size <= latest size. */
  rootAt(size: bigint): Promise<Uint8Array> {
    return this.track(async () => {
      this.checkSize(size, 'tree size');
      if (size === this.state.size) return this.state.root;
      if (size === 0n) return (await import('../merkle/rfc6962.js')).EMPTY_ROOT;
      return this.tree.subtreeHash(0n, size);
    });
  }

  /** Leaf hash at `index` of the committed tree. */
  leafHash(index: bigint): Promise<Uint8Array> {
    return this.track(async () => {
      this.checkSize(index + 1n, 'index + 1');
      return this.tree.nodeHash(0, index);
    });
  }

  /**
   * Index of an entry with this leaf hash in the committed tree of size `below` (default: the
   * latest), if any: the latest such index when the entry was appended more than once. While
   * the index is being rebuilt at start-up this waits for it, or, with `opts.wait` false (the
   * HTTP API), throws UNAVAILABLE.
   */
  indexOfLeafHash(
    leafHash: Uint8Array,
    below: bigint = this.state.size,
    opts: { wait?: boolean } = {},
  ): Promise<bigint | undefined> {
    return this.track(async () => {
      this.checkSize(below, 'tree size');
      return this.leafIndex.lookup(leafHash, below, opts.wait ?? true);
    });
  }

  /**
   * The stored hashes of tile (level, index) as of the committed tree, cut to `width`
   * hashes; undefined when the committed tree has fewer.
   */
  readTile(level: number, index: bigint, width: number): Promise<Uint8Array | undefined> {
    return this.track(async () => {
      const t = await this.store.readTile(level, index);
      if (!t || t.length < width * 32) return undefined;
      return t.subarray(0, width * 32);
    });
  }

  /** Entry bundle `index` cut to `width` entries; undefined when the committed tree has fewer. */
  readBundle(index: bigint, width: number): Promise<Uint8Array | undefined> {
    return this.track(async () => {
      if (width === TILE_WIDTH) return this.store.readBundle(index);
      const entries = await this.bundleEntries(index, width);
      return entries && encodeEntryBundle(entries);
    });
  }

  /**
   * The first `width` entries of bundle `index` (from the full bundle, or from the chunks of a
   * partial one); undefined when the committed tree has fewer. Requires 1 <= width <= 256.
   * The entries are plain Uint8Array views (the store may hand out Buffers).
   */
  private async bundleEntries(index: bigint, width: number): Promise<Uint8Array[] | undefined> {
    const decode = (b: Uint8Array) => decodeEntryBundle(new Uint8Array(b.buffer, b.byteOffset, b.byteLength));
    const full = await this.store.readBundle(index);
    if (full) return decode(full).slice(0, width);
    if (width === TILE_WIDTH) return undefined;
    const chunks = await this.store.readBundleChunks(index);
    const entries = chunks.flatMap((c) => decode(c.bundle));
    if (entries.length < width) {
      // A write may have completed the bundle (and deleted its chunks) between the two reads;
      // the chunk scan is a consistent snapshot, so then the full bundle is there now.
      const now = await this.store.readBundle(index);
      return now ? decode(now).slice(0, width) : undefined;
    }
    return entries.slice(0, width);
  }

  /** Entries [start, end) of the committed tree. Requires start <= end <= latest size. */
  entries(start: bigint, end: bigint): Promise<Uint8Array[]> {
    return this.track(async () => {
      this.checkSize(end, 'end');
      if (start < 0n || start > end) throw new AuditlogError('OUT_OF_RANGE', `start ${start} > end ${end}`);
      const W = BigInt(TILE_WIDTH);
      const out: Uint8Array[] = [];
      for (let b = start / W; b * W < end; b++) {
        const width = end >= (b + 1n) * W ? TILE_WIDTH : Number(end - b * W);
        const entries = await this.bundleEntries(b, width);
        if (!entries) throw new AuditlogError('STORAGE', `entry bundle ${b} missing`);
        const from = b * W < start ? Number(start - b * W) : 0;
        for (let i = from; i < width; i++) out.push(entries[i]!);
      }
      return out;
    });
  }

  /**
   * The RFC 6962 TreeHeadSignature (DigitallySigned bytes) of the latest tree head. Signed
   * lazily, at most once per tree head: Ed25519 is deterministic, so this is the signature
   * the log would have made at commit time, over the commit's timestamp.
   */
  async treeHeadSignature(): Promise<{ state: LogState; signature: Uint8Array }> {
    const state = this.state;
    // Concurrent requests for one tree head share one signature (a remote signer is asked once).
    let sth = this.sth;
    if (sth?.size !== state.size) {
      sth = { size: state.size, sig: signTreeHead(this.signer, state.timestampMs, state.size, state.root) };
      this.sth = sth;
      sth.sig.catch(() => {
        if (this.sth === sth) this.sth = undefined; // a failed signature is asked again next time
      });
    }
    return { state, signature: await sth.sig };
  }

  /**
   * Runs a read of the committed tree, counted so that close() lets it finish before the
   * database closes. @throws AuditlogError('CLOSED') once the log is closing.
   */
  private async track<T>(read: () => Promise<T>): Promise<T> {
    if (this.closed) throw new AuditlogError('CLOSED', 'the log is shutting down');
    this.readers++;
    try {
      return await read();
    } finally {
      if (--this.readers === 0) this.readersDone?.();
    }
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
    while (this.readers > 0) {
      await new Promise<void>((r) => {
        this.readersDone = r;
      });
    }
    await this.leafIndex.stop();
    await this.store.close();
  }
}
