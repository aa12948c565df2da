import type { AbstractSublevel } from 'abstract-level';
import { type LogDB, writeSideOps } from '../storage/level-store.js';
import type { SideOp } from '../storage/store.js';

/**
 * The records layer's tables, all sublevels of the log's database named `rec-*`
 * (spec/records.md, "Storage"). Keys are binary; numbers are 8-byte big-endian so that byte
 * order is numeric order. Values are UTF-8 JSON unless said otherwise. Nothing here holds a
 * personal value in clear: bodies and subject keys are encrypted, subjects appear as tags.
 */
export type Table = AbstractSublevel<LogDB, Uint8Array | string, Uint8Array, Uint8Array>;

/** What the layer knows about one record besides its leaf. */
export interface RecordMeta {
  tenant: string;
  /** Hex subject tag of the record's data subject; null when it has none or after erasure. */
  tag: string | null;
  logged_at_ms: number;
  hot_until_ms: number;
  retain_until_ms: number;
  /** hot: body in the hot store; archived: moved to `archive`; erased: body destroyed. */
  state: 'hot' | 'archived' | 'erased';
  has_body: boolean;
  archive?: string;
  erased_at_ms?: number;
  /**
   * Hex tag of a person the record names besides its subject (spec/records.md, "Named
   * persons"); removed when that person is erased or the record's body is.
   */
  named_tag?: string;
}

/** A legal hold: on a whole tenant, or on one subject (in one tenant or, tenant null, all). */
export interface Hold {
  id: string;
  tenant_id: string | null;
  subject_tag: string | null;
  placed_at_ms: number;
  /** The name of the admin token that placed it. */
  placed_by: string;
  /**
   * The tenant of that token; null for a token without a tenant (a global admin). Decides who
   * may lift the hold. Absent on holds stored before it was kept: those count as placed by a
   * global admin, so only a global admin may lift them.
   */
  placed_by_tenant?: string | null;
  /**
   * The hex public subject tag (publicSubjectTag, for tenant_id or `*`) its log records carry;
   * null for a tenant hold. Absent on holds stored before public tags: their log records
   * carried `subject_tag` itself.
   */
  public_subject_tag?: string | null;
}

/**
 * A hold as the API answers it: the store's subject tag is replaced by the public one (see
 * Hold.public_subject_tag), so that no answer hands out a tag that tests guesses in another
 * tenant's log records.
 */
export type HoldView = Omit<Hold, 'public_subject_tag'>;

/** The API's view of `h`. */
export function holdView(h: Hold): HoldView {
  const { public_subject_tag, subject_tag, ...rest } = h;
  return { ...rest, subject_tag: public_subject_tag === undefined ? subject_tag : public_subject_tag };
}

/** An archive bundle the retention job wrote and committed. */
export interface ArchiveEntry {
  name: string;
  /** The absolute directory it was written to (the configured one may change later). */
  dir: string;
  tenant: string;
  first_index: number;
  last_index: number;
  count: number;
  sha256: string;
  retain_until_ms: number;
  record_ids: string[];
  subject_tags: string[];
  /** active, or deleting: the deletion is logged and the file is being removed. */
  state: 'active' | 'deleting';
  /** The id of its archive_created record (rows written before creation receipts have none). */
  created_record_id?: string;
}

const enc = new TextEncoder();
const dec = new TextDecoder();

export function u64(n: bigint | number): Uint8Array {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigUint64(0, BigInt(n));
  return b;
}

export function readU64(b: Uint8Array): bigint {
  return new DataView(b.buffer, b.byteOffset, b.byteLength).getBigUint64(0);
}

/** Standard padded base64 via Node's encoder (server side; the same text as note/encoding's). */
export function b64(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('base64');
}

export function json(v: unknown): Uint8Array {
  return enc.encode(JSON.stringify(v));
}

export function fromJson<T>(b: Uint8Array): T {
  return JSON.parse(dec.decode(b)) as T;
}

export function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** `tag || len(tenant) || tenant`: the prefix of a subject's rows in one tenant. */
export function subjectPrefix(tag: Uint8Array, tenant: string): Uint8Array {
  const t = enc.encode(tenant);
  return concat(tag, Uint8Array.of(t.length), t);
}

/** The smallest key greater than every key with this prefix (for `lt` bounds). */
export function prefixEnd(prefix: Uint8Array): Uint8Array {
  const end = new Uint8Array(prefix);
  for (let i = end.length - 1; i >= 0; i--) {
    if (end[i]! < 0xff) {
      end[i]!++;
      return end.subarray(0, i + 1);
    }
  }
  return concat(prefix, Uint8Array.of(0xff));
}

