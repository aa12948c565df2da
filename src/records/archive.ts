import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Receipt } from '../client/receipt.js';
import { verifyReceipt } from '../client/verify.js';
import { AuditlogError } from '../errors.js';
import { hashLeaf } from '../merkle/rfc6962.js';
import { verifyInclusion } from '../merkle/verify.js';
import { openCheckpoint } from '../note/checkpoint.js';
import { decodeBase64 } from '../note/encoding.js';
import type { VerifierKey } from '../note/keys.js';
import { ensurePrivateDir } from '../storage/data-dir.js';
import { fsyncDir } from '../storage/durable-file.js';
import { parseLeaf, recordIdIn } from './leaf.js';
import { isCalendarDateTime } from './schema.js';

/**
 * Archive bundles (spec/retention.md, "Archive bundles"): one self-contained JSON file per
 * tenant and index range, holding the entries, their encrypted bodies, an inclusion proof of
 * each entry, and the signed checkpoint the proofs lead to. Verifiable offline with nothing but
 * the log's verifier key; bodies stay sealed under their subjects' keys, so erasing a subject
 * (destroying its key) erases its archived bodies too, without rewriting any archive.
 */

export const ARCHIVE_FORMAT = 'auditlog.archive/v1';

export interface ArchivedRecord {
  index: number;
  /** base64 of the leaf bytes. */
  entry: string;
  /** base64 hashes, RFC 6962 inclusion proof of `index` in the checkpoint's tree. */
  inclusion_proof: string[];
  /** present: `body` is the sealed body; erased: destroyed before archiving; none: no personal fields. */
  body_state: 'present' | 'erased' | 'none';
  /** base64 of the encrypted body blob when `body_state` is present, else null. */
  body: string | null;
  /** When this record's retention ends (RFC 3339). */
  retain_until: string;
}

export interface ArchiveBundle {
  format: typeof ARCHIVE_FORMAT;
  origin: string;
  tenant_id: string;
  created_at: string;
  first_index: number;
  last_index: number;
  count: number;
  /** The latest retain_until of its records: the bundle may be deleted after it. */
  retain_until: string;
  /** The signed checkpoint note every inclusion proof leads to. */
  checkpoint: string;
  records: ArchivedRecord[];
}

/**
 * The outcome of {@link verifyArchive}: ok (with the index of the bundle's `archive_created`
 * record when its creation receipt was checked), or the first failure with its index (null: the
 * bundle as a whole, or its creation receipt).
 */
export type ArchiveVerdict =
  | { ok: true; count: number; treeSize: bigint; createdAt?: bigint }
  | { ok: false; index: number | null; reason: string };

const TOP_KEYS = [
  'format',
  'origin',
  'tenant_id',
  'created_at',
  'first_index',
  'last_index',
  'count',
  'retain_until',
  'checkpoint',
  'records',
];
const RECORD_KEYS = ['index', 'entry', 'inclusion_proof', 'body_state', 'body', 'retain_until'];

/** Milliseconds of an RFC 3339 date-time (calendar-checked), NaN for anything else. */
function parseDateTime(t: unknown): number {
  return typeof t === 'string' && isCalendarDateTime(t) ? Date.parse(t) : Number.NaN;
}

/** The file name of a bundle: `arc-<tenant>-<first>-<last>.json`, indexes zero-padded to 16 digits. */
export function archiveName(tenant: string, first: bigint, last: bigint): string {
  return `arc-${tenant}-${first.toString().padStart(16, '0')}-${last.toString().padStart(16, '0')}.json`;
}

/** True for names {@link archiveName} makes (and their temporary files). */
export function isArchiveFileName(name: string): boolean {
  return /^\.?arc-.+-\d{16}-\d{16}\.json(\.tmp)?$/.test(name);
}

/**
 * The name of a bundle's creation receipt, the file beside it: `arc-….created.json` for
 * `arc-….json` (spec/retention.md, "Creation receipts"). Requires an {@link archiveName} name.
 */
export function creationReceiptName(bundleName: string): string {
  return bundleName.replace(/\.json$/, '.created.json');
}

/**
 * The bundle a creation receipt file (or its temporary file) belongs to, or undefined for any
 * other name.
 */
