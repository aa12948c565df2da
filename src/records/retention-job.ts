import fs from 'node:fs';
import path from 'node:path';
import type { AuditlogError } from '../errors.js';
import { hashLeaf } from '../merkle/rfc6962.js';
import { parseVerifierKey } from '../note/keys.js';
import { receiptToJSON } from '../sequencer/receipt.js';
import { fsyncDir } from '../storage/durable-file.js';
import type { SideOp } from '../storage/store.js';
import {
  ARCHIVE_FORMAT,
  type ArchiveBundle,
  type ArchivedRecord,
  archiveName,
  bundleOfCreationReceipt,
  creationReceiptName,
  isArchiveFileName,
  verifyArchive,
  writeArchiveFile,
} from './archive.js';
import { claimArchiveDir } from './archive-dir.js';
import { newRecordId } from './leaf.js';
import { RECORD_SUBJECT_PREFIX } from './schema.js';
import type { RecordService, SubmittedRecord } from './service.js';
import { type ArchiveEntry, b64, concat, json, type RecordMeta, subjectPrefix, u64 } from './store.js';

/** What one retention run did. */
export interface RetentionReport {
  now: string;
  /** Bundles written and committed (their records' bodies left the hot store). */
  archived: { name: string; tenant_id: string; first_index: number; last_index: number; count: number }[];
  /** Bundles deleted at the end of their retention (each deletion logged). */
  deleted: { name: string; tenant_id: string; count: number }[];
  /** Bundles past their retention that a legal hold keeps. */
  held: { name: string; tenant_id: string; holds: string[] }[];
  /** Leftovers of an interrupted run that were cleaned up (uncommitted files, unfinished deletions). */
  recovered: string[];
  /**
   * Bundles that failed their read-back verification and were not committed (their records stay
   * in the hot store, and the next run tries again); the run goes on with the other bundles and
   * tenants, and still deletes what is due.
   */
  failed: { tenant_id: string; first_index: number; last_index: number; reason: string }[];
}

export interface RetentionOptions {
  /** The time the run acts at, in milliseconds (`--now` for tests and dry runs). */
  nowMs: number;
  /** Most records per bundle (default 1000). */
  maxPerBundle?: number;
  /**
   * Most bytes of base64 entries and bodies per bundle (default MAX_BUNDLE_BYTES); a bundle
   * always takes at least one record.
   */
  maxBundleBytes?: number;
  /** Most records archived in one run (default 100000); the next run continues. */
  maxRecordsPerRun?: number;
  /**
   * Fault injection for tests: called at the points where a crash matters (after a bundle is
   * durable and verified but not committed; after it is committed but before its creation
   * receipt is written; after a deletion is logged but before the file is removed). A child
   * process kills itself there to crash (test/records/crash-child.ts); throwing in the first
   * two fails that bundle as any failure does, throwing in the third ends the run.
   */
  faults?: {
    /** Called as a bundle of `tenant` is about to be built; throwing there fails that bundle. */
    beforeBundle?: (tenant: string) => void;
    afterArchiveWritten?: (name: string) => void;
    afterArchiveCommitted?: (name: string) => void;
    afterDeletionLogged?: (name: string) => void;
  };
}

const enc = new TextEncoder();
const dec = new TextDecoder();

/**
 * Default byte budget of one bundle's base64 entries and bodies (64 MiB). A record's body is
 * bounded only by the request size, so a count alone would let a few large records make a
 * bundle too big to build as one string (V8's limit is ~512 MiB) or to read back.
 */
export const MAX_BUNDLE_BYTES = 64 * 1024 * 1024;

/**
 * One retention run (spec/retention.md, "The retention job"):
 *  1. recover: finish logged deletions, remove bundle files that were never committed;
 *  2. archive: records past their hot period, per tenant and in index order, go into bundles;
 *     each bundle is written durably, read back and verified, and only then committed, in one
 *     batch with an archive_created log record, which drops the bodies from the hot store;
 *  3. delete: bundles past the end of their retention, unless a legal hold covers their tenant
 *     or one of their subjects, are deleted: first an archive_deleted log record (which marks
 *     the bundle `deleting`), then the file, then its registry row.
 * A crash at any point loses nothing: before a commit the hot store still holds every body;
 * after it the bundle is durable and verified.
 */
