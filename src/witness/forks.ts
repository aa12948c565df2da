/**
 * The fork state of a witnessed log (spec/witness.md, "Forked logs"). Once the witness holds proof
 * that a log forked (an `inconsistent` alert: two checkpoints signed by the log that cannot both
 * be true), it stops cosigning that log until an operator clears the state.
 *
 * Tables of the witness database:
 *   `fork/<origin>`         → ForkState, written in the same synced batch as the alert
 *   `fork-cleared/<seq>`    → ClearedFork, one per `auditlog witness clear-fork` (16 hex digits)
 * Clearing deletes the first and appends the second in one synced batch. It runs on a stopped
 * witness: the database has one writer, so a running witness makes it fail.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { AuditlogError } from '../errors.js';
import { WITNESS_KEY_FILE } from './keyfile.js';
import { type BatchOp, commit, openStateDB, seqKey, type StateDB, tableRange } from './db.js';

/** Why a log is no longer cosigned. */
export interface ForkState {
  /** The id of the alert whose evidence put the log in this state. */
  alert: string;
  /** RFC 3339 UTC time the state was entered (the alert's `seen_at`). */
  since: string;
  /** The alert's `detail`. */
  detail: string;
}

/** The record of an operator clearing a fork state. */
export interface ClearedFork extends ForkState {
  origin: string;
  /** RFC 3339 UTC time of the clear. */
  cleared_at: string;
  /** What the operator gave with `--reason` (empty when none). */
  reason: string;
}

/** The writes that put `origin` in the forked state (to add to the alert's batch). */
export function forkOps(origin: string, state: ForkState): BatchOp[] {
  return [{ type: 'put', key: `fork/${origin}`, value: JSON.stringify(state) }];
}

/** Every stored fork state, by origin. */
export async function loadForks(db: StateDB): Promise<Map<string, ForkState>> {
  const out = new Map<string, ForkState>();
  for await (const [key, value] of db.iterator(tableRange('fork'))) {
    out.set(key.slice('fork/'.length), JSON.parse(value) as ForkState);
  }
  return out;
}

/** Every clear recorded, oldest first. */
export async function listClearedForks(db: StateDB): Promise<ClearedFork[]> {
  const out: ClearedFork[] = [];
  for await (const v of db.values(tableRange('fork-cleared'))) out.push(JSON.parse(v) as ClearedFork);
  return out;
}

/**
 * Clears the fork state of `origin`: deletes it and records the clear, in one synced batch.
 * @throws AuditlogError('NOT_FOUND') when `origin` is not in the forked state.
 */
export async function clearFork(
  db: StateDB,
  origin: string,
  opts: { reason?: string; now?: () => number } = {},
): Promise<ClearedFork> {
  const raw = await db.get(`fork/${origin}`);
  if (raw === undefined) {
    const forked = [...(await loadForks(db)).keys()];
    throw new AuditlogError(
      'NOT_FOUND',
      `log ${JSON.stringify(origin)} is not forked (forked: ${forked.length === 0 ? 'none' : forked.map((o) => JSON.stringify(o)).join(', ')})`,
    );
  }
  let next = 0n;
  for await (const key of db.keys({ ...tableRange('fork-cleared'), reverse: true, limit: 1 })) {
    next = BigInt(`0x${key.slice('fork-cleared/'.length)}`) + 1n;
  }
  const cleared: ClearedFork = {
    origin,
    ...(JSON.parse(raw) as ForkState),
    cleared_at: new Date(opts.now?.() ?? Date.now()).toISOString(),
    reason: opts.reason ?? '',
  };
  await commit(db, [
    { type: 'del', key: `fork/${origin}` },
    { type: 'put', key: `fork-cleared/${seqKey(next)}`, value: JSON.stringify(cleared) },
  ]);
  return cleared;
}

/**
 * `clearFork` on the witness data directory `dir` (which must hold a witness and not be in use).
 * @throws AuditlogError 'NOT_FOUND' (no witness in `dir`, or the log is not forked), 'STORAGE'
 *   (the database is in use by a running witness, or unreadable).
 */
export async function clearForkInDir(
  dir: string,
  origin: string,
  opts: { reason?: string; now?: () => number } = {},
): Promise<ClearedFork> {
  if (!existsSync(join(dir, WITNESS_KEY_FILE)) || !existsSync(join(dir, 'db'))) {
    throw new AuditlogError('NOT_FOUND', `${dir} holds no witness`);
  }
  const db = await openStateDB(join(dir, 'db'));
  try {
    return await clearFork(db, origin, opts);
  } finally {
    await db.close();
  }
}
