import { createCipheriv, createDecipheriv, createHash, createHmac, hkdfSync, randomBytes } from 'node:crypto';
import { randomBytes as pooledRandomBytes } from './random.js';
import { AuditlogError } from '../errors.js';
import type { PersonalField } from './split.js';

/**
 * Encryption of personal data at rest (spec/records.md, "Bodies and keys").
 * All blobs are `0x01 || nonce(12) || AES-256-GCM ciphertext || tag(16)`.
 */

const VERSION = 0x01;
const NONCE = 12;
const TAG = 16;
const enc = new TextEncoder();

/** A personal field with the salt it was committed under. */
export interface SaltedField extends PersonalField {
  salt: Uint8Array;
}

/**
 * A person named in a record who is not its data subject (a user actor acting on another
 * user's record): the pointers of their fields, and their own subject key and tag. Their
 * fields are sealed a second time, under this key, inside the body (spec/records.md, "Named
 * persons"), so destroying their key erases them from the record and nothing else.
 */
export interface NamedPerson {
  tag: Uint8Array;
  key: Uint8Array;
  pointers: readonly string[];
}

/** A field of a body sealed under a named person's key: opened with {@link openNamedField}. */
export interface SealedField {
  pointer: string;
  /** Hex tag of the named person whose key seals it. */
  subject: string;
  sealed: Uint8Array;
}

/** What a body holds for one field: its salt and value, or the value sealed for a named person. */
export type BodyField = SaltedField | SealedField;

function seal(key: Uint8Array, plaintext: Uint8Array, aad: Uint8Array): Uint8Array {
  const nonce = pooledRandomBytes(NONCE);
  const c = createCipheriv('aes-256-gcm', key, nonce);
  c.setAAD(aad);
  const ct = Buffer.concat([c.update(plaintext), c.final()]);
  return new Uint8Array(Buffer.concat([Buffer.of(VERSION), nonce, ct, c.getAuthTag()]));
}

function open(key: Uint8Array, blob: Uint8Array, aad: Uint8Array, what: string): Uint8Array {
  if (blob.length < 1 + NONCE + TAG || blob[0] !== VERSION) {
    throw new AuditlogError('BAD_REQUEST', `${what}: not a version 1 blob`);
  }
  try {
    const d = createDecipheriv('aes-256-gcm', key, blob.subarray(1, 1 + NONCE));
    d.setAAD(aad);
    d.setAuthTag(blob.subarray(blob.length - TAG));
    return new Uint8Array(Buffer.concat([d.update(blob.subarray(1 + NONCE, blob.length - TAG)), d.final()]));
  } catch (cause) {
    throw new AuditlogError('BAD_SIGNATURE', `${what}: authentication failed`, { cause });
  }
}

function bodyAad(recordId: string): Uint8Array {
  return Buffer.from(`auditlog.body/v1\0${recordId}`, 'utf8');
}

function fieldAad(recordId: string, pointer: string): Uint8Array {
  return Buffer.from(`auditlog.field/v1\0${recordId}\0${pointer}`, 'utf8');
}

const hexOf = (b: Uint8Array) => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');

/**
 * Encrypts a record's personal fields and salts under the subject key, binding the record id
 * as additional data (a body cannot be moved to another record). The fields of `named` (if
 * any) are first sealed, salt and value together, under the named person's key, bound to the
 * record id and pointer; the body holds that blob and the person's tag in their place.
 * Requires 32-byte keys, and `named.pointers` to be pointers of `fields`.
 */
export function encryptBody(
  key: Uint8Array,
  recordId: string,
  fields: readonly SaltedField[],
  named?: NamedPerson,
): Uint8Array {
  // Plain JSON, not canonical: only this layer reads it back; what must be byte-exact for
  // outside verifiers (the commitments) is computed from JCS of each value, not from this text.
  const plain = Buffer.from(
    JSON.stringify({
      record_id: recordId,
      fields: fields.map((f) => {
        const salt = hexOf(f.salt);
        if (named?.pointers.includes(f.pointer)) {
          const inner = Buffer.from(JSON.stringify({ salt, value: f.value }), 'utf8');
          return {
            pointer: f.pointer,
            subject: hexOf(named.tag),
            sealed: hexOf(seal(named.key, inner, fieldAad(recordId, f.pointer))),
          };
        }
        return { pointer: f.pointer, salt, value: f.value };
      }),
    }),
    'utf8',
  );
  return seal(key, plain, bodyAad(recordId));
}

/**
 * Opens a field sealed under a named person's key inside the body of `recordId`.
 * @throws AuditlogError('BAD_SIGNATURE') if the key, record id, pointer or bytes do not match;
 *   AuditlogError('BAD_REQUEST') if the plaintext is not a sealed field.
 */
export function openNamedField(key: Uint8Array, recordId: string, f: SealedField): SaltedField {
  const plain = open(key, f.sealed, fieldAad(recordId, f.pointer), 'named field');
  const inner = JSON.parse(new TextDecoder().decode(plain)) as { salt?: unknown; value?: unknown };
  if (typeof inner.salt !== 'string' || !Object.hasOwn(inner, 'value')) {
    throw new AuditlogError('BAD_REQUEST', 'named field: not a version 1 sealed field');
  }
  return { pointer: f.pointer, salt: new Uint8Array(Buffer.from(inner.salt, 'hex')), value: inner.value };
}

