import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { AuditlogError } from '../errors.js';
import type { Log } from '../sequencer/log.js';
import { type Receipt, type ReceiptJSON, receiptToJSON } from '../sequencer/receipt.js';
import { DB_DIR } from '../storage/data-dir.js';
import { writeSideOps } from '../storage/level-store.js';
import type { SideOp } from '../storage/store.js';
import { deriveRecordKeys, publicSubjectTag, subjectTag } from './body-crypto.js';
import { Gate } from './gate.js';
import { isRecordId, newRecordId, parseLeaf, type RecordLeaf, recordIdIn } from './leaf.js';
import { loadOrCreateMasterKey } from './master-key.js';
import { type RecordRetention, strictestRetention } from './retention.js';
import { classesForRecord, loadRetentionConfig, type RetentionConfig } from './retention-config.js';
import {
  type AuditRecord,
  isPersonActor,
  type LeafRecord,
  LOG_ACTIONS,
  parseRecord,
  RECORD_SUBJECT_PREFIX,
} from './schema.js';
import { findInFiles } from './scrub-check.js';
import { type FieldCheck, openRecord, sealRecord } from './seal.js';
import { hasPersonalFields, namedPersonOf } from './split.js';
import {
  type ArchiveEntry,
  b64,
  fromJson,
  type Hold,
  type HoldView,
  holdView,
  json,
  prefixEnd,
  type RecordMeta,
  RecordStore,
  readU64,
  subjectPrefix,
  u64,
} from './store.js';
import { SealPool } from './seal-pool.js';
import { type SubjectKey, SubjectKeys } from './subject-keys.js';

/** Who is asking: a token's role, name and optional tenant (from the API's auth layer). */
export interface Actor {
  role: 'submitter' | 'auditor' | 'admin';
  name: string;
  tenant?: string | undefined;
}

/** The answer for one submitted record: its id, its leaf, and the log's receipt. */
export interface SubmittedRecord extends ReceiptJSON {
  record_id: string;
  entry: string;
}

/** What an audited read returns (GET /v1/records/<index>). */
export interface RecordRead {
  index: number;
  record_id: string;
  tenant_id: string;
  logged_at: string;
  /**
   * hot or archived: the cleartext is here; erased: destroyed by an erasure; deleted: its
   * archive was deleted at the end of its retention; no_personal_data: there was none.
   */
  status: 'hot' | 'archived' | 'erased' | 'deleted' | 'no_personal_data';
  /** The record: with its verified personal fields put back, or only its public part. */
  record: LeafRecord;
  fields: (FieldCheck & { status: 'verified' | 'mismatch' | 'erased' | 'deleted' })[];
  /** Whether the body read hashes to the leaf's body_sha256 and opens; null when no body was read. */
  body_verified: boolean | null;
  entry: string;
  proof: ReceiptJSON;
  /** The data_accessed record this read left in the log. */
  access: SubmittedRecord;
}

export interface RecordServiceOptions {
  log: Log;
  /** The data directory (holds records.key, config.json and, by default, archive/). */
  dataDir: string;
  /** Defaults to `<dataDir>/config.json`'s retention section. */
  retention?: RetentionConfig;
  /** Clock in milliseconds (tests). */
  now?: () => number;
  /** Most subject keys cached (default 10,000; tests set it small). */
  maxCachedSubjectKeys?: number;
}

const enc = new TextEncoder();
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

/**
 * Record ids listed by one `subject_erased` record, own and named together (each ~39 bytes of
 * the leaf, whose limit is 64 KiB); the counts beside them are exact.
 */
export const ERASURE_LISTED_IDS = 1000;

/** The tenant value of log records that concern every tenant (a global hold or erasure). */
export const ALL_TENANTS = '*';

/**
 * The compliance record layer on top of a log (spec/records.md): sealing and appending
 * records, audited reads, erasure and legal holds. Retention lives in retention-job.ts.
 */
/** What `prepare` settles for a record before it is sealed. */
interface Prepared {
  loggedAtMs: number;
  retention: RecordRetention;
  recordId: string;
  tag: Uint8Array | null;
  key: SubjectKey | null;
  /** A person the record names besides its subject (spec/records.md, "Named persons"). */
  named: SubjectKey | null;
}

export class RecordService {
  readonly store: RecordStore;
  private readonly sealer = new SealPool();
  readonly keys: SubjectKeys;
  readonly gate = new Gate();
  private readonly tagKey: Uint8Array;
  private readonly publicTagKey: Uint8Array;
  private readonly holds = new Map<string, Hold>();
  private indexQueue: string[] = [];
  private indexFlush: Promise<void> | null = null;
  private readonly pendingIndex = new Map<string, bigint>();
  /** Record appends between their log.append call and their index row being noted. */
  private inFlight = 0;
  private onIdle: (() => void) | undefined;
  private closing = false;
  /** Set when an append failed or an index row write failed since the last reindex. */
  private rowsInDoubt = false;
  readonly now: () => number;

