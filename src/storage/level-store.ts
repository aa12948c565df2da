/**
 * LevelDB implementation of LogStore (spec/storage.md). One Level instance per data
 * directory; LevelDB's lock makes a second process fail with LEVEL_LOCKED, so there is a
 * single writer for free. Every commit is one `batch()` with `sync: true`.
 */
import { mkdirSync } from 'node:fs';
import { type BatchOperation, Level } from 'level';
import { AuditlogError } from '../errors.js';
import { bundleChunkKey, bundleChunkRange, bundleKey, KEY_META, KEY_STATE, tileKey } from './keys.js';
import type { CommitBatch, LogMeta, LogState, LogStore } from './store.js';

/** The binary Level database type every layer shares (sublevels hang off it). */
export type LogDB = Level<Uint8Array, Uint8Array>;

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

/** Opens (creating if needed) the LevelDB database of a log under `location`. */
export async function openLogDB(location: string): Promise<LogDB> {
  mkdirSync(location, { recursive: true, mode: 0o700 });
  const db = new Level<Uint8Array, Uint8Array>(location, { keyEncoding: 'view', valueEncoding: 'view' });
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
    const ops: BatchOperation<LogDB, Uint8Array, Uint8Array>[] = [];
    for (const t of b.tiles) ops.push({ type: 'put', key: tileKey(t.level, t.index), value: t.hashes });
    for (const c of b.dropChunks) ops.push({ type: 'del', key: bundleChunkKey(c.index, c.offset) });
    for (const f of b.bundles) ops.push({ type: 'put', key: bundleKey(f.index), value: f.bundle });
    for (const c of b.chunks)
      ops.push({ type: 'put', key: bundleChunkKey(c.index, c.offset), value: c.bundle });
    ops.push({ type: 'put', key: KEY_STATE, value: encodeState(b.state) });
    for (const op of b.sideOps) ops.push(op);
    await this.db.batch(ops, { sync: true });
  }

  async close(): Promise<void> {
    await this.db.close();
  }
}
