/**
 * The monitor (spec/witness.md, "Monitor"): follows a log from outside with nothing but its
 * verifier key. Every pass it fetches the checkpoint, verifies the signature, downloads every
 * entry bundle and tile it has not seen, recomputes the root from the entries, and compares it
 * with the signed one; the new tree is built on top of the last verified one, so a match also
 * proves consistency. Tiles are checked against the hashes computed from the entries, entries
 * that claim to be records must parse as records, and a log that publishes nothing new for too
 * long is reported stale. Misbehaviour raises the same alerts as a witness.
 *
 * Position: the last verified checkpoint with the compact range of its tree, plus progress made
 * towards the next one (saved every PROGRESS_EVERY bundles), so a restart resumes where it was.
 */
import { join } from 'node:path';
import { AuditlogError } from '../errors.js';
import { equalHashes } from '../merkle/hasher.js';
import { nodeHasher } from '../merkle/rfc6962.js';
import {
  decodeEntryBundle,
  formatTilePath,
  splitTile,
  TILE_HEIGHT,
  TILE_WIDTH,
  tileWidth,
  treeRootFromLeafHashes,
} from '../merkle/tiles.js';
import { type Checkpoint, parseCheckpoint } from '../note/checkpoint.js';
import { decodeBase64, encodeBase64 } from '../note/encoding.js';
import type { VerifierKey } from '../note/keys.js';
import { parseNote, verifyNote } from '../note/note.js';
import { AlertLog, type AlertKind } from '../witness/alerts.js';
import { commit, openStateDB, type StateDB } from '../witness/db.js';
import { fetchCheckpoint, getBytes, joinUrl } from '../witness/fetch.js';
import { CompactRange } from './compact-range.js';
import { recordProblem } from './records.js';

/** Bundles between two saves of the progress of a catch-up. */
export const PROGRESS_EVERY = 64;
/** Bundles fetched ahead of the one being checked. */
const PREFETCH = 4;

export interface MonitoredLog {
  key: VerifierKey;
  url: string;
  /**
   * The origin line of the log's checkpoints (`--log-origin`). Default: the key's name, as
   * before this option existed, so state stored then (`mon/<key name>`) is read as before.
   */
  origin?: string;
  /** Bearer token for reading the log (`--log-token`: a log served with --private-reads). */
  token?: string;
}

/** The origin of a monitored log: its own, else its key's name. */
function originOf(log: MonitoredLog): string {
  return log.origin ?? log.key.name;
}

/** One log as the monitor follows it: its origin, every key trusted for it, and its URL. */
interface WatchedLog {
  origin: string;
  keys: VerifierKey[];
  url: string;
  token?: string;
}

const keyIdOf = (k: VerifierKey) => `${k.name}+${encodeBase64(k.publicKey)}`;

/**
 * Pools the entries of `logs` by origin, as the witness does: several entries with one origin
 * (a key rotation) make each of their keys trusted for that log, which is followed once, with
 * one position.
 * @throws AuditlogError('CONFLICT') when one key is given twice (even for two origins), or one
 *   origin two URLs.
 */
export function poolByOrigin(logs: readonly MonitoredLog[]): WatchedLog[] {
  const byOrigin = new Map<string, WatchedLog>();
  const keys = new Set<string>();
  for (const log of logs) {
    const origin = originOf(log);
    const id = keyIdOf(log.key);
    if (keys.has(id)) throw new AuditlogError('CONFLICT', `log key of ${log.key.name} given twice`);
    keys.add(id);
    const seen = byOrigin.get(origin);
    if (seen === undefined) {
      byOrigin.set(origin, {
        origin,
        keys: [log.key],
        url: log.url,
        ...(log.token === undefined ? {} : { token: log.token }),
      });
    } else if (seen.url !== log.url) throw new AuditlogError('CONFLICT', `two URLs for origin ${origin}`);
    else seen.keys.push(log.key);
  }
  return [...byOrigin.values()];
}