  private constructor(
    readonly log: Log,
    readonly dataDir: string,
    readonly retention: RetentionConfig,
    master: Uint8Array,
    now: (() => number) | undefined,
    maxCachedSubjectKeys: number | undefined,
  ) {
    this.store = new RecordStore(log.db);
    const k = deriveRecordKeys(master);
    this.tagKey = k.tagKey;
    this.publicTagKey = k.publicTagKey;
    this.keys = new SubjectKeys(this.store, k.wrapKey, maxCachedSubjectKeys);
    this.now = now ?? Date.now;
  }

  /** Opens the layer on an open log: loads (or creates) the master key, the holds, and catches up the index. */
  static async open(opts: RecordServiceOptions): Promise<RecordService> {
    const s = new RecordService(
      opts.log,
      opts.dataDir,
      opts.retention ?? loadRetentionConfig(opts.dataDir),
      loadOrCreateMasterKey(opts.dataDir),
      opts.now,
      opts.maxCachedSubjectKeys,
    );
    for await (const [, v] of s.store.holds.iterator()) {
      const h = fromJson<Hold>(v);
      s.holds.set(h.id, h);
    }
    await s.reindex();
    // An erasure or retention run that crashed between its commit and its compaction.
    await s.store.compactPending();
    return s;
  }

  /** The keyed hash naming `subject` in the store (never in a leaf or an answer). */
  tagOf(subject: string): Uint8Array {
    return subjectTag(this.tagKey, subject);
  }

  /** The hex keyed hash naming `subject` of `tenant` (or `*`) in log records and answers. */
  publicTagOf(subject: string, tenant: string): string {
    return hex(publicSubjectTag(this.publicTagKey, tenant, subject));
  }

  // ---------------------------------------------------------------- ingestion

  /**
   * Seals and appends records; resolves when all are durably in the log with their bodies.
   * Records go into the log concurrently (usually one batch). Refusals that depend only on the
   * request (a record that does not seal, a leaf over the log's entry limit, no room in the
   * log's queue for all of them) come before anything is appended; if an append then fails (a
   * storage or signer failure), the first error is thrown and the others may still have been logged.
   * @throws FORBIDDEN (tenant of another token), BAD_REQUEST (reserved action or tenant,
   *   unknown compliance domain), TOO_LARGE, OVERLOADED.
   */
  async submit(records: AuditRecord[], actor: Actor): Promise<SubmittedRecord[]> {
    records.forEach((r, i) => {
      const at = records.length > 1 ? `records.${i}.` : '';
      if (actor.tenant !== undefined && r.tenant_id !== actor.tenant) {
        throw new AuditlogError(
          'FORBIDDEN',
          `${at}tenant_id: this token may only write tenant ${actor.tenant}`,
        );
      }
      if (r.tenant_id === ALL_TENANTS)
        throw new AuditlogError('BAD_REQUEST', `${at}tenant_id: reserved for the log`);
      if ((LOG_ACTIONS as readonly string[]).includes(r.action)) {
        throw new AuditlogError('BAD_REQUEST', `${at}action: ${r.action} is written only by the log`);
      }
    });
    return this.gate.shared(async () => {
      // Records of one request are mostly about one data subject: its tag is computed once.
      const tags = new Map<string, Uint8Array>();
      const preparing = await Promise.allSettled(records.map((r) => this.prepare(r, tags)));
      const prepared = preparing.flatMap((p) => (p.status === 'fulfilled' ? [p.value] : []));
      try {
        const refused = preparing.find((p) => p.status === 'rejected');
        if (refused) throw refused.reason;
        // Sealed together on a worker thread; an error (e.g. a leaf over the entry limit) stops
        // the request before anything of it is appended.
        const sealed = await this.sealer.seal(
          prepared.map((p, i) => ({
            record: records[i]!,
            recordId: p.recordId,
            loggedAtMs: p.loggedAtMs,
            subjectKey: p.key?.key ?? null,
            named: p.named === null ? null : { tag: p.named.tag, key: p.named.key },
          })),
        );
        // All or nothing: every leaf within the log's entry limit, and room in its queue for
        // all of them, checked in the same turn as the appends below.
        sealed.forEach((s, i) => {
          if (s.leafBytes.length > this.log.maxEntrySize) {
            throw new AuditlogError(
              'TOO_LARGE',
              `${records.length > 1 ? `records.${i}` : 'record'}: leaf is ${s.leafBytes.length} bytes, over the log's entry limit of ${this.log.maxEntrySize}`,
            );
          }
        });
        this.log.checkRoom(sealed.length);
        // Every append settles before the keys are released: a key whose record may still
        // commit must stay the subject's key.
        const appended = await Promise.allSettled(
          prepared.map((p, i) => this.appendSealed(records[i]!, p, sealed[i]!)),
        );
        const failed = appended.find((a) => a.status === 'rejected');
        if (failed) throw failed.reason;
        return appended.map((a) => (a as PromiseFulfilledResult<SubmittedRecord>).value);
      } finally {
        for (const p of prepared) {
          if (p.key !== null) this.keys.release(p.key);
          if (p.named !== null) this.keys.release(p.named);
        }
      }
    });
  }

