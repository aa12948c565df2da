import { AuditlogError } from '../errors.js';
import { canonicalJsonBytes, pointerTokens } from './canonical-json.js';
import { randomBytes } from './random.js';
import {
  type AuditRecord,
  type AuditRecordV1,
  isCalendarDateTime,
  leafRecordSchemaV1,
  leafRecordSchemaV2,
} from './schema.js';

/** The `schema` member of every record leaf written now. */
export const LEAF_SCHEMA = 'auditlog.record/v2';
/** The `schema` member of leaves written before record schema v2; still read, never written. */
export const LEAF_SCHEMA_V1 = 'auditlog.record/v1';
/** Largest leaf the log accepts (the core log's entry limit). */
export const MAX_LEAF_SIZE = 65535;

/**
 * A record leaf: what goes into the Merkle tree (spec/records.md, "Leaf"). It carries the
 * public part of the record and a commitment per personal field, never a personal value.
 */
export interface RecordLeaf {
  schema: typeof LEAF_SCHEMA | typeof LEAF_SCHEMA_V1;
  record_id: string;
  /** The log's own integration time (RFC 3339, UTC, milliseconds); the client's time stays in record. */
  logged_at: string;
  /** Schema v2's public part; in a v1 leaf (read only), v1's (spec/records.md, "Versions"). */
  record: AuditRecord | AuditRecordV1;
  /** JSON Pointer of each personal field -> lowercase hex of its 32-byte commitment. */
  commitments: Record<string, string>;
  /** Lowercase hex SHA-256 of the encrypted body blob; present iff commitments is not empty. */
  body_sha256?: string;
}

const RECORD_ID = /^rec_[0-9a-f]{32}$/;
const HEX32 = /^[0-9a-f]{64}$/;
const LOGGED_AT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

/** A fresh record id: `rec_` and 32 lowercase hex digits (128 random bits). */
export function newRecordId(): string {
  const r = randomBytes(16);
  return `rec_${Buffer.from(r.buffer, r.byteOffset, r.byteLength).toString('hex')}`;
}

/** True iff `s` has the shape of a record id. */
export function isRecordId(s: string): boolean {
  return RECORD_ID.test(s);
}

/** The log's time stamp format: `Date.toISOString()` (UTC, milliseconds). */
export function formatLoggedAt(ms: number): string {
  return new Date(ms).toISOString();
}

/**
 * The leaf bytes: RFC 8785 canonical JSON of `leaf`, UTF-8.
 * @throws AuditlogError('TOO_LARGE') over MAX_LEAF_SIZE bytes.
 */
export function encodeLeaf(leaf: RecordLeaf): Uint8Array {
  const bytes = canonicalJsonBytes(leaf);
  if (bytes.length > MAX_LEAF_SIZE) {
    throw new AuditlogError('TOO_LARGE', `record: leaf is ${bytes.length} bytes, over ${MAX_LEAF_SIZE}`);
  }
  return bytes;
}

/**
 * Parses and checks leaf bytes. Strict: the bytes must be exactly the canonical encoding of
 * what they parse to, so one record has one leaf.
 * @throws AuditlogError('BAD_REQUEST') if the bytes are not a v1 record leaf.
 */