export interface MonitorOptions {
  /** Data directory (`db/`): the position and the alerts. */
  dir: string;
  logs: MonitoredLog[];
  /** Name written into alerts as `seen_by` (default `monitor`). */
  name?: string;
  webhook?: string;
  /** Report a log stale when its checkpoint has not changed for this long (ms; default 24 h). */
  staleAfterMs?: number;
  /** Require every entry to be a record leaf. */
  requireRecords?: boolean;
  /** Bundles between two saves of catch-up progress (default PROGRESS_EVERY). */
  progressEvery?: number;
  stderr?: { write(s: string): unknown; isTTY?: boolean };
  stdout?: { write(s: string): unknown };
  now?: () => number;
}

/** What one pass over one log concluded. */
export interface PassResult {
  origin: string;
  /** The verified size after the pass. */
  size: bigint;
  /** Alerts raised (new evidence) during the pass, stale warnings excluded. */
  alerts: number;
  /**
   * The log misbehaved in this pass (what it served failed a check), whether or not the alert
   * was new: a log that keeps serving a rolled-back checkpoint fails every pass.
   */
  failed: boolean;
  /** The log could not be read (network, missing tiles): nothing concluded. */
  error?: string;
}

interface Position {
  size: bigint;
  root: Uint8Array;
  note: string;
  edge: CompactRange;
  /** Leaf hashes of the partial last bundle, to check the log serves the same entries again. */
  leaves: Uint8Array[];
}

interface Stored {
  verified: { note: string; edge: string; leaves: string[] } | null;
  /**
   * Progress towards a newer checkpoint, with the problems found so far (a resumed catch-up
   * starts after the entries they were found in, so they must not be lost with the process).
   */
  progress: { edge: string; leaves: string[]; problems?: StoredProblems } | null;
  changed_at: number;
}

interface Problem {
  kind: AlertKind;
  detail: string;
}

/** Details kept per kind of problem in one catch-up (an alert quotes them, then counts the rest). */
const PROBLEM_DETAILS = 10;

/**
 * The problems one catch-up found, per kind: the first PROBLEM_DETAILS details and how many in
 * all. Bounded whatever the log holds (every entry of a large log can be a problem: raw entries
 * where records are required, say), unlike a list of every problem.
 */
type StoredProblems = { kind: AlertKind; details: string[]; count: number }[];

class Problems {
  readonly byKind = new Map<AlertKind, { details: string[]; count: number }>();

  /** Problems saved with a catch-up's progress (none for a fresh catch-up). */
  static from(saved: StoredProblems | undefined): Problems {
    const p = new Problems();
    for (const { kind, details, count } of saved ?? []) p.byKind.set(kind, { details: [...details], count });
    return p;
  }

  toStored(): StoredProblems {
    return [...this.byKind].map(([kind, { details, count }]) => ({ kind, details: [...details], count }));
  }

  push(p: Problem): void {
    let k = this.byKind.get(p.kind);
    if (k === undefined) {
      k = { details: [], count: 0 };
      this.byKind.set(p.kind, k);
    }
    k.count++;
    if (k.details.length < PROBLEM_DETAILS) k.details.push(p.detail);
  }
}

/** The first `count` hashes of tile (level, index), as the compact range at `nodes` sums them. */
interface TilePrefix {
  level: number;
  index: bigint;
  count: number;
  /** For each set bit j of count, highest first: the range's node at tree level 8·level + j. */
  nodes: Uint8Array[];
}

/** The prefix of every right-edge tile of level >= 1 that the range `edge` already covers. */
function rightEdgePrefixes(edge: CompactRange): Map<string, TilePrefix> {
  const out = new Map<string, TilePrefix>();
  for (let level = 1; edge.size >> BigInt(TILE_HEIGHT * level) > 0n; level++) {
    const count = Number((edge.size >> BigInt(TILE_HEIGHT * level)) % BigInt(TILE_WIDTH));
    if (count === 0) continue;
    const index = edge.size >> BigInt(TILE_HEIGHT * (level + 1));
    const nodes: Uint8Array[] = [];
    for (let j = TILE_HEIGHT - 1; j >= 0; j--) {
      if ((count >> j) & 1) {
        const node = edge.nodeAt(TILE_HEIGHT * level + j);
        if (!node)
          throw new AuditlogError('INTERNAL', `compact range lacks level ${TILE_HEIGHT * level + j}`);
        nodes.push(node);
      }
    }
    out.set(`${level}/${index}`, { level, index, count, nodes });
  }
  return out;
}