  /**
   * Id, time, retention, subject tag and key of a record about to be sealed. `tags` holds the
   * tags already computed for this request, by subject (read-only arrays, shared).
   */
  private async prepare(record: AuditRecord, tags: Map<string, Uint8Array>): Promise<Prepared> {
    const loggedAtMs = this.now();
    const retention = strictestRetention(loggedAtMs, classesForRecord(this.retention, record));
    const recordId = newRecordId();
    const hasPersonal = hasPersonalFields(record);
    // The data subject: the user_id; else a person actor; else, for a record with personal
    // fields, the record itself: "record:<id>" (spec/records.md).
    const subject =
      record.user_id ??
      (isPersonActor(record.actor_type) ? record.actor_id : undefined) ??
      (hasPersonal ? `${RECORD_SUBJECT_PREFIX}${recordId}` : undefined);
    const tagFor = (id: string) => {
      const t = tags.get(id) ?? this.tagOf(id);
      tags.set(id, t);
      return t;
    };
    const tag = subject === undefined ? null : tagFor(subject);
    const key = tag === null || !hasPersonal ? null : await this.keys.get(tag, record.tenant_id);
    // A user actor acting on another user's record keeps their own key for their own fields.
    const person = namedPersonOf(record);
    let named: SubjectKey | null = null;
    if (person !== undefined) {
      try {
        named = await this.keys.get(tagFor(person.id), record.tenant_id);
      } catch (err) {
        if (key !== null) this.keys.release(key);
        throw err;
      }
    }
    return { loggedAtMs, retention, recordId, tag, key, named };
  }

  private async appendSealed(
    record: AuditRecord,
    { loggedAtMs, retention, recordId, tag, key, named }: Prepared,
    sealed: { leafBytes: Uint8Array; body: Uint8Array | null },
  ): Promise<SubmittedRecord> {
    const st = this.store;
    const meta: RecordMeta = {
      tenant: record.tenant_id,
      tag: tag === null ? null : hex(tag),
      logged_at_ms: loggedAtMs,
      hot_until_ms: retention.hotUntilMs,
      retain_until_ms: retention.retainUntilMs,
      state: 'hot',
      has_body: sealed.body !== null,
      ...(named === null ? {} : { named_tag: hex(named.tag) }),
    };
    const ops: SideOp[] = [
      st.put(st.meta, recordId, json(meta)),
      st.put(st.hot, concatBytes(u64(retention.hotUntilMs), enc.encode(recordId)), new Uint8Array(0)),
    ];
    if (tag !== null) {
      ops.push(
        st.put(
          st.subjects,
          concatBytes(subjectPrefix(tag, record.tenant_id), enc.encode(recordId)),
          new Uint8Array(0),
        ),
      );
    }
    if (sealed.body !== null && key !== null) {
      ops.push(st.put(st.bodies, recordId, sealed.body), ...this.keys.opsFor(key));
    }
    if (named !== null) {
      ops.push(
        st.put(
          st.named,
          concatBytes(subjectPrefix(named.tag, record.tenant_id), enc.encode(recordId)),
          new Uint8Array(0),
        ),
        ...this.keys.opsFor(named),
      );
    }
    const receipt = await this.appendRecord(recordId, sealed.leafBytes, ops);
    if (key !== null) this.keys.markDurable(key);
    if (named !== null) this.keys.markDurable(named);
    return { record_id: recordId, entry: b64(sealed.leafBytes), ...receiptToJSON(receipt) };
  }

  /**
   * Appends a record written by the log itself (no personal fields), with `sideOps` in its batch.
   * `recordId`, when given, is the id to write it under (a fresh one from newRecordId(), chosen
   * before so that a side op can name the record); else a fresh id is made.
   * Takes no gate: callers inside an exclusive section use it.
   */
  async appendSystem(
    record: Omit<AuditRecord, 'actor_type'> & { actor_type?: AuditRecord['actor_type'] },
    sideOps: SideOp[] = [],
    recordId: string = newRecordId(),
  ): Promise<SubmittedRecord> {
    const rec = parseRecord({ actor_type: 'system', ...record });
    if (rec.user_id !== undefined || rec.input !== undefined || rec.output !== undefined)
      throw new AuditlogError('INTERNAL', 'a log record must hold no personal field');
    if (!isRecordId(recordId))
      throw new AuditlogError('INTERNAL', `appendSystem: ${recordId} is not a record id`);
    const loggedAtMs = this.now();
    const sealed = sealRecord(rec, { recordId, loggedAtMs, subjectKey: null, logWritten: true });
    const st = this.store;
    const retention =
      rec.tenant_id === ALL_TENANTS
        ? { hotUntilMs: loggedAtMs, retainUntilMs: loggedAtMs }
        : strictestRetention(loggedAtMs, classesForRecord(this.retention, rec));
    const meta: RecordMeta = {
      tenant: rec.tenant_id,
      tag: null,
      logged_at_ms: loggedAtMs,
      hot_until_ms: retention.hotUntilMs,
      retain_until_ms: retention.retainUntilMs,
      state: 'hot',
      has_body: false,
    };
    // Log records have no body; they are not archived (their leaves stay in the tree forever).
    const receipt = await this.appendRecord(recordId, sealed.leafBytes, [
      ...sideOps,
      st.put(st.meta, recordId, json(meta)),
    ]);
    return { record_id: recordId, entry: b64(sealed.leafBytes), ...receiptToJSON(receipt) };
  }