/**
 * Decrypts a body sealed by {@link encryptBody} for `recordId`. Fields sealed for a named
 * person come back sealed ({@link SealedField}).
 * @throws AuditlogError('BAD_SIGNATURE') if the key, record id or bytes do not match;
 *   AuditlogError('BAD_REQUEST') if the plaintext is not a v1 body.
 */
export function decryptBody(key: Uint8Array, recordId: string, blob: Uint8Array): BodyField[] {
  const plain = open(key, blob, bodyAad(recordId), 'body');
  const body = JSON.parse(new TextDecoder().decode(plain)) as {
    record_id?: unknown;
    fields?: { pointer: string; salt?: string; value?: unknown; subject?: string; sealed?: string }[];
  };
  if (body.record_id !== recordId || !Array.isArray(body.fields)) {
    throw new AuditlogError('BAD_REQUEST', 'body: not a version 1 body for this record');
  }
  return body.fields.map((f): BodyField => {
    if (typeof f.sealed === 'string' && typeof f.subject === 'string') {
      return { pointer: f.pointer, subject: f.subject, sealed: new Uint8Array(Buffer.from(f.sealed, 'hex')) };
    }
    return { pointer: f.pointer, salt: new Uint8Array(Buffer.from(f.salt ?? '', 'hex')), value: f.value };
  });
}

/** True for a field sealed under a named person's key. */
export function isSealedField(f: BodyField): f is SealedField {
  return 'sealed' in f;
}

/** Lowercase hex SHA-256 of a body blob, as recorded in the leaf's `body_sha256`. */
export function bodyDigest(blob: Uint8Array): string {
  return createHash('sha256').update(blob).digest('hex');
}

/** The keys derived from the data directory's records master key. */
export interface RecordKeys {
  /** Wraps subject keys at rest. */
  wrapKey: Uint8Array;
  /** Keys the HMAC that turns a subject id into its tag. */
  tagKey: Uint8Array;
  /** Keys the HMAC that turns a subject id and a tenant into the tag public leaves carry. */
  publicTagKey: Uint8Array;
}

/** HKDF-SHA256 (empty salt) of the 32-byte master key into the wrap, tag and public tag keys. */
export function deriveRecordKeys(master: Uint8Array): RecordKeys {
  if (master.length !== 32) throw new AuditlogError('BAD_KEY', 'records master key: want 32 bytes');
  const derive = (info: string) => new Uint8Array(hkdfSync('sha256', master, new Uint8Array(0), info, 32));
  return {
    wrapKey: derive('auditlog.records/wrap-key'),
    tagKey: derive('auditlog.records/subject-tag-key'),
    publicTagKey: derive('auditlog.records/public-subject-tag-key'),
  };
}

/**
 * The subject tag: HMAC-SHA256(tagKey, "auditlog.subject/v1" 0x00 || subject), 32 bytes.
 * A keyed hash, so a subject id cannot be recovered by guessing without the data directory's key.
 */
export function subjectTag(tagKey: Uint8Array, subject: string): Uint8Array {
  return new Uint8Array(
    createHmac('sha256', tagKey)
      .update(enc.encode(`auditlog.subject/v1\0${subject}`))
      .digest(),
  );
}

/**
 * The public subject tag: HMAC-SHA256(publicTagKey, "auditlog.subject-public/v1" 0x00 || tenant
 * 0x00 || subject), 32 bytes: what the log's own records (erasures, holds) and the API's answers
 * carry for a subject, never the store's tag. Bound to the tenant (`*` for a hold in all
 * tenants), so that the tag an admin of one tenant obtains for a guess (by placing a hold) tests
 * nothing in another tenant's leaves, and one person's erasures in two tenants are not linked
 * in the public tree. Precondition: `tenant` is a tenant id or `*` (no 0x00).
 */
export function publicSubjectTag(publicTagKey: Uint8Array, tenant: string, subject: string): Uint8Array {
  return new Uint8Array(
    createHmac('sha256', publicTagKey)
      .update(enc.encode(`auditlog.subject-public/v1\0${tenant}\0${subject}`))
      .digest(),
  );
}

function keyAad(tag: Uint8Array, tenant: string): Uint8Array {
  return new Uint8Array(Buffer.concat([enc.encode('auditlog.subject-key/v1\0'), tag, enc.encode(tenant)]));
}

/** A fresh random 32-byte subject key. */
export function newSubjectKey(): Uint8Array {
  return new Uint8Array(randomBytes(32));
}

/** Seals a subject key under the wrap key, bound to its (tag, tenant). */
export function wrapSubjectKey(
  wrapKey: Uint8Array,
  tag: Uint8Array,
  tenant: string,
  key: Uint8Array,
): Uint8Array {
  return seal(wrapKey, key, keyAad(tag, tenant));
}

/** Opens a wrapped subject key. @throws AuditlogError('BAD_SIGNATURE') on any mismatch. */
export function unwrapSubjectKey(
  wrapKey: Uint8Array,
  tag: Uint8Array,
  tenant: string,
  blob: Uint8Array,
): Uint8Array {
  const key = open(wrapKey, blob, keyAad(tag, tenant), 'subject key');
  if (key.length !== 32) throw new AuditlogError('BAD_KEY', 'subject key: want 32 bytes');
  return key;
}