/** Whether the first `p.count` hashes of `tile`, folded by the bits of the count, give `p.nodes`. */
function prefixMatches(tile: Uint8Array[], p: TilePrefix): boolean {
  if (tile.length < p.count) return false;
  let at = 0;
  let n = 0;
  for (let j = TILE_HEIGHT - 1; j >= 0; j--) {
    if (((p.count >> j) & 1) === 0) continue;
    // A perfect subtree of 2^j tile hashes: its RFC 6962 root is that of those hashes as leaves.
    if (!equalHashes(treeRootFromLeafHashes(nodeHasher, tile.slice(at, at + (1 << j))), p.nodes[n++]!))
      return false;
    at += 1 << j;
  }
  return true;
}

export class Monitor {
  private constructor(
    private readonly db: StateDB,
    readonly alerts: AlertLog,
    private readonly opts: MonitorOptions,
    private readonly logs: readonly WatchedLog[],
  ) {}

  /**
   * Opens (creating) the monitor's state in `opts.dir`.
   * @throws AuditlogError 'CONFLICT' (see {@link poolByOrigin}), 'STORAGE' (database locked or
   *   unreadable).
   */
  static async open(opts: MonitorOptions): Promise<Monitor> {
    const logs = poolByOrigin(opts.logs);
    const db = await openStateDB(join(opts.dir, 'db'));
    try {
      const alerts = await AlertLog.open(db, {
        seenBy: opts.name ?? 'monitor',
        ...(opts.webhook ? { webhook: opts.webhook } : {}),
        ...(opts.stderr ? { stderr: opts.stderr } : {}),
      });
      return new Monitor(db, alerts, opts, logs);
    } catch (err) {
      await db.close();
      throw err;
    }
  }

  private now(): number {
    return this.opts.now?.() ?? Date.now();
  }

  private get stderr() {
    return this.opts.stderr ?? process.stderr;
  }

  private async load(origin: string): Promise<{ stored: Stored; verified?: Position; progress?: Position }> {
    const raw = await this.db.get(`mon/${origin}`);
    if (raw === undefined) return { stored: { verified: null, progress: null, changed_at: this.now() } };
    const stored = JSON.parse(raw) as Stored;
    const pos = (p: { edge: string; leaves: string[] }, note: string): Position => {
      const edge = CompactRange.parse(nodeHasher, p.edge);
      return {
        size: edge.size,
        // The signed root for the verified position; for progress (no checkpoint yet) the computed one.
        root: note === '' ? edge.root() : parseCheckpoint(parseNote(note).text).root,
        note,
        edge,
        leaves: p.leaves.map((h) => decodeBase64(h, 'STORAGE', 'stored leaf hash')),
      };
    };
    const verified = stored.verified ? pos(stored.verified, stored.verified.note) : undefined;
    if (verified && !equalHashes(verified.edge.root(), verified.root)) {
      throw new AuditlogError('STORAGE', `monitor state for ${origin} is corrupt`);
    }
    // Progress extends the verified tree (or the empty one): it carries the verified note, if any.
    const progress = stored.progress ? pos(stored.progress, verified?.note ?? '') : undefined;
    if (progress && progress.size < (verified?.size ?? 0n)) {
      throw new AuditlogError('STORAGE', `monitor progress for ${origin} is behind its verified position`);
    }
    return { stored, ...(verified ? { verified } : {}), ...(progress ? { progress } : {}) };
  }

  private async save(origin: string, stored: Stored): Promise<void> {
    await commit(this.db, [{ type: 'put', key: `mon/${origin}`, value: JSON.stringify(stored) }]);
  }

  /** One pass over every log. */
  async passAll(): Promise<PassResult[]> {
    const out: PassResult[] = [];
    for (const log of this.logs) out.push(await this.passWatched(log));
    return out;
  }

