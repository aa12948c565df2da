import {
  bodyDigest,
  decryptBody,
  encryptBody,
  isSealedField,
  openNamedField,
  type SaltedField,
} from './body-crypto.js';
import { AuditlogError } from '../errors.js';
import { commitField, newSalt, verifyField } from './commitment.js';
import { encodeLeaf, formatLoggedAt, LEAF_SCHEMA, type RecordLeaf } from './leaf.js';
import type { AuditRecord, LeafRecord } from './schema.js';
import { joinRecord, namedPersonOf, splitRecord } from './split.js';

/** A record made ready for the log: its leaf (public) and its encrypted body (or none). */
export interface SealedRecord {
  recordId: string;
  leaf: RecordLeaf;
  leafBytes: Uint8Array;
  /** The encrypted personal fields and salts; null when the record has no personal field. */
  body: Uint8Array | null;
}

/**
 * Splits `record`, commits to each personal field under a fresh salt, encrypts the fields and
 * salts under `subjectKey` (required when the record has personal fields), and encodes the leaf.
 * A person the record names besides its subject ({@link namedPersonOf}) has their fields sealed
 * again under their own key, `named` (required then).
 * With `logWritten`, the record is one the log writes about itself (an audited read, a hold, an
 * erasure, an archive), built only from token names, tags, ids and counts: nothing is split.
 * @throws AuditlogError('TOO_LARGE') if the leaf is over the entry limit.
 */
export function sealRecord(
  record: AuditRecord,
  opts: {
    recordId: string;
    loggedAtMs: number;
    subjectKey: Uint8Array | null;
    named?: { tag: Uint8Array; key: Uint8Array } | null;
    logWritten?: boolean;
  },
): SealedRecord {
  const { publicRecord, personal } = opts.logWritten
    ? { publicRecord: record, personal: [] }
    : splitRecord(record);
  const salted: SaltedField[] = personal.map((f) => ({ ...f, salt: newSalt() }));
  const commitments: Record<string, string> = {};
  for (const f of salted)
    commitments[f.pointer] = Buffer.from(commitField(f.pointer, f.salt, f.value)).toString('hex');
  const leaf: RecordLeaf = {
    schema: LEAF_SCHEMA,
    record_id: opts.recordId,
    logged_at: formatLoggedAt(opts.loggedAtMs),
    record: publicRecord,
    commitments,
  };
  let body: Uint8Array | null = null;
  if (salted.length > 0) {
    if (opts.subjectKey === null) throw new Error('sealRecord: personal fields need a subject key');
    const person = opts.logWritten ? undefined : namedPersonOf(record);
    if (person !== undefined && !opts.named) {
      throw new AuditlogError('INTERNAL', 'sealRecord: a named person needs their own key');
    }
    body = encryptBody(
      opts.subjectKey,
      opts.recordId,
      salted,
      person && opts.named ? { ...opts.named, pointers: person.pointers } : undefined,
    );
    leaf.body_sha256 = bodyDigest(body);
  }
  return { recordId: opts.recordId, leaf, leafBytes: encodeLeaf(leaf), body };
}

/** How one committed field of a leaf fared when its body was opened. */
export interface FieldCheck {
  pointer: string;
  /** True iff the body holds this field and its salt and value hash to the leaf's commitment. */
  verified: boolean;
  /** Hex salt of a verified field, so a reader can recompute the commitment itself. */
  salt?: string;
  /** Set when the field was sealed for a named person whose key is gone (they were erased). */
  erased?: true;
}

/**
 * Opens a body against its leaf: decrypts it, checks every commitment, and rebuilds the full
 * record. Fields in the leaf missing from the body, and fields of the body the leaf does not
 * commit to, are reported unverified; only verified values are put back into the record.
 * A field sealed for a named person is opened with `namedKey(tag hex)`; when that answers
 * undefined (the person was erased) the field is reported unverified and `erased`, and when
 * it does not open, unverified.
 * @throws AuditlogError('BAD_SIGNATURE') if the body does not decrypt under `key` for this record.
 */
export function openRecord(
  leaf: RecordLeaf,
  body: Uint8Array,
  key: Uint8Array,
  namedKey: (tagHex: string) => Uint8Array | undefined = () => undefined,
): { record: LeafRecord; fields: FieldCheck[]; bodyDigestOk: boolean } {
  const erasedPointers = new Set<string>();
  const fields: SaltedField[] = [];
  for (const f of decryptBody(key, leaf.record_id, body)) {
    if (!isSealedField(f)) {
      fields.push(f);
      continue;
    }
    const k = namedKey(f.subject);
    if (k === undefined) {
      erasedPointers.add(f.pointer);
      continue;
    }
    try {
      fields.push(openNamedField(k, leaf.record_id, f));
    } catch (err) {
      if (!(err instanceof AuditlogError)) throw err;
      // Reported unverified below: the leaf commits to a field the body cannot show.
    }
  }
  const byPointer = new Map(fields.map((f) => [f.pointer, f]));
  const checks: FieldCheck[] = [];
  const good: SaltedField[] = [];
  for (const [pointer, hex] of Object.entries(leaf.commitments)) {
    const f = byPointer.get(pointer);
    const ok =
      f !== undefined && verifyField(pointer, f.salt, f.value, new Uint8Array(Buffer.from(hex, 'hex')));
    if (ok) {
      checks.push({ pointer, verified: true, salt: Buffer.from(f.salt).toString('hex') });
      good.push(f);
    } else if (f === undefined && erasedPointers.has(pointer)) {
      checks.push({ pointer, verified: false, erased: true });
    } else {
      checks.push({ pointer, verified: false });
    }
  }
  for (const f of fields) {
    if (!Object.hasOwn(leaf.commitments, f.pointer)) checks.push({ pointer: f.pointer, verified: false });
  }
  return {
    record: joinRecord(leaf.record, good),
    fields: checks,
    bodyDigestOk: leaf.body_sha256 === bodyDigest(body),
  };
}