  /**
   * Appends a record's leaf with its side operations and notes its index row. Counted while in
   * flight, so that close() knows when every committed record of this layer has its row noted;
   * a failed append may still have landed (a write applied but reported failed), so it makes
   * close() scan the log instead of trusting the rows.
   * @throws CLOSED once close() has begun, and whatever the log's append throws.
   */
  private async appendRecord(recordId: string, leafBytes: Uint8Array, ops: SideOp[]): Promise<Receipt> {
    if (this.closing) throw new AuditlogError('CLOSED', 'the record layer is shutting down');
    this.inFlight++;
    try {
      const receipt = await this.log.append(leafBytes, ops);
      this.noteIndex(recordId, receipt.index);
      return receipt;
    } catch (err) {
      this.rowsInDoubt = true;
      throw err;
    } finally {
      if (--this.inFlight === 0) this.onIdle?.();
    }
  }

  /**
   * Records where a committed record landed. Not synced, and a failure is not the caller's:
   * the record is already durable, and reindex() rebuilds missing rows from the log.
   */
  private noteIndex(recordId: string, index: bigint): void {
    // Nobody waits for the write (it would queue behind the next batch's fsync): until it is
    // done, indexOf() answers from memory. Rows noted in the same turn go out in one batch.
    this.pendingIndex.set(recordId, index);
    this.indexQueue.push(recordId);
    this.indexFlush ??= new Promise<void>((resolve) => setImmediate(resolve)).then(async () => {
      const ids = this.indexQueue;
      this.indexQueue = [];
      this.indexFlush = null;
      try {
        await writeSideOps(
          this.store.db,
          ids.map((id) => this.store.put(this.store.index, id, u64(this.pendingIndex.get(id)!))),
          false,
        );
      } catch {
        // reindex() at the next start-up, retention run or close fills the gap.
        this.rowsInDoubt = true;
      }
      for (const id of ids) this.pendingIndex.delete(id);
    });
  }

  /** Where a record's leaf is in the log (including records whose index row is being written). */
  async indexOf(recordId: string): Promise<bigint | undefined> {
    return this.pendingIndex.get(recordId) ?? (await this.store.getIndex(recordId));
  }

  /**
   * Makes `rec-index` complete up to the log's current size: maps the record id of every
   * record leaf not yet mapped (a crash may lose the unsynced puts), keeping the first index
   * of an id, then records the size reached, durably.
   */
  async reindex(): Promise<void> {
    // Doubts raised from here on concern entries this scan may not reach; a failed scan leaves
    // its rows in doubt.
    this.rowsInDoubt = false;
    try {
      await this.reindexFromMarker();
    } catch (err) {
      this.rowsInDoubt = true;
      throw err;
    }
  }

  private async reindexFromMarker(): Promise<void> {
    const st = this.store;
    const done = await st.get(st.state, 'reindexed');
    let from = done === undefined ? 0n : readU64(done);
    const size = this.log.latest().size;
    while (from < size) {
      const end = from + 1024n < size ? from + 1024n : size;
      const entries = await this.log.entries(from, end);
      // Candidates by a byte search (no parsing): then one getMany per table for all of them.
      const found: { id: string; index: bigint }[] = [];
      entries.forEach((e, i) => {
        const id = recordIdIn(e);
        if (id !== null) found.push({ id, index: from + BigInt(i) });
      });
      const ids = found.map((f) => enc.encode(f.id));
      const [metas, rows] = await Promise.all([st.meta.getMany(ids), st.index.getMany(ids)]);
      const ops: SideOp[] = [];
      const seen = new Set<string>();
      found.forEach((f, i) => {
        // Ours (a meta row), not yet mapped (the store only: the cursor moves past it), first wins.
        if (metas[i] === undefined || rows[i] !== undefined || seen.has(f.id)) return;
        seen.add(f.id);
        ops.push(st.put(st.index, f.id, u64(f.index)));
      });
      from = end;
      ops.push(st.put(st.state, 'reindexed', u64(from)));
      await st.write(ops);
    }
  }

  // ---------------------------------------------------------------- reads

  /** The leaf at `index` if it is a record of this layer (not a raw entry that looks like one). */
  async leafAt(index: bigint): Promise<{ leaf: RecordLeaf; entry: Uint8Array }> {
    const size = this.log.latest().size;
    if (index < 0n || index >= size)
      throw new AuditlogError('NOT_FOUND', `no entry ${index} (tree size ${size})`);
    const [entry] = await this.log.entries(index, index + 1n);
    const leaf = tryParseLeaf(entry!);
    if (leaf === null || (await this.indexOf(leaf.record_id)) !== index) {
      throw new AuditlogError('NOT_FOUND', `entry ${index} is not a record`);
    }
    return { leaf, entry: entry! };
  }