  /**
   * One pass over one log: catch up to its current checkpoint and check everything on the way.
   * The log is its origin: its checkpoints must carry it, its state is stored and its alerts
   * raised under it (a key trusts no other origin, even one equal to its name). A checkpoint
   * signed by any key of the origin is taken (a key rotation).
   */
  async pass(log: MonitoredLog): Promise<PassResult> {
    const origin = originOf(log);
    const pooled = this.logs.find(
      (l) => l.origin === origin && l.url === log.url && l.keys.some((k) => keyIdOf(k) === keyIdOf(log.key)),
    );
    // A log given to open() is checked with all the keys of its origin; another, with its own.
    return this.passWatched(pooled ?? { origin, keys: [log.key], url: log.url });
  }

  private async passWatched(log: WatchedLog): Promise<PassResult> {
    const origin = log.origin;
    const { stored, verified, progress } = await this.load(origin);
    const result = (alerts: number, error?: string, failed = false): PassResult => ({
      origin,
      size: verified?.size ?? 0n,
      alerts,
      failed,
      ...(error ? { error } : {}),
    });
    let note: string;
    let cp: Checkpoint;
    try {
      note = await fetchCheckpoint(log.url, log.token);
    } catch (e) {
      return result(0, (e as Error).message);
    }
    try {
      verifyNote(note, log.keys);
      cp = parseCheckpoint(parseNote(note).text);
      if (cp.origin !== origin)
        throw new AuditlogError('BAD_CHECKPOINT', `origin ${cp.origin} is not ${origin}`);
    } catch (e) {
      if (e instanceof AuditlogError && e.code === 'BAD_SIGNATURE') {
        const n = await this.raise(origin, verified, note, log.url, {
          kind: 'bad-signature',
          detail: 'the log served a checkpoint whose signature does not verify',
        });
        return result(n, undefined, true);
      }
      return result(0, (e as Error).message);
    }
    if (verified && cp.size < verified.size) {
      const detail = `the log served size ${cp.size} after size ${verified.size}`;
      return result(
        await this.raise(origin, verified, note, log.url, { kind: 'rollback', detail }),
        undefined,
        true,
      );
    }
    if (verified && cp.size === verified.size) {
      if (!equalHashes(cp.root, verified.root)) {
        const detail = `two checkpoints of size ${cp.size} with different roots`;
        return result(
          await this.raise(origin, verified, note, log.url, { kind: 'inconsistent', detail }),
          undefined,
          true,
        );
      }
      await this.checkStale(origin, stored, note, log.url);
      return result(0);
    }
    // A newer checkpoint: catch up from the progress made towards it, or from the verified tree.
    const start: Position =
      progress && progress.size <= cp.size
        ? progress
        : (verified ?? {
            size: 0n,
            root: nodeHasher.emptyRoot,
            note: '',
            edge: CompactRange.empty(nodeHasher),
            leaves: [],
          });
    stored.changed_at = this.now();
    const problems = start === progress ? Problems.from(stored.progress?.problems) : new Problems();
    let pos: Position;
    try {
      pos = await this.catchUp(log, stored, start, cp, problems);
    } catch (e) {
      return result(0, (e as Error).message);
    }
    let raised = 0;
    for (const [kind, { details, count }] of problems.byKind) {
      const more = count > details.length ? ` (and ${count - details.length} more)` : '';
      raised += await this.raise(origin, verified, note, log.url, {
        kind,
        detail: details.join('; ') + more,
      });
    }
    if (!equalHashes(pos.edge.root(), cp.root)) {
      raised += await this.raise(origin, verified, note, log.url, {
        kind: 'root-mismatch',
        detail: `the entries hash to ${encodeBase64(pos.edge.root())}, not the signed root ${encodeBase64(cp.root)}`,
      });
      // Start over from the verified tree next time.
      stored.progress = null;
      await this.save(origin, stored);
      return result(raised, undefined, true);
    }
    const leaves = pos.leaves.map(encodeBase64);
    stored.verified = { note, edge: pos.edge.serialize(), leaves };
    stored.progress = null;
    await this.save(origin, stored);
    (this.opts.stdout ?? process.stdout).write(
      `auditlog monitor: verified ${origin} size ${cp.size} root ${encodeBase64(cp.root)}\n`,
    );
    return { origin, size: cp.size, alerts: raised, failed: problems.byKind.size > 0 };
  }