export function runRetention(svc: RecordService, opts: RetentionOptions): Promise<RetentionReport> {
  // One run at a time per service (the schedule and POST /v1/retention/run may meet): a second
  // run's recovery must not take the first run's not-yet-committed bundle for a leftover.
  const previous = runs.get(svc) ?? Promise.resolve();
  const run = previous.catch(() => {}).then(() => runOnce(svc, opts));
  runs.set(svc, run);
  return run;
}

const runs = new WeakMap<RecordService, Promise<unknown>>();

async function runOnce(svc: RecordService, opts: RetentionOptions): Promise<RetentionReport> {
  const report: RetentionReport = {
    now: new Date(opts.nowMs).toISOString(),
    archived: [],
    deleted: [],
    held: [],
    recovered: [],
    failed: [],
  };
  await svc.reindex();
  await recover(svc, report);
  try {
    await archiveDue(svc, opts, report);
  } finally {
    // Whatever archiving met, what is due for deletion is deleted: one tenant's records must
    // not keep every tenant's archives past their retention.
    await deleteExpired(svc, opts, report);
  }
  // Dropped bodies and rows leave the files of the data directory now, not at some later compaction.
  if (report.archived.length + report.deleted.length > 0)
    await svc.gate.exclusive(() => svc.store.compactPending(true));
  return report;
}

async function recover(svc: RecordService, report: RetentionReport): Promise<void> {
  const dir = svc.retention.archiveDir;
  const rows = await svc.archives();
  // Before anything in the directory is removed as uncommitted: it must be this log's.
  claimArchiveDir(dir, svc.log.vkey, new Set(rows.map((a) => a.name)));
  const registered = new Set<string>();
  for (const a of rows) {
    if (a.state === 'deleting') {
      await removeBundle(a.dir, a.name);
      await svc.store.write([svc.store.del(svc.store.archives, a.name)]);
      report.recovered.push(`finished deleting ${a.name}`);
      continue;
    }
    registered.add(a.name);
    // A crash between the commit and the creation receipt's write, or a receipt removed since.
    if (a.created_record_id === undefined || fs.existsSync(path.join(a.dir, creationReceiptName(a.name))))
      continue;
    const receipt = await rebuildCreationReceipt(svc, a.created_record_id);
    if (receipt === undefined) continue;
    writeCreationReceipt(a.dir, a.name, receipt);
    report.recovered.push(`wrote the missing creation receipt of ${a.name}`);
  }
  for (const name of fs.readdirSync(dir)) {
    const owner = bundleOfCreationReceipt(name);
    if (
      owner !== undefined
        ? !registered.has(owner) || name.startsWith('.')
        : isArchiveFileName(name) && !registered.has(name)
    ) {
      // Never committed: the hot store still holds every body it copied. (A creation receipt's
      // temporary file is left by a crash in its write; the receipt is rebuilt above or next run.)
      fs.rmSync(path.join(dir, name), { force: true });
      report.recovered.push(`removed uncommitted ${name}`);
    }
  }
  fsyncDir(dir);
}

/**
 * The creation receipt of a committed bundle, rebuilt from the log: its archive_created record
 * `recordId` with an inclusion proof against the latest checkpoint. Undefined when the record's
 * index is not known (it then has no receipt until a reindex finds it).
 */
async function rebuildCreationReceipt(
  svc: RecordService,
  recordId: string,
): Promise<SubmittedRecord | undefined> {
  const index = await svc.indexOf(recordId);
  if (index === undefined) return undefined;
  const latest = svc.log.latest();
  const [entry] = await svc.log.entries(index, index + 1n);
  const proof = await svc.log.inclusionProof(index, latest.size);
  const receipt = receiptToJSON({
    origin: svc.log.origin,
    index,
    tree_size: latest.size,
    leaf_hash: hashLeaf(entry!),
    inclusion_proof: proof,
    checkpoint: latest.note,
  });
  return { record_id: recordId, entry: b64(entry!), ...receipt };
}

/** Writes bundle `name`'s creation receipt beside it, durably (0600, as the bundle). */
function writeCreationReceipt(dir: string, name: string, receipt: SubmittedRecord): void {
  writeArchiveFile(dir, creationReceiptName(name), enc.encode(`${JSON.stringify(receipt)}\n`));
}