  /**
   * The audited read: the record at `index` with its cleartext (if not erased), a fresh
   * inclusion proof against the latest checkpoint, and which fields verify against their
   * commitments. The read is first appended as a data_accessed record naming `actor.name`;
   * if that fails, nothing is returned.
   * A token with a tenant reads only that tenant's records: not another tenant's, nor the log's
   * records of tenant `*` (ALL_TENANTS), which only tokens without a tenant read. A refused read
   * is not logged.
   * @throws NOT_FOUND, FORBIDDEN (another tenant's record, or one of tenant `*`).
   */
  async read(index: bigint, actor: Actor): Promise<RecordRead> {
    const { leaf, entry } = await this.leafAt(index);
    const tenant = leaf.record.tenant_id;
    if (actor.tenant !== undefined && actor.tenant !== tenant) {
      throw new AuditlogError(
        'FORBIDDEN',
        tenant === ALL_TENANTS
          ? `record ${index} is the log's record for all tenants (tenant *): only a token without a tenant may read it`
          : `record ${index} belongs to another tenant`,
      );
    }
    const access = await this.appendSystem({
      tenant_id: tenant,
      action: 'data_accessed',
      actor_id: actor.name,
      actor_type: actor.role === 'admin' ? 'admin' : 'user',
      resource_type: 'audit_record',
      resource_id: leaf.record_id,
      details: { index: Number(index), role: actor.role },
    });
    const pointers = Object.keys(leaf.commitments);
    // Meta, body and key are read together under the gate: an archive run or an erasure (both
    // exclusive) cannot move or destroy the body between them, so a hot record that was just
    // archived is not reported erased.
    const { meta, body, key, namedKey } = await this.gate.shared(async () => {
      const meta = await this.store.getMeta(leaf.record_id);
      const body =
        pointers.length === 0 || meta?.state === 'erased' || meta === undefined
          ? undefined
          : await this.bodyOf(leaf.record_id, meta);
      const key =
        body === undefined || meta?.tag == null
          ? undefined
          : await this.keys.find(Buffer.from(meta.tag, 'hex'), tenant);
      // A named person's key: gone once they were erased (and their tag with it from the meta).
      const namedKey =
        body === undefined || meta?.named_tag === undefined
          ? undefined
          : { tag: meta.named_tag, key: await this.keys.find(Buffer.from(meta.named_tag, 'hex'), tenant) };
      return { meta, body, key, namedKey };
    });
    let status: RecordRead['status'] = pointers.length === 0 ? 'no_personal_data' : 'hot';
    let record: LeafRecord = leaf.record;
    let bodyVerified: boolean | null = null;
    let fields: RecordRead['fields'] = pointers.map((pointer) => ({
      pointer,
      verified: false,
      status: 'erased',
    }));
    if (pointers.length > 0) {
      if (meta === undefined) {
        status = 'deleted'; // its archive was deleted at the end of its retention
        fields = pointers.map((pointer) => ({ pointer, verified: false, status: 'deleted' }));
      } else if (body === undefined || key === undefined) {
        status = 'erased';
      } else {
        status = meta?.state === 'archived' ? 'archived' : 'hot';
        try {
          const opened = openRecord(leaf, body, key, (t) => (t === namedKey?.tag ? namedKey.key : undefined));
          record = opened.record;
          bodyVerified = opened.bodyDigestOk;
          fields = opened.fields.map((f) => ({
            ...f,
            status: f.verified ? 'verified' : f.erased ? 'erased' : 'mismatch',
          }));
        } catch (err) {
          // A body that does not open (altered at rest): say so, field by field; never guess.
          if (!(err instanceof AuditlogError)) throw err;
          bodyVerified = false;
          fields = pointers.map((pointer) => ({ pointer, verified: false, status: 'mismatch' }));
        }
      }
    }
    // The access record was appended after the read record, so the latest tree contains both.
    const latest = this.log.latest();
    return {
      index: Number(index),
      record_id: leaf.record_id,
      tenant_id: tenant,
      logged_at: leaf.logged_at,
      status,
      record,
      fields,
      body_verified: bodyVerified,
      entry: b64(entry),
      proof: receiptToJSON({
        origin: this.log.origin,
        index,
        tree_size: latest.size,
        leaf_hash: await this.log.leafHash(index),
        inclusion_proof: await this.log.inclusionProof(index, latest.size),
        checkpoint: latest.note,
      }),
      access,
    };
  }

  /** The encrypted body of a record: from the hot store, or from its archive bundle. */
  private async bodyOf(recordId: string, meta: RecordMeta): Promise<Uint8Array | undefined> {
    if (meta.state === 'hot') return this.store.get(this.store.bodies, recordId);
    if (meta.state === 'archived' && meta.archive !== undefined) {
      const { readArchivedBody } = await import('./archive.js');
      const row = await this.store.get(this.store.archives, meta.archive);
      const dir = row === undefined ? this.retention.archiveDir : fromJson<ArchiveEntry>(row).dir;
      return readArchivedBody(dir, meta.archive, recordId);
    }
    return undefined;
  }