  private async checkStale(origin: string, stored: Stored, note: string, url: string): Promise<void> {
    const staleAfter = this.opts.staleAfterMs ?? 24 * 3600 * 1000;
    const idle = this.now() - stored.changed_at;
    if (idle <= staleAfter) return;
    const a = await this.alerts.raise({
      kind: 'stale',
      origin,
      checkpoints: [note],
      sources: [url],
      proof: null,
      detail: `no new checkpoint for ${Math.round(idle / 1000)} s (more than ${Math.round(staleAfter / 1000)} s)`,
    });
    if (a) this.stderr.write(`auditlog monitor: warning: ${origin} is stale: ${a.detail}\n`);
  }

  /** Raises an alert with the verified checkpoint (if any) and the new one; returns 1 if new. */
  private async raise(
    origin: string,
    verified: Position | undefined,
    note: string,
    url: string,
    p: Problem,
  ): Promise<number> {
    const a = await this.alerts.raise({
      kind: p.kind,
      origin,
      checkpoints: verified ? [verified.note, note] : [note],
      sources: verified ? ['verified', url] : [url],
      proof: null,
      detail: p.detail,
    });
    return a ? 1 : 0;
  }

  private async fetchTile(
    log: WatchedLog,
    level: number | 'entries',
    index: bigint,
    width: number,
  ): Promise<Uint8Array> {
    const path = formatTilePath(level, index, width);
    const max = level === 'entries' ? 256 * 65537 : TILE_WIDTH * 32;
    const res = await getBytes(joinUrl(log.url, path), max, log.token);
    if (res.status !== 200) throw new AuditlogError('UNAVAILABLE', `GET ${path}: status ${res.status}`);
    return res.body;
  }