export function bundleOfCreationReceipt(name: string): string | undefined {
  const m = /^\.?(arc-.+-\d{16}-\d{16})\.created\.json(\.tmp)?$/.exec(name);
  return m ? `${m[1]}.json` : undefined;
}

/**
 * The archive directory's owner mark (archive-dir.ts): it holds the owning log's verifier key
 * and a newline.
 */
export const ARCHIVE_OWNER_FILE = '.auditlog-archive-owner';

/**
 * True for the names auditlog writes in an archive directory: bundles, receipts, their
 * temporary files, the owner mark.
 */
function isArchiveDirName(name: string): boolean {
  return (
    name === ARCHIVE_OWNER_FILE || isArchiveFileName(name) || bundleOfCreationReceipt(name) !== undefined
  );
}

/**
 * Makes sure `dir` is fit to hold archive bundles (spec/retention.md, "The archive directory"):
 * creates it 0700 when missing; refuses a symlink, a directory of another user, and one that
 * group or others can write (what they could have planted there is not auditlog's); then
 * applies the data directory's rule (ensurePrivateDir): one that group or others can only read
 * or enter is changed to 0700 if it holds nothing but archive files and the owner mark, else
 * refused. Nothing in the directory is touched before it passes.
 * @throws AuditlogError FORBIDDEN when the directory is refused.
 */
export function ensurePrivateArchiveDir(dir: string): void {
  // lstat, not existsSync: a dangling symlink exists too (and is refused below).
  const st = fs.lstatSync(dir, { throwIfNoEntry: false }) ?? makeDir(dir);
  const refuse = (why: string) => {
    throw new AuditlogError(
      'FORBIDDEN',
      `archive directory ${dir} ${why}; retention.archive_dir must name a directory of this user that only it can enter`,
    );
  };
  if (st.isSymbolicLink()) refuse('is a symbolic link (give the path it leads to)');
  if (!st.isDirectory()) refuse('is not a directory');
  const uid = process.getuid?.();
  if (uid !== undefined && st.uid !== uid) refuse(`belongs to another user (uid ${st.uid})`);
  if ((st.mode & 0o022) !== 0)
    refuse(`can be written by others (mode ${(st.mode & 0o777).toString(8)}); chmod 700 it`);
  ensurePrivateDir(dir, fs.chmodSync, isArchiveDirName);
}

/** Creates `dir` (and its parents) 0700; returns its lstat. */
function makeDir(dir: string): fs.Stats {
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  return fs.lstatSync(dir);
}

/**
 * Writes `bytes` as `<dir>/<name>` durably: a temporary file, fsync, rename, fsync of the
 * directory, after checking the directory (ensurePrivateArchiveDir). The temporary file
 * `.<name>.tmp` is created exclusively and without following a symlink; one already there can
 * only be left by a crash (one retention job runs at a time), so it is removed first.
 * Returns the file's SHA-256 (hex).
 * @throws AuditlogError FORBIDDEN when the directory is refused (nothing is written).
 */