  // ---------------------------------------------------------------- holds and erasure

  /** The holds that forbid deleting data of `tenant` (and of subject `tag`, if given). */
  blockingHolds(tenant: string, tags: readonly string[] = []): Hold[] {
    return [...this.holds.values()].filter(
      (h) =>
        (h.subject_tag === null && h.tenant_id === tenant) ||
        (h.subject_tag !== null &&
          tags.includes(h.subject_tag) &&
          (h.tenant_id === null || h.tenant_id === tenant)),
    );
  }

  listHolds(actor: Actor): HoldView[] {
    return [...this.holds.values()]
      .filter((h) => actor.tenant === undefined || h.tenant_id === actor.tenant)
      .map(holdView);
  }

  /**
   * Places a legal hold on a tenant, or on a subject (in one tenant, or in all when the token
   * and request name none). Logged as legal_hold_placed, with the subject only as its public
   * tag in the hold's scope (publicTagOf).
   */
  async placeHold(
    req: { tenant_id?: string; subject?: string },
    actor: Actor,
  ): Promise<{ hold: HoldView; log: SubmittedRecord }> {
    const tenant = this.scopeTenant(req.tenant_id, actor);
    if (req.subject === undefined && tenant === undefined) {
      throw new AuditlogError('BAD_REQUEST', 'tenant_id: required for a hold without a subject');
    }
    const hold: Hold = {
      id: `hold_${randomBytes(12).toString('hex')}`,
      tenant_id: tenant ?? null,
      subject_tag: req.subject === undefined ? null : hex(this.tagOf(req.subject)),
      placed_at_ms: this.now(),
      placed_by: actor.name,
      placed_by_tenant: actor.tenant ?? null,
      public_subject_tag:
        req.subject === undefined ? null : this.publicTagOf(req.subject, tenant ?? ALL_TENANTS),
    };
    return this.gate.exclusive(async () => {
      const log = await this.appendSystem(
        {
          tenant_id: hold.tenant_id ?? ALL_TENANTS,
          action: 'legal_hold_placed',
          actor_id: actor.name,
          actor_type: 'admin',
          resource_type: 'legal_hold',
          resource_id: hold.id,
          details: {
            hold_id: hold.id,
            scope: hold.subject_tag === null ? 'tenant' : 'subject',
            subject_tag: holdView(hold).subject_tag,
          },
        },
        [this.store.put(this.store.holds, hold.id, json(hold))],
      );
      this.holds.set(hold.id, hold);
      return { hold: holdView(hold), log };
    });
  }

  /**
   * Lifts a hold (logged as legal_hold_lifted). An admin without a tenant lifts any hold; an
   * admin with a tenant only a hold placed by an admin of that same tenant (not one a global
   * admin placed on its tenant or on a subject in it, nor one stored without its placer's
   * tenant, see `Hold.placed_by_tenant`).
   * @throws NOT_FOUND, FORBIDDEN (another tenant's hold, or one a global admin placed).
   */
  async liftHold(id: string, actor: Actor): Promise<{ hold: HoldView; log: SubmittedRecord }> {
    return this.gate.exclusive(async () => {
      const hold = this.holds.get(id);
      if (hold === undefined) throw new AuditlogError('NOT_FOUND', `no hold ${id}`);
      if (actor.tenant !== undefined && hold.tenant_id !== actor.tenant) {
        throw new AuditlogError('FORBIDDEN', `hold ${id} is not this token's tenant's`);
      }
      if (actor.tenant !== undefined && hold.placed_by_tenant !== actor.tenant) {
        throw new AuditlogError(
          'FORBIDDEN',
          hold.placed_by_tenant === undefined
            ? `hold ${id} was stored without its placer's tenant; only an admin without a tenant may lift it`
            : `hold ${id} was placed by an admin without a tenant; only such an admin may lift it`,
        );
      }
      const log = await this.appendSystem(
        {
          tenant_id: hold.tenant_id ?? ALL_TENANTS,
          action: 'legal_hold_lifted',
          actor_id: actor.name,
          actor_type: 'admin',
          resource_type: 'legal_hold',
          resource_id: hold.id,
          details: { hold_id: hold.id, subject_tag: holdView(hold).subject_tag },
        },
        [this.store.del(this.store.holds, hold.id)],
      );
      this.holds.delete(id);
      return { hold: holdView(hold), log };
    });
  }