export class RecordStore {
  /** record_id -> encrypted body blob. */
  readonly bodies: Table;
  /** record_id -> RecordMeta. */
  readonly meta: Table;
  /** subjectPrefix(tag, tenant) -> wrapped subject key. */
  readonly keys: Table;
  /** subjectPrefix(tag, tenant) || record_id -> empty: the records of a subject. */
  readonly subjects: Table;
  /** subjectPrefix(tag, tenant) || record_id -> empty: records naming a person not their subject. */
  readonly named: Table;
  /** u64(hot_until_ms) || record_id -> empty: the records still in the hot store, by due time. */
  readonly hot: Table;
  /** record_id -> u64(index): where a record's leaf is in the log. */
  readonly index: Table;
  /** hold id -> Hold. */
  readonly holds: Table;
  /** archive name -> ArchiveEntry. */
  readonly archives: Table;
  /** `reindexed` -> u64(tree size up to which `index` is complete). */
  readonly state: Table;

  constructor(readonly db: LogDB) {
    const sub = (name: string) =>
      db.sublevel<Uint8Array | string, Uint8Array>(`rec-${name}`, {
        keyEncoding: 'view',
        valueEncoding: 'view',
      }) as Table;
    this.bodies = sub('bodies');
    this.meta = sub('meta');
    this.keys = sub('keys');
    this.subjects = sub('subjects');
    this.named = sub('named');
    this.hot = sub('hot');
    this.index = sub('index');
    this.holds = sub('holds');
    this.archives = sub('archives');
    this.state = sub('state');
  }

  put(table: Table, key: Uint8Array | string, value: Uint8Array): SideOp {
    return { type: 'put', sublevel: table, key: typeof key === 'string' ? enc.encode(key) : key, value };
  }

  del(table: Table, key: Uint8Array | string): SideOp {
    return { type: 'del', sublevel: table, key: typeof key === 'string' ? enc.encode(key) : key };
  }

  async get(table: Table, key: Uint8Array | string): Promise<Uint8Array | undefined> {
    return table.get(typeof key === 'string' ? enc.encode(key) : key);
  }

  async getMeta(recordId: string): Promise<RecordMeta | undefined> {
    const v = await this.get(this.meta, recordId);
    return v === undefined ? undefined : fromJson<RecordMeta>(v);
  }

  async getIndex(recordId: string): Promise<bigint | undefined> {
    const v = await this.get(this.index, recordId);
    return v === undefined ? undefined : readU64(v);
  }

  /** Commits `ops` atomically and durably. */
  async write(ops: SideOp[]): Promise<void> {
    if (ops.length > 0) await writeSideOps(this.db, ops, true);
  }

  /**
   * A side operation noting that deleted values await a compaction: committed with the
   * deletions, cleared by {@link compactPending}, so a crash in between is finished at start-up.
   */
  compactionDue(): SideOp {
    return this.put(this.state, 'compact-pending', Uint8Array.of(1));
  }

  /** Compacts if a compaction is due (or `force`), then clears the note. Returns whether it compacted. */
  async compactPending(force = false): Promise<boolean> {
    if (!force && !(await this.isCompactionDue())) return false;
    await this.compactTwice();
    await this.compactionDone();
    return true;
  }

  /** Whether a compaction is noted as due (compactionDue committed, compactionDone not yet). */
  async isCompactionDue(): Promise<boolean> {
    return (await this.get(this.state, 'compact-pending')) !== undefined;
  }

  /** Clears the note of compactionDue: the deleted values are known to be gone from the files. */
  async compactionDone(): Promise<void> {
    await this.write([this.del(this.state, 'compact-pending')]);
  }

  /**
   * Compacts twice: the first pushes everything (memtable included) into table files, the
   * second merges the deletions with the values they delete wherever the first left them.
   */
  async compactTwice(): Promise<void> {
    await this.compact();
    await this.compact();
  }

  /**
   * Compacts every `rec-*` table (memtable flushed, write-ahead log rotated, all levels merged),
   * so deleted values are gone from the files of the data directory.
   */
  async compact(): Promise<void> {
    // classic-level has compactRange; the `level` type (shared with browser-level) does not say so.
    const db = this.db as unknown as { compactRange(start: Uint8Array, end: Uint8Array): Promise<void> };
    await db.compactRange(enc.encode('!rec-'), enc.encode('!rec.'));
  }
}