export function writeArchiveFile(dir: string, name: string, bytes: Uint8Array): string {
  ensurePrivateArchiveDir(dir);
  const tmp = path.join(dir, `.${name}.tmp`);
  fs.rmSync(tmp, { force: true });
  const { O_WRONLY, O_CREAT, O_EXCL, O_NOFOLLOW } = fs.constants;
  const fd = fs.openSync(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0o600);
  try {
    fs.writeSync(fd, bytes);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(tmp, path.join(dir, name));
  fsyncDir(dir);
  return createHash('sha256').update(bytes).digest('hex');
}

/**
 * Verifies a bundle offline: the checkpoint's signature by `logKey`, then for every record in
 * order its shape, that its entry is a record leaf of the bundle's tenant, its inclusion proof
 * against the checkpoint, and that its body hashes to the leaf's `body_sha256`. With `created`
 * (the bundle's creation receipt), also that the log holds an `archive_created` record for
 * exactly these bytes ({@link checkCreationReceipt}): what makes a copy with records left out
 * fail. Never throws for a bad bundle: the verdict names the first failing index and the reason.
 */
export function verifyArchive(
  bytes: Uint8Array,
  logKey: VerifierKey,
  opts: { created?: Receipt } = {},
): ArchiveVerdict {
  const fail = (index: number | null, reason: string): ArchiveVerdict => ({ ok: false, index, reason });
  let b: ArchiveBundle;
  try {
    b = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes)) as ArchiveBundle;
  } catch {
    return fail(null, 'not UTF-8 JSON');
  }
  if (typeof b !== 'object' || b === null || Array.isArray(b)) return fail(null, 'not a JSON object');
  const extra = Object.keys(b).find((k) => !TOP_KEYS.includes(k));
  if (extra !== undefined) return fail(null, `unknown field ${extra}`);
  const missing = TOP_KEYS.find((k) => !Object.hasOwn(b, k));
  if (missing !== undefined) return fail(null, `missing field ${missing}`);
  if (Number.isNaN(parseDateTime(b.created_at))) return fail(null, 'created_at: not a date-time');
  if (b.format !== ARCHIVE_FORMAT) return fail(null, `format is not ${ARCHIVE_FORMAT}`);
  if (typeof b.checkpoint !== 'string') return fail(null, 'checkpoint: not a string');
  let size: bigint;
  let root: Uint8Array;
  try {
    const { checkpoint } = openCheckpoint(b.checkpoint, logKey);
    size = checkpoint.size;
    root = checkpoint.root;
    if (checkpoint.origin !== b.origin) return fail(null, 'origin does not match the checkpoint');
  } catch (err) {
    return fail(null, `checkpoint: ${(err as AuditlogError).code ?? 'invalid'}: ${(err as Error).message}`);
  }
  if (!Array.isArray(b.records)) return fail(null, 'records: not an array');
  if (b.count !== b.records.length) return fail(null, `count ${b.count} but ${b.records.length} records`);
  if (b.records.length === 0) return fail(null, 'no records');
  if (b.records.some((r) => typeof r !== 'object' || r === null || Array.isArray(r)))
    return fail(null, 'records: not all objects');
  if (b.first_index !== b.records[0]!.index || b.last_index !== b.records[b.records.length - 1]!.index) {
    return fail(null, 'first_index/last_index do not match the records');
  }
  const bundleRetain = parseDateTime(b.retain_until);
  if (Number.isNaN(bundleRetain)) return fail(null, 'retain_until: not a date-time');
  let prev = -1;
  for (const r of b.records) {
    const at = typeof r?.index === 'number' ? r.index : null;
    if (typeof r !== 'object' || r === null) return fail(at, 'record: not an object');
    const bad = Object.keys(r).find((k) => !RECORD_KEYS.includes(k));
    if (bad !== undefined) return fail(at, `unknown field ${bad}`);
    const absent = RECORD_KEYS.find((k) => !Object.hasOwn(r, k));
    if (absent !== undefined) return fail(at, `missing field ${absent}`);
    if (!Number.isSafeInteger(r.index) || r.index <= prev) return fail(at, 'index: not increasing');
    prev = r.index;
    const index = BigInt(r.index);
    if (index >= size) return fail(r.index, `index beyond the checkpoint's tree size ${size}`);
    try {
      if (typeof r.entry !== 'string' || !Array.isArray(r.inclusion_proof))
        throw new Error('entry or proof missing');
      const entry = decodeBase64(r.entry);
      const proof = r.inclusion_proof.map((p) => decodeBase64(String(p)));
      try {
        verifyInclusion(index, size, hashLeaf(entry), proof, root);
      } catch (err) {
        return fail(r.index, `inclusion proof does not verify (${(err as AuditlogError).code})`);
      }
      const leaf = parseLeaf(entry);
      if (leaf.record.tenant_id !== b.tenant_id) return fail(r.index, 'record of another tenant');
      const retain = parseDateTime(r.retain_until);
      if (Number.isNaN(retain) || retain > bundleRetain)
        return fail(r.index, 'retain_until: after the bundle retain_until');
      if (r.body_state === 'present') {
        if (typeof r.body !== 'string') return fail(r.index, 'body: missing');
        const digest = createHash('sha256').update(decodeBase64(r.body)).digest('hex');
        if (digest !== leaf.body_sha256) return fail(r.index, "body does not match the leaf's body_sha256");
      } else if (r.body_state === 'erased' || r.body_state === 'none') {
        if (r.body !== null) return fail(r.index, `body: must be null when ${r.body_state}`);
        if (r.body_state === 'none' && leaf.body_sha256 !== undefined) return fail(r.index, 'body: missing');
        if (r.body_state === 'erased' && leaf.body_sha256 === undefined)
          return fail(r.index, 'body_state: erased, but the leaf has no body');
      } else {
        return fail(r.index, 'body_state: not present, erased or none');
      }
    } catch (err) {
      return fail(r.index, (err as Error).message);
    }
  }
  if (opts.created === undefined) return { ok: true, count: b.records.length, treeSize: size };
  const created = checkCreationReceipt(bytes, b, size, opts.created, logKey);
  if (typeof created === 'string') return fail(null, `creation receipt: ${created}`);
  return { ok: true, count: b.records.length, treeSize: size, createdAt: created };
}