  /**
   * GDPR Article 17 erasure of `subject`: in the token's tenant, or `tenantId`, or (a global
   * admin naming none) every tenant holding data of the subject. Per tenant, in one batch with
   * a subject_erased log record: deletes the subject's key, bodies and index rows, and marks
   * its records erased; in records that only name the subject (a user actor on another user's
   * record), the key's deletion erases their fields and the rest of the record stays. Then
   * compacts the store so the deleted bytes leave the data directory. Archived bodies need no
   * rewrite: they were sealed under the destroyed key.
   * A hold on the subject, on their tenant, on the subject of a record naming them, or on a
   * person named in one of their records refuses the erasure, as does (with
   * erasure_during_retention "refuse") any of those records' retention.
   * @throws LEGAL_HOLD (naming the hold; nothing is erased), NOT_FOUND (no data of the subject).
   */
  async erase(
    subject: string,
    tenantId: string | undefined,
    actor: Actor,
  ): Promise<{
    tenants: {
      tenant_id: string;
      subject_tag: string;
      records_erased: number;
      records_named: number;
      log: SubmittedRecord;
    }[];
    scrub: { files: number; sampled: number; found: number; skipped: boolean };
  }> {
    if (subject.length === 0 || subject.length > 256)
      throw new AuditlogError('BAD_REQUEST', 'subject: 1 to 256 characters');
    const scope = this.scopeTenant(tenantId, actor);
    const tag = this.tagOf(subject);
    const tagHex = hex(tag);
    const st = this.store;
    return this.gate.exclusive(async () => {
      const tenants = scope !== undefined ? [scope] : await this.tenantsOf(tag);
      interface Rows {
        keyRow: boolean;
        /** Records of which the subject is the data subject, with their meta. */
        records: { id: string; row: Uint8Array; meta: RecordMeta | undefined }[];
        /** Records that name the subject besides their own subject. */
        named: { id: string; row: Uint8Array; meta: RecordMeta | undefined }[];
      }
      const rowsOf = async (table: typeof st.subjects, prefix: Uint8Array) => {
        const out: Rows['records'] = [];
        for await (const k of table.keys({ gte: prefix, lt: prefixEnd(prefix) })) {
          const row = k as Uint8Array;
          const id = new TextDecoder().decode(row.subarray(prefix.length));
          out.push({ id, row, meta: await st.getMeta(id) });
        }
        return out;
      };
      const rows = new Map<string, Rows>();
      for (const tenant of tenants) {
        const prefix = subjectPrefix(tag, tenant);
        const records = await rowsOf(st.subjects, prefix);
        const named = await rowsOf(st.named, prefix);
        const keyRow = (await st.get(st.keys, prefix)) !== undefined;
        if (keyRow || records.length > 0 || named.length > 0) rows.set(tenant, { keyRow, records, named });
      }
      if (rows.size === 0) throw new AuditlogError('NOT_FOUND', 'no data of this subject');
      for (const [tenant, r] of rows) {
        // The subject, the persons their records name, and the subjects of records naming them.
        const tags = new Set([tagHex]);
        for (const x of r.records) if (x.meta?.named_tag !== undefined) tags.add(x.meta.named_tag);
        for (const x of r.named) if (x.meta?.tag != null) tags.add(x.meta.tag);
        const held = this.blockingHolds(tenant, [...tags]);
        if (held.length > 0) {
          throw new AuditlogError(
            'LEGAL_HOLD',
            `legal hold ${held[0]!.id} forbids erasing this subject's data`,
          );
        }
      }
      if (this.retention.erasureDuringRetention === 'refuse') {
        let until = 0;
        for (const r of rows.values()) {
          for (const x of [...r.records, ...r.named]) until = Math.max(until, x.meta?.retain_until_ms ?? 0);
        }
        if (until > this.now()) {
          throw new AuditlogError(
            'RETENTION',
            `records of this subject must be kept until ${new Date(until).toISOString()} (erasure_during_retention: refuse)`,
          );
        }
      }
      // Flush first, so the values being deleted sit in table files at a deeper level than the
      // deletions will; the second compaction below then merges them away (spec/records.md).
      await st.compact();
      // Samples of the bytes about to be deleted (ciphertext past version and nonce), to check
      // afterwards that they left the files: the wrapped keys and up to 15 bodies.
      const needles: Uint8Array[] = [];
      for (const [tenant, r] of rows) {
        const wrapped = await st.get(st.keys, subjectPrefix(tag, tenant));
        if (wrapped !== undefined) needles.push(wrapped.subarray(13, 45));
        for (const { id } of r.records) {
          if (needles.length >= 16) break;
          const body = await st.get(st.bodies, id);
          if (body !== undefined && body.length >= 45) needles.push(body.subarray(13, 45));
        }
      }
      const out: {
        tenant_id: string;
        subject_tag: string;
        records_erased: number;
        records_named: number;
        log: SubmittedRecord;
      }[] = [];
      for (const [tenant, r] of rows) {
        const ops: SideOp[] = [st.compactionDue(), st.del(st.keys, subjectPrefix(tag, tenant))];
        const erasedAt = this.now();
        for (const { id, row, meta } of r.records) {
          ops.push(st.del(st.subjects, row), st.del(st.bodies, id));
          if (meta === undefined) continue;
          const { named_tag, ...rest } = meta;
          // The body held the named person's fields too: the record no longer names them.
          if (named_tag !== undefined) {
            ops.push(
              st.del(
                st.named,
                concatBytes(subjectPrefix(Buffer.from(named_tag, 'hex'), tenant), enc.encode(id)),
              ),
            );
          }
          ops.push(
            st.put(st.meta, id, json({ ...rest, tag: null, state: 'erased', erased_at_ms: erasedAt })),
          );
        }
        for (const { id, row, meta } of r.named) {
          ops.push(st.del(st.named, row));
          if (meta?.named_tag === tagHex) {
            const { named_tag: _, ...rest } = meta;
            ops.push(st.put(st.meta, id, json(rest)));
          }
        }
        const publicTag = this.publicTagOf(subject, tenant);
        const log = await this.appendSystem(
          {
            tenant_id: tenant,
            action: 'subject_erased',
            actor_id: actor.name,
            actor_type: 'admin',
            resource_type: 'data_subject',
            resource_id: publicTag,
            details: {
              subject_tag: publicTag,
              records_erased: r.records.length,
              // At most ERASURE_LISTED_IDS ids in all (~39 KB), so the leaf stays under its limit.
              record_ids: r.records.slice(0, ERASURE_LISTED_IDS).map((x) => x.id),
              records_named: r.named.length,
              named_record_ids: r.named
                .slice(0, Math.max(0, ERASURE_LISTED_IDS - r.records.length))
                .map((x) => x.id),
            },
          },
          ops,
        );
        this.keys.forget(tag, tenant);
        out.push({
          tenant_id: tenant,
          subject_tag: publicTag,
          records_erased: r.records.length,
          records_named: r.named.length,
          log,
        });
      }
      await st.compactTwice();
      // Check the promise from outside LevelDB: the sampled bytes are in no file of the database.
      // An open snapshot elsewhere (a read or a retention scan iterating meanwhile) can keep old
      // values alive for a while: retry a few times.
      const dbDir = path.join(this.dataDir, DB_DIR);
      let check = findInFiles(dbDir, needles);
      for (let i = 0; i < 3 && check.foundIn.length > 0; i++) {
        await new Promise((r) => setTimeout(r, 100 * (i + 1)));
        await st.compactTwice();
        check = findInFiles(dbDir, needles);
      }
      if (check.foundIn.length === 0) await st.compactionDone();
      else {
        // The note committed with the deletions stays: the next start-up and the next retention
        // run compact again. The answer says so too (scrub.found > 0).
        process.stderr.write(
          `auditlog: erasure: sampled values still in ${check.foundIn.length} file(s) of the database ` +
            'after compacting; the compaction is due again at start-up and in the next retention run\n',
        );
      }
      const scrub = {
        files: check.files,
        sampled: check.needles,
        found: check.foundIn.length,
        skipped: check.skipped,
      };
      return { tenants: out, scrub };
    });
  }

