/**
 * The log's storage interface. Implementations promise:
 *  - `commit` is atomic (all of the batch or none of it) and durable once it resolves
 *    (written with fsync); nothing the sequencer acknowledges depends on an uncommitted write;
 *  - reads observe every commit that has resolved.
 */
import type { BatchOperation } from 'level';

/** The durable state written with every batch: the latest signed checkpoint and its tree head. */
export interface LogState {
  size: bigint;
  root: Uint8Array;
  /** The signed checkpoint note text. */
  note: string;
  /** When the checkpoint was signed, milliseconds since the Unix epoch (also the RFC 6962 STH time). */
  timestampMs: bigint;
}

/** Log identity written once at creation. */
export interface LogMeta {
  origin: string;
  version: 1;
}

/** An operation of another layer committed in the same atomic batch (on its own sublevel). */
// biome-ignore lint/suspicious/noExplicitAny: abstract-level ops are generic over the sublevel's types
export type SideOp = BatchOperation<any, any, any>;

/** Everything one sequencer batch writes. */
export interface CommitBatch {
  /** Tiles to write whole (full, or the current right-edge partial tile). */
  tiles: { level: number; index: bigint; hashes: Uint8Array }[];
  /** Full entry bundles to write; their chunks (listed in `dropChunks`) are deleted. */
  bundles: { index: bigint; bundle: Uint8Array }[];
  /** Chunks of partial bundles: entries from `offset` on, bundle-encoded. */
  chunks: { index: bigint; offset: number; bundle: Uint8Array }[];
  dropChunks: { index: bigint; offset: number }[];
  state: LogState;
  sideOps: SideOp[];
}

export interface LogStore {
  readMeta(): Promise<LogMeta | undefined>;
  writeMeta(meta: LogMeta): Promise<void>;
  readState(): Promise<LogState | undefined>;
  /** The stored hashes of tile (level, index), full or right-edge partial; undefined if none. */
  readTile(level: number, index: bigint): Promise<Uint8Array | undefined>;
  /** A full entry bundle, or undefined. */
  readBundle(index: bigint): Promise<Uint8Array | undefined>;
  /** The chunks of a partial bundle, in offset order. */
  readBundleChunks(index: bigint): Promise<{ offset: number; bundle: Uint8Array }[]>;
  /** Atomic and durable; see the interface doc. */
  commit(batch: CommitBatch): Promise<void>;
  close(): Promise<void>;
}