  /**
   * Downloads bundles and level-0 tiles from `from.size` to `cp.size`, appending leaves to a copy of
   * `from`'s compact range and checking tiles of every level against the nodes it completes.
   * Progress is saved every PROGRESS_EVERY bundles. Network failures throw (the progress is kept).
   */
  private async catchUp(
    log: WatchedLog,
    stored: Stored,
    from: Position,
    cp: Checkpoint,
    problems: Problems,
  ): Promise<Position> {
    const origin = log.origin;
    const edge = from.edge.clone();
    let leaves = from.leaves;
    if (cp.size <= edge.size) return { size: edge.size, root: edge.root(), note: from.note, edge, leaves };
    const W = BigInt(TILE_WIDTH);
    const first = edge.size / W;
    const last = (cp.size - 1n) / W;
    // Nodes at levels 8, 16, ... completed here, by tile, to compare with the log's tiles.
    const pending = new Map<string, { level: number; index: bigint; nodes: Map<number, Uint8Array> }>();
    // The hashes already in each right-edge tile of level >= 1 at the start (computed by an
    // earlier pass, or before a saved progress) are checked too: folded by the bits of their
    // count they must give the start's compact-range nodes at that tile's levels. Otherwise a
    // log could change them later unseen (a tile only grows at its right edge).
    const prefixes = rightEdgePrefixes(from.edge);
    const checkTile = async (level: number, index: bigint, width: number) => {
      const key = `${level}/${index}`;
      const want = pending.get(key);
      const prefix = prefixes.get(key);
      if (!want && !prefix) return;
      pending.delete(key);
      prefixes.delete(key);
      const path = formatTilePath(level, index, width);
      const got = splitTile(await this.fetchTile(log, level, index, width));
      for (const [pos, hash] of want?.nodes ?? []) {
        if (!got[pos] || !equalHashes(got[pos]!, hash)) {
          problems.push({ kind: 'tile-mismatch', detail: `tile ${path} hash ${pos} differs` });
        }
      }
      if (prefix && !prefixMatches(got, prefix)) {
        problems.push({
          kind: 'tile-mismatch',
          detail: `tile ${path}: its first ${prefix.count} hashes are not the tree's already verified`,
        });
      }
    };
    const onNode = (level: number, index: bigint, hash: Uint8Array) => {
      if (level === 0 || level % TILE_HEIGHT !== 0) return;
      const tl = level / TILE_HEIGHT;
      const ti = index / W;
      const key = `${tl}/${ti}`;
      let t = pending.get(key);
      if (!t) {
        t = { level: tl, index: ti, nodes: new Map() };
        pending.set(key, t);
      }
      t.nodes.set(Number(index % W), hash);
    };
    const fetchBundle = (b: bigint) => {
      const width = tileWidth(0, b, cp.size);
      return Promise.all([this.fetchTile(log, 'entries', b, width), this.fetchTile(log, 0, b, width)]);
    };
    const window = new Map<bigint, ReturnType<typeof fetchBundle>>();
    const total = cp.size - edge.size;
    const showProgress = this.stderr.isTTY === true && last - first > 4n;
    for (let b = first; b <= last; b++) {
      for (let p = b; p <= last && p < b + BigInt(PREFETCH); p++) {
        if (!window.has(p)) {
          const f = fetchBundle(p);
          f.catch(() => undefined);
          window.set(p, f);
        }
      }
      const [bundle, tile] = await window.get(b)!;
      window.delete(b);
      const width = tileWidth(0, b, cp.size);
      const start = b === first ? Number(edge.size % W) : 0;
      let entries: Uint8Array[];
      try {
        entries = decodeEntryBundle(bundle);
      } catch {
        entries = [];
      }
      if (entries.length !== width) {
        problems.push({
          kind: 'tile-mismatch',
          detail: `entry bundle ${b} has ${entries.length} entries, want ${width}`,
        });
        return { size: edge.size, root: edge.root(), note: from.note, edge, leaves };
      }
      const hashes = entries.map((e) => nodeHasher.hashLeaf(e));
      for (let i = 0; i < start; i++) {
        if (!leaves[i] || !equalHashes(leaves[i]!, hashes[i]!)) {
          problems.push({
            kind: 'tile-mismatch',
            detail: `entry ${b * W + BigInt(i)} changed since it was verified`,
          });
        }
      }
      const tileHashes = splitTile(tile);
      for (let i = 0; i < width; i++) {
        if (!tileHashes[i] || !equalHashes(tileHashes[i]!, hashes[i]!)) {
          problems.push({
            kind: 'tile-mismatch',
            detail: `tile ${formatTilePath(0, b, width)} hash ${i} is not the hash of entry ${b * W + BigInt(i)}`,
          });
        }
      }
      for (let i = start; i < width; i++) {
        const why = recordProblem(entries[i]!, this.opts.requireRecords === true);
        if (why !== undefined)
          problems.push({ kind: 'bad-entry', detail: `entry ${b * W + BigInt(i)}: ${why}` });
        edge.append(hashes[i]!, onNode);
      }
      leaves = width === TILE_WIDTH ? [] : hashes;
      // Full higher-level tiles completed by this bundle are checked now; partial ones at the end.
      for (const t of [...pending.values()]) {
        if (t.nodes.has(TILE_WIDTH - 1)) await checkTile(t.level, t.index, TILE_WIDTH);
      }
      const every = BigInt(this.opts.progressEvery ?? PROGRESS_EVERY);
      if ((b - first) % every === every - 1n && b < last) {
        stored.progress = {
          edge: edge.serialize(),
          leaves: leaves.map(encodeBase64),
          problems: problems.toStored(),
        };
        await this.save(origin, stored);
      }
      if (showProgress) {
        const done = edge.size - (cp.size - total);
        this.stderr.write(`\rauditlog monitor: ${origin}: ${done}/${total} entries`);
      }
    }
    if (showProgress) this.stderr.write('\n');
    for (const t of [...pending.values()])
      await checkTile(t.level, t.index, tileWidth(t.level, t.index, cp.size));
    for (const t of [...prefixes.values()])
      await checkTile(t.level, t.index, tileWidth(t.level, t.index, cp.size));
    return { size: edge.size, root: edge.root(), note: from.note, edge, leaves };
  }

  async close(): Promise<void> {
    await this.alerts.close();
    await this.db.close();
  }
}