  /** The tenants in which `tag` has a key or records. */
  private async tenantsOf(tag: Uint8Array): Promise<string[]> {
    const found = new Set<string>();
    for (const table of [this.store.keys, this.store.subjects, this.store.named]) {
      for await (const k of table.keys({ gte: tag, lt: prefixEnd(tag) })) {
        const key = k as Uint8Array;
        const len = key[tag.length]!;
        found.add(new TextDecoder().decode(key.subarray(tag.length + 1, tag.length + 1 + len)));
      }
    }
    return [...found];
  }

  /** The tenant an admin operation applies to: the token's, or the one asked by a global token. */
  private scopeTenant(asked: string | undefined, actor: Actor): string | undefined {
    if (actor.tenant !== undefined) {
      if (asked !== undefined && asked !== actor.tenant) {
        throw new AuditlogError('FORBIDDEN', `tenant_id: this token may only act on tenant ${actor.tenant}`);
      }
      return actor.tenant;
    }
    return asked;
  }

  /**
   * Stops taking records, waits for those in flight, and records the reindex point; the log is
   * closed by its owner. When every record appended since the layer opened (or last reindexed)
   * has had its index row written, the point moves to the tree size without reading the log;
   * otherwise (a failed append or row write) the entries since the last point are scanned,
   * which costs ~25 µs per entry.
   */
  async close(): Promise<void> {
    this.closing = true;
    while (this.inFlight > 0) {
      await new Promise<void>((r) => {
        this.onIdle = r;
      });
    }
    this.onIdle = undefined;
    await this.settle();
    if (this.rowsInDoubt) await this.reindex();
    else await this.store.write([this.store.put(this.store.state, 'reindexed', u64(this.log.latest().size))]);
    await this.sealer.close();
  }

  /** Resolves once the index rows noted so far are written (or failed, for reindex to redo). */
  async settle(): Promise<void> {
    while (this.indexFlush !== null) await this.indexFlush;
  }

  /** The committed archive bundles. */
  async archives(): Promise<ArchiveEntry[]> {
    const out: ArchiveEntry[] = [];
    for await (const [, v] of this.store.archives.iterator()) out.push(fromJson<ArchiveEntry>(v));
    return out;
  }
}

/** The leaf, if these bytes are a record leaf; null for any other entry. */
export function tryParseLeaf(entry: Uint8Array): RecordLeaf | null {
  // Cheap pre-check: every v1 leaf is canonical JSON, so it starts with `{"` and names the schema.
  if (entry[0] !== 0x7b || entry[1] !== 0x22) return null;
  try {
    return parseLeaf(entry);
  } catch {
    return null;
  }
}

function concatBytes(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}