/**
 * Checks a bundle's creation receipt (spec/retention.md, "Creation receipts"): a receipt, with
 * its entry, of the log's `archive_created` record for the bundle `b` (already verified, with
 * checkpoint size `treeSize`, from `bytes`). The receipt verifies offline against `logKey`; its
 * entry is a log-written `archive_created` record of the bundle's tenant naming the bundle,
 * with the SHA-256 of `bytes` and the bundle's count and index range; and it was appended after
 * the checkpoint the bundle's proofs lead to. Record leaves enter the log only through the
 * record layer, which refuses that action from anyone but the log (spec/records.md).
 * Returns the record's index, or why it fails.
 */
function checkCreationReceipt(
  bytes: Uint8Array,
  b: ArchiveBundle,
  treeSize: bigint,
  receipt: Receipt,
  logKey: VerifierKey,
): bigint | string {
  if (receipt.entry === undefined) return 'no entry: the archive_created leaf is needed';
  try {
    verifyReceipt(receipt, logKey);
  } catch (err) {
    return `${(err as AuditlogError).code ?? 'invalid'}: ${(err as Error).message}`;
  }
  if (receipt.origin !== b.origin) return `origin ${receipt.origin} is not the bundle's`;
  let rec: ReturnType<typeof parseLeaf>['record'];
  try {
    rec = parseLeaf(receipt.entry).record;
  } catch (err) {
    return `entry: ${(err as Error).message}`;
  }
  if (rec.action !== 'archive_created' || rec.actor_type !== 'system')
    return `entry: a ${rec.actor_type} ${rec.action} record, not the log's archive_created`;
  if (rec.tenant_id !== b.tenant_id) return 'entry: a record of another tenant';
  const name = archiveName(b.tenant_id, BigInt(b.first_index), BigInt(b.last_index));
  const d = (rec.details ?? {}) as Record<string, unknown>;
  if (rec.resource_type !== 'archive' || rec.resource_id !== name || d.archive !== name)
    return `entry: about ${String(d.archive)}, not ${name}`;
  const digest = createHash('sha256').update(bytes).digest('hex');
  if (d.sha256 !== digest)
    return `the bundle's SHA-256 ${digest} is not the ${String(d.sha256)} logged at its creation`;
  if (d.count !== b.count || d.first_index !== b.first_index || d.last_index !== b.last_index)
    return 'entry: count or index range differ from the bundle';
  if (receipt.index < treeSize)
    return `the archive_created record (index ${receipt.index}) precedes the bundle's checkpoint (size ${treeSize})`;
  return receipt.index;
}

/** Reads a committed bundle and returns the sealed body of `recordId`, if it holds one. */
export function readArchivedBody(dir: string, name: string, recordId: string): Uint8Array | undefined {
  const file = path.join(dir, name);
  if (!fs.existsSync(file)) return undefined;
  const b = JSON.parse(fs.readFileSync(file, 'utf8')) as ArchiveBundle;
  for (const r of b.records) {
    if (r.body === null) continue;
    // A byte search is enough: the caller opens the body against the leaf from the log, and
    // the body's additional data binds it to its record id.
    if (recordIdIn(decodeBase64(r.entry)) === recordId) return decodeBase64(r.body);
  }
  return undefined;
}