async function archiveDue(
  svc: RecordService,
  opts: RetentionOptions,
  report: RetentionReport,
): Promise<void> {
  const st = svc.store;
  const max = opts.maxPerBundle ?? 1000;
  const due = new Map<string, { index: bigint; recordId: string; hotKey: Uint8Array }[]>();
  // Bounded per run (memory); the next run continues where this one stopped.
  for await (const k of st.hot.keys({ lt: u64(opts.nowMs + 1), limit: opts.maxRecordsPerRun ?? 100_000 })) {
    const key = k as Uint8Array;
    const recordId = dec.decode(key.subarray(8));
    const meta = await st.getMeta(recordId);
    const index = await svc.indexOf(recordId);
    if (meta === undefined || index === undefined) continue;
    const list = due.get(meta.tenant) ?? [];
    list.push({ index, recordId, hotKey: key });
    due.set(meta.tenant, list);
  }
  // Flush first, so the bodies about to be dropped sit deeper than their deletions (see erasure).
  if (due.size > 0) await svc.gate.exclusive(() => svc.store.compact());
  for (const [tenant, list] of [...due].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    list.sort((a, b) => (a.index < b.index ? -1 : a.index > b.index ? 1 : 0));
    for (let i = 0; i < list.length; ) {
      const chunk = list.slice(i, i + max);
      const done = await svc.gate
        .exclusive(() => archiveChunk(svc, tenant, chunk, opts))
        .catch((err: unknown) => {
          // An unexpected failure fails this bundle only (its records stay hot, and the next run
          // tries again); a closed log fails the run.
          if ((err as AuditlogError).code === 'CLOSED') throw err;
          return {
            tenant_id: tenant,
            first_index: Number(chunk[0]!.index),
            last_index: Number(chunk.at(-1)!.index),
            taken: chunk.length,
            reason: `${(err as AuditlogError).code ?? (err as Error).name}: ${(err as Error).message}`,
          };
        });
      i += done.taken;
      const { taken: _, ...entry } = done;
      if ('reason' in entry) {
        report.failed.push(entry);
        process.stderr.write(
          `auditlog: retention: bundle of ${tenant} at ${entry.first_index}..${entry.last_index} not archived: ${entry.reason}\n`,
        );
      } else report.archived.push(entry);
    }
  }
}

/**
 * Archives the longest prefix of `candidates` (at least one record) that fits in the byte
 * budget as one bundle; `taken` says how many it took, whether it was archived or failed.
 */