export function parseLeaf(bytes: Uint8Array): RecordLeaf {
  let obj: unknown;
  try {
    obj = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch {
    throw new AuditlogError('BAD_REQUEST', 'leaf: not UTF-8 JSON');
  }
  if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) {
    throw new AuditlogError('BAD_REQUEST', 'leaf: not a JSON object');
  }
  const o = obj as Record<string, unknown>;
  const allowed = ['schema', 'record_id', 'logged_at', 'record', 'commitments', 'body_sha256'];
  const extra = Object.keys(o).find((k) => !allowed.includes(k));
  if (extra !== undefined) throw new AuditlogError('BAD_REQUEST', `leaf.${extra}: unknown field`);
  if (o.schema !== LEAF_SCHEMA && o.schema !== LEAF_SCHEMA_V1) {
    throw new AuditlogError('BAD_REQUEST', `leaf.schema: not ${LEAF_SCHEMA} or ${LEAF_SCHEMA_V1}`);
  }
  if (typeof o.record_id !== 'string' || !RECORD_ID.test(o.record_id)) {
    throw new AuditlogError('BAD_REQUEST', 'leaf.record_id: not a record id');
  }
  if (typeof o.logged_at !== 'string' || !LOGGED_AT.test(o.logged_at) || !isCalendarDateTime(o.logged_at)) {
    throw new AuditlogError('BAD_REQUEST', 'leaf.logged_at: not a UTC time with milliseconds');
  }
  const v1 = o.schema === LEAF_SCHEMA_V1;
  const rec = (v1 ? leafRecordSchemaV1 : leafRecordSchemaV2).safeParse(o.record);
  if (!rec.success) {
    const issue = rec.error.issues[0];
    throw new AuditlogError(
      'BAD_REQUEST',
      `leaf.record.${issue?.path.join('.') ?? ''}: ${issue?.message ?? 'invalid'}`,
    );
  }
  const c = o.commitments;
  if (typeof c !== 'object' || c === null || Array.isArray(c)) {
    throw new AuditlogError('BAD_REQUEST', 'leaf.commitments: not an object');
  }
  for (const [pointer, hex] of Object.entries(c)) {
    // A pointer the sealer would never write (toPointer's): `/`-led, `~` only as `~0`/`~1`, no
    // `__proto__` token (no record has such a member; a walk through it reaches Object.prototype).
    if (
      !pointer.startsWith('/') ||
      pointerTokens(pointer) === null ||
      typeof hex !== 'string' ||
      !HEX32.test(hex)
    ) {
      throw new AuditlogError('BAD_REQUEST', `leaf.commitments: bad entry ${JSON.stringify(pointer)}`);
    }
  }
  // The sealer commits a user actor's id instead of showing it (a log-written record shows the
  // reading token's name); either way a leaf names its actor exactly once. (v1 always showed it.)
  if (!v1 && (rec.data.actor_id !== undefined) === Object.hasOwn(c, '/actor_id')) {
    throw new AuditlogError('BAD_REQUEST', 'leaf.record.actor_id: must be either present or committed');
  }
  const hasCommitments = Object.keys(c).length > 0;
  if (hasCommitments !== (o.body_sha256 !== undefined)) {
    throw new AuditlogError('BAD_REQUEST', 'leaf.body_sha256: present iff there are commitments');
  }
  if (o.body_sha256 !== undefined && (typeof o.body_sha256 !== 'string' || !HEX32.test(o.body_sha256))) {
    throw new AuditlogError('BAD_REQUEST', 'leaf.body_sha256: not 64 lowercase hex digits');
  }
  const leaf = o as unknown as RecordLeaf;
  const again = canonicalJsonBytes(leaf);
  if (again.length !== bytes.length || !again.every((b, i) => b === bytes[i])) {
    throw new AuditlogError('BAD_REQUEST', 'leaf: not in canonical form');
  }
  return leaf;
}

const RECORD_ID_MEMBER = Buffer.from('"record_id":"rec_');
/** What follows a leaf's top-level record id: its `schema` member, the last one in canonical order. */
const SCHEMA_AFTER_ID = Buffer.from('","schema":"auditlog.record/v');

/**
 * The record id an entry names, found by byte search; null if it names none. A record leaf is
 * canonical JSON (members sorted), so its top-level `record_id` member is the last but one,
 * followed only by `schema`: the last `"record_id":"rec_` in the bytes, directly followed by the
 * schema member. (An earlier one may be inside `record`, e.g. a public `details.record_id`.) A raw
 * entry can name any id, so callers take the first index of an id with a meta row (a copy
 * always comes later).
 */
export function recordIdIn(entry: Uint8Array): string | null {
  const b = Buffer.from(entry.buffer, entry.byteOffset, entry.byteLength);
  if (b[0] !== 0x7b) return null;
  const at = b.lastIndexOf(RECORD_ID_MEMBER);
  if (at < 0) return null;
  const idEnd = at + RECORD_ID_MEMBER.length + 32;
  const hex = b.toString('latin1', at + RECORD_ID_MEMBER.length, idEnd);
  if (!/^[0-9a-f]{32}$/.test(hex)) return null;
  if (b.indexOf(SCHEMA_AFTER_ID, idEnd) !== idEnd) return null;
  return `rec_${hex}`;
}

/**
 * True iff `entry` claims to be a record leaf: a JSON text (after an optional byte-order mark
 * and JSON whitespace) whose value is an object with a string `schema` starting with
 * `auditlog.record/` (escapes included: `auditlog.record\/v2` is the same string).
 */
export function claimsRecordSchema(entry: Uint8Array): boolean {
  let at = 0;
  if (entry[0] === 0xef && entry[1] === 0xbb && entry[2] === 0xbf) at = 3;
  while (entry[at] === 0x20 || entry[at] === 0x09 || entry[at] === 0x0a || entry[at] === 0x0d) at++;
  if (entry[at] !== 0x7b /* { */) return false;
  let obj: unknown;
  try {
    obj = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(entry.subarray(at)));
  } catch {
    return false;
  }
  const schema = (obj as { schema?: unknown } | null)?.schema;
  return typeof schema === 'string' && schema.startsWith('auditlog.record/');
}
