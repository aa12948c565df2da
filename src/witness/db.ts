/**
 * The LevelDB database of a witness or a monitor (`<dir>/db`): string keys `<table>/<key>`, JSON
 * string values. One `batch` commits across tables atomically; every write something is promised
 * on is `sync: true`.
 */
import { mkdirSync } from 'node:fs';
import { Level } from 'level';
import { AuditlogError } from '../errors.js';

export type StateDB = Level<string, string>;

/**
 * Opens (creating) the database at `location`. A second process on the same directory fails.
 * @throws AuditlogError('STORAGE') when locked or unreadable.
 */
export async function openStateDB(location: string): Promise<StateDB> {
  // Readable by its owner only, as every data directory of auditlog (LevelDB would make it 0755).
  mkdirSync(location, { recursive: true, mode: 0o700 });
  const db = new Level<string, string>(location, { keyEncoding: 'utf8', valueEncoding: 'utf8' });
  try {
    await db.open();
  } catch (err) {
    const code = (err as { cause?: { code?: string } }).cause?.code ?? (err as { code?: string }).code;
    const what =
      code === 'LEVEL_LOCKED'
        ? 'is in use by another process'
        : `cannot be opened: ${(err as Error).message}`;
    throw new AuditlogError('STORAGE', `${location} ${what}`, { cause: err });
  }
  return db;
}

/** The key range of one table (every key `<name>/...`). '0' is the character after '/'. */
export function tableRange(name: string): { gte: string; lt: string } {
  return { gte: `${name}/`, lt: `${name}0` };
}

/** Fixed-width big-endian hex of a sequence number, so key order is numeric order. */
export function seqKey(n: bigint): string {
  return n.toString(16).padStart(16, '0');
}

/** One write of a batch. */
export type BatchOp = { type: 'put'; key: string; value: string } | { type: 'del'; key: string };

/** Writes `ops` atomically and durably. */
export async function commit(db: StateDB, ops: BatchOp[]): Promise<void> {
  await db.batch(ops, { sync: true });
}