async function archiveChunk(
  svc: RecordService,
  tenant: string,
  candidates: { index: bigint; recordId: string; hotKey: Uint8Array }[],
  opts: RetentionOptions,
): Promise<(RetentionReport['archived'][number] | RetentionReport['failed'][number]) & { taken: number }> {
  opts.faults?.beforeBundle?.(tenant);
  const st = svc.store;
  const latest = svc.log.latest();
  const budget = opts.maxBundleBytes ?? MAX_BUNDLE_BYTES;
  const records: ArchivedRecord[] = [];
  const metas: RecordMeta[] = [];
  const tags = new Set<string>();
  const chunk: typeof candidates = [];
  let bytes = 0;
  let retainUntil = 0;
  for (const r of candidates) {
    const meta = (await st.getMeta(r.recordId))!;
    const [entry] = await svc.log.entries(r.index, r.index + 1n);
    const body = meta.has_body && meta.state === 'hot' ? await st.get(st.bodies, r.recordId) : undefined;
    const size = Math.ceil(((entry!.length + (body?.length ?? 0)) * 4) / 3);
    if (chunk.length > 0 && bytes + size > budget) break;
    bytes += size;
    chunk.push(r);
    const proof = await svc.log.inclusionProof(r.index, latest.size);
    records.push({
      index: Number(r.index),
      entry: b64(entry!),
      inclusion_proof: proof.map(b64),
      body_state: body !== undefined ? 'present' : meta.has_body ? 'erased' : 'none',
      body: body !== undefined ? b64(body) : null,
      retain_until: new Date(meta.retain_until_ms).toISOString(),
    });
    metas.push(meta);
    if (meta.tag !== null) tags.add(meta.tag);
    // A hold on a person the record names keeps the archive too (spec/records.md, "Named persons").
    if (meta.named_tag !== undefined) tags.add(meta.named_tag);
    retainUntil = Math.max(retainUntil, meta.retain_until_ms);
  }
  const first = chunk[0]!.index;
  const last = chunk[chunk.length - 1]!.index;
  const name = archiveName(tenant, first, last);
  const bundle: ArchiveBundle = {
    format: ARCHIVE_FORMAT,
    origin: svc.log.origin,
    tenant_id: tenant,
    created_at: new Date(opts.nowMs).toISOString(),
    first_index: Number(first),
    last_index: Number(last),
    count: records.length,
    retain_until: new Date(retainUntil).toISOString(),
    checkpoint: latest.note,
    records,
  };
  const dir = svc.retention.archiveDir;
  const sha256 = writeArchiveFile(dir, name, enc.encode(JSON.stringify(bundle)));
  // Read back what the disk holds and verify it before anything leaves the hot store.
  const verdict = verifyArchive(
    new Uint8Array(fs.readFileSync(path.join(dir, name))),
    parseVerifierKey(svc.log.vkey),
  );
  if (!verdict.ok) {
    // Nothing of it is committed; the records stay hot. One bad bundle must not stop the run:
    // other tenants' archives would then never be deleted at the end of their retention.
    await removeFile(dir, name);
    return {
      tenant_id: tenant,
      first_index: Number(first),
      last_index: Number(last),
      reason: `archive ${name} failed verification at ${verdict.index}: ${verdict.reason}`,
      taken: chunk.length,
    };
  }
  opts.faults?.afterArchiveWritten?.(name);

  // Chosen now so that the registry row can name it (a lost creation receipt is rebuilt from it).
  const createdId = newRecordId();
  const entry: ArchiveEntry = {
    name,
    dir,
    tenant,
    first_index: Number(first),
    last_index: Number(last),
    count: records.length,
    sha256,
    retain_until_ms: retainUntil,
    record_ids: chunk.map((r) => r.recordId),
    subject_tags: [...tags],
    state: 'active',
    created_record_id: createdId,
  };
  const ops: SideOp[] = [st.compactionDue(), st.put(st.archives, name, json(entry))];
  chunk.forEach((r, i) => {
    ops.push(st.del(st.hot, r.hotKey), st.del(st.bodies, r.recordId));
    const m = metas[i]!;
    ops.push(
      st.put(
        st.meta,
        r.recordId,
        json({ ...m, state: m.state === 'erased' ? 'erased' : 'archived', archive: name }),
      ),
    );
  });
  const created = await svc.appendSystem(
    {
      tenant_id: tenant,
      action: 'archive_created',
      actor_id: 'retention',
      resource_type: 'archive',
      resource_id: name,
      details: {
        archive: name,
        sha256,
        first_index: Number(first),
        last_index: Number(last),
        count: records.length,
      },
    },
    ops,
    createdId,
  );
  opts.faults?.afterArchiveCommitted?.(name);
  try {
    writeCreationReceipt(dir, name, created);
  } catch (err) {
    // The bundle is committed; its receipt is rebuilt from the log by the next run's recovery.
    process.stderr.write(
      `auditlog: retention: creation receipt of ${name} not written (the next run writes it): ${(err as Error).message}\n`,
    );
  }
  return {
    name,
    tenant_id: tenant,
    first_index: Number(first),
    last_index: Number(last),
    count: records.length,
    taken: chunk.length,
  };
}

