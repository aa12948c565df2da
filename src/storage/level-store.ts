/**
 * LevelDB implementation of LogStore (spec/storage.md). One Level instance per data
 * directory; LevelDB's lock makes a second process fail with LEVEL_LOCKED, so there is a
 * single writer for free. Every commit is one `batch()` with `sync: true`.
 */
import { mkdirSync } from 'node:fs';
import { Level } from 'level';
import { AuditlogError } from '../errors.js';
import { bundleChunkKey, bundleChunkRange, bundleKey, KEY_META, KEY_STATE, tileKey } from './keys.js';
import type { CommitBatch, LogMeta, LogState, LogStore, SideOp } from './store.js';

/** The binary Level database type every layer shares (sublevels hang off it). */
export type LogDB = Level<Uint8Array, Uint8Array>;

/**
 * Adds operations of other layers to a chained batch, prefixing sublevel keys here.
 *
 * Why not `db.batch(ops)`: abstract-level's array form, and sublevel ops in either form, cost
 * ~20 µs of main-thread JavaScript per operation on the machines of bench/results (4,000 puts:
 * ~90 ms), where a chained batch of keys already prefixed with the sublevel's own
 * `prefixKey` costs ~2 µs (~8 ms) and writes byte-identical keys.
 * Requires every op's sublevel (if any) to use the 'view' key encoding, and keys and values
 * to be Uint8Arrays (as every SideOp maker in this code base produces).
 * @throws AuditlogError('INTERNAL') for anything else.
 */
export function addSideOps(batch: ReturnType<LogDB['batch']>, ops: readonly SideOp[]): void {
  for (const op of ops) {
    if (!(op.key instanceof Uint8Array) || (op.type === 'put' && !(op.value instanceof Uint8Array))) {
      throw new AuditlogError('INTERNAL', 'side operations take Uint8Array keys and values');
    }
    const key = op.sublevel ? (op.sublevel.prefixKey(op.key, 'view') as Uint8Array) : op.key;
    if (op.type === 'put') batch.put(key, op.value);
    else batch.del(key);
  }
}

/** Commits `ops` (other layers' operations) as one atomic LevelDB batch. */
export async function writeSideOps(db: LogDB, ops: readonly SideOp[], sync: boolean): Promise<void> {
  const batch = db.batch();
  try {
    addSideOps(batch, ops);
  } catch (err) {
    await batch.close();
    throw err;
  }
  await batch.write({ sync });
}

const enc = new TextEncoder();
const dec = new TextDecoder('utf-8', { fatal: true });

/** State record: size (u64) | timestampMs (u64) | root (32) | note (UTF-8). */
export function encodeState(s: LogState): Uint8Array {
  const note = enc.encode(s.note);
  const out = new Uint8Array(48 + note.length);
  const dv = new DataView(out.buffer);
  dv.setBigUint64(0, s.size);
  dv.setBigUint64(8, s.timestampMs);
  out.set(s.root, 16);
  out.set(note, 48);
  return out;
}

export function decodeState(b: Uint8Array): LogState {
  if (b.length < 48) throw new AuditlogError('STORAGE', 'state record truncated');
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  return {
    size: dv.getBigUint64(0),
    timestampMs: dv.getBigUint64(8),
    root: b.slice(16, 48),
    note: dec.decode(b.subarray(48)),
  };
}

/**
 * LevelDB's memtable size for the log's database. The default (4 MiB) fills every ~0.3 s
 * under a sustained append load (~45 KB per 256-entry batch); every flush adds a level-0
 * file, and their compactions compete with the commit path for the CPU and stall synced
 * writes. 32 MiB cut the mean synced-commit latency from ~4 to ~3.5 ms and p99 from 18–20 to
 * ~13 ms in the append benchmark (spec/storage.md). The memtable's arena grows as it is
 * written, so a small log does not pay for it; the price is up to 32 MiB more write-ahead log
 * to replay when opening after a crash.
 */
export const LOG_DB_WRITE_BUFFER = 32 * 1024 * 1024;

/** Opens (creating if needed, 0700) the LevelDB database of a log under `location`. */
export async function openLogDB(location: string): Promise<LogDB> {
  mkdirSync(location, { recursive: true, mode: 0o700 });
  const db = new Level<Uint8Array, Uint8Array>(location, {
    keyEncoding: 'view',
    valueEncoding: 'view',
    writeBufferSize: LOG_DB_WRITE_BUFFER,
  });
  try {
    await db.open();
  } catch (err) {
    const code = (err as { cause?: { code?: string } }).cause?.code ?? (err as { code?: string }).code;
    if (code === 'LEVEL_LOCKED') {
      throw new AuditlogError('STORAGE', `${location} is in use by another process`, { cause: err });
    }
    throw new AuditlogError('STORAGE', `cannot open ${location}: ${(err as Error).message}`, { cause: err });
  }
  return db;
}

export class LevelLogStore implements LogStore {
  constructor(readonly db: LogDB) {}

  async readMeta(): Promise<LogMeta | undefined> {
    const v = await this.db.get(KEY_META);
    if (v === undefined) return undefined;
    return JSON.parse(dec.decode(v)) as LogMeta;
  }

  async writeMeta(meta: LogMeta): Promise<void> {
    await this.db.put(KEY_META, enc.encode(JSON.stringify(meta)), { sync: true });
  }

  async readState(): Promise<LogState | undefined> {
    const v = await this.db.get(KEY_STATE);
    return v === undefined ? undefined : decodeState(v);
  }

  async readTile(level: number, index: bigint): Promise<Uint8Array | undefined> {
    return this.db.get(tileKey(level, index));
  }

  async readBundle(index: bigint): Promise<Uint8Array | undefined> {
    return this.db.get(bundleKey(index));
  }

  async readBundleChunks(index: bigint): Promise<{ offset: number; bundle: Uint8Array }[]> {
    const out: { offset: number; bundle: Uint8Array }[] = [];
    for await (const [k, v] of this.db.iterator(bundleChunkRange(index))) {
      out.push({ offset: (k[9]! << 8) | k[10]!, bundle: v });
    }
    return out;
  }

  async commit(b: CommitBatch): Promise<void> {
    const batch = this.db.batch();
    try {
      for (const t of b.tiles) batch.put(tileKey(t.level, t.index), t.hashes);
      for (const c of b.dropChunks) batch.del(bundleChunkKey(c.index, c.offset));
      for (const f of b.bundles) batch.put(bundleKey(f.index), f.bundle);
      for (const c of b.chunks) batch.put(bundleChunkKey(c.index, c.offset), c.bundle);
      batch.put(KEY_STATE, encodeState(b.state));
      addSideOps(batch, b.sideOps);
    } catch (err) {
      await batch.close();
      throw err;
    }
    await batch.write({ sync: true });
  }

  async close(): Promise<void> {
    await this.db.close();
  }
}