async function deleteExpired(
  svc: RecordService,
  opts: RetentionOptions,
  report: RetentionReport,
): Promise<void> {
  const st = svc.store;
  const nowMs = opts.nowMs;
  for (const a of await svc.archives()) {
    if (a.state !== 'active' || a.retain_until_ms > nowMs) continue;
    const deleted = await svc.gate.exclusive(async () => {
      // Checked under the gate: placeHold is exclusive too, so no hold can land in between.
      const holds = svc.blockingHolds(a.tenant, a.subject_tags);
      if (holds.length > 0) {
        report.held.push({ name: a.name, tenant_id: a.tenant, holds: holds.map((h) => h.id) });
        return false;
      }
      // The metadata rows dropped here leave the files at the compaction noted as due with them.
      const ops: SideOp[] = [
        st.compactionDue(),
        st.put(st.archives, a.name, json({ ...a, state: 'deleting' })),
      ];
      /** Keys of records that were their own subject (`record:<id>`): no other record uses them. */
      const ownKeys: Uint8Array[] = [];
      for (const id of a.record_ids) {
        const m = await st.getMeta(id);
        if (m?.tag != null) {
          const tag = Buffer.from(m.tag, 'hex');
          ops.push(st.del(st.subjects, concat(subjectPrefix(tag, a.tenant), enc.encode(id))));
          if (m.tag === Buffer.from(svc.tagOf(`${RECORD_SUBJECT_PREFIX}${id}`)).toString('hex')) {
            ops.push(st.del(st.keys, subjectPrefix(tag, a.tenant)));
            ownKeys.push(tag);
          }
        }
        if (m?.named_tag !== undefined) {
          const named = Buffer.from(m.named_tag, 'hex');
          ops.push(st.del(st.named, concat(subjectPrefix(named, a.tenant), enc.encode(id))));
        }
        ops.push(st.del(st.meta, id));
      }
      await svc.appendSystem(
        {
          tenant_id: a.tenant,
          action: 'archive_deleted',
          actor_id: 'retention',
          resource_type: 'archive',
          resource_id: a.name,
          details: {
            archive: a.name,
            sha256: a.sha256,
            first_index: a.first_index,
            last_index: a.last_index,
            count: a.count,
            retain_until: new Date(a.retain_until_ms).toISOString(),
          },
        },
        ops,
      );
      for (const tag of ownKeys) svc.keys.forget(tag, a.tenant);
      opts.faults?.afterDeletionLogged?.(a.name);
      await removeBundle(a.dir, a.name);
      await st.write([st.del(st.archives, a.name)]);
      return true;
    });
    if (deleted) report.deleted.push({ name: a.name, tenant_id: a.tenant, count: a.count });
  }
}

async function removeFile(dir: string, name: string): Promise<void> {
  fs.rmSync(path.join(dir, name), { force: true });
  if (fs.existsSync(dir)) fsyncDir(dir);
}

/** Removes bundle `name` and its creation receipt; the receipt first, so none outlives its bundle. */
async function removeBundle(dir: string, name: string): Promise<void> {
  fs.rmSync(path.join(dir, creationReceiptName(name)), { force: true });
  await removeFile(dir, name);
}

/** The longest delay a Node timer keeps (2^31 - 1 ms). */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * Runs the retention job inside `serve` every `intervalMinutes` (default: the configuration's
 * `interval_minutes`; 0 disables it), one run at a time. Failures are written to stderr (names
 * and counts only, never record contents) and retried at the next tick. Returns a stop function
 * that waits for a run in progress.
 */
export function startRetentionSchedule(
  svc: RecordService,
  opts: { intervalMinutes?: number; log?: (line: string) => void } = {},
): { stop(): Promise<void> } {
  const minutes = opts.intervalMinutes ?? svc.retention.intervalMinutes;
  const log = opts.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  let running: Promise<void> = Promise.resolve();
  let busy = false;
  const tick = () => {
    if (busy) return;
    busy = true;
    running = runRetention(svc, { nowMs: svc.now() })
      .then((r) => {
        if (r.archived.length + r.deleted.length + r.held.length + r.recovered.length > 0) {
          log(
            `auditlog: retention: archived ${r.archived.length} bundle(s), deleted ${r.deleted.length}, held ${r.held.length}`,
          );
        }
      })
      .catch((err: unknown) =>
        log(`auditlog: retention run failed: ${(err as AuditlogError).code ?? 'ERROR'}`),
      )
      .finally(() => {
        busy = false;
      });
  };
  // Node's timers hold at most 2^31 - 1 ms (24.8 days) and run a longer delay after 1 ms; an
  // interval up to the configuration's year is waited out in steps no longer than that.
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  const wait = (ms: number) => {
    if (stopped) return;
    const step = Math.min(ms, MAX_TIMER_MS);
    timer = setTimeout(() => {
      if (ms > step) return wait(ms - step);
      tick();
      wait(minutes * 60_000);
    }, step);
    timer.unref();
  };
  if (minutes > 0) wait(minutes * 60_000);
  return {
    async stop() {
      stopped = true;
      if (timer !== undefined) clearTimeout(timer);
      await running;
    },
  };
}
