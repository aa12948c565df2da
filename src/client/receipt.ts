/**
 * Receipts on the client side: the JSON a log answers an append with (spec/receipts.md), plus the
 * optional fields a client keeps with it (the entry, the record id, an upgrade to a later
 * checkpoint). Browser-safe; independent of the server's own types.
 */
import { AuditlogError } from '../errors.js';
import { decodeBase64, encodeBase64 } from '../note/encoding.js';

/** Most hashes we accept in one proof (a tree of 2^64 leaves needs at most 64). */
export const MAX_PROOF_HASHES = 64;

/** A later checkpoint and the consistency proof from the receipt's checkpoint to it. */
export interface ReceiptUpgrade {
  checkpoint: string;
  consistencyProof: Uint8Array[];
}

/** An inclusion receipt. Nothing in it is trusted until verifyReceipt has checked it. */
export interface Receipt {
  origin: string;
  index: bigint;
  treeSize: bigint;
  leafHash: Uint8Array;
  inclusionProof: Uint8Array[];
  /** The signed checkpoint note (of size treeSize) the inclusion proof leads to. */
  checkpoint: string;
  /** The logged entry bytes, when the holder kept them (verification then checks the leaf hash). */
  entry?: Uint8Array;
  /** The record id, for receipts of compliance records. */
  recordId?: string;
  upgrade?: ReceiptUpgrade;
}

/** The JSON form (snake_case, base64). index/tree_size are numbers, or decimal strings past 2^53. */
export interface ReceiptJSON {
  origin: string;
  index: number | string;
  tree_size: number | string;
  leaf_hash: string;
  inclusion_proof: string[];
  checkpoint: string;
  entry?: string;
  record_id?: string;
  upgrade?: { checkpoint: string; consistency_proof: string[] };
}

function bad(field: string, what: string): never {
  throw new AuditlogError('BAD_REQUEST', `receipt.${field}: ${what}`);
}

function uint64Field(v: unknown, field: string): bigint {
  if (typeof v === 'number') {
    if (Number.isSafeInteger(v) && v >= 0) return BigInt(v);
    return bad(field, 'not a non-negative safe integer');
  }
  if (typeof v === 'string' && /^(?:0|[1-9][0-9]{0,19})$/.test(v) && BigInt(v) < 2n ** 64n) return BigInt(v);
  return bad(field, 'not a uint64');
}

function stringField(o: Record<string, unknown>, field: string, prefix = ''): string {
  const v = o[field];
  if (typeof v !== 'string') bad(prefix + field, 'not a string');
  return v as string;
}

function hashList(v: unknown, field: string): Uint8Array[] {
  if (!Array.isArray(v)) bad(field, 'not a list');
  const list = v as unknown[];
  if (list.length > MAX_PROOF_HASHES) bad(field, `more than ${MAX_PROOF_HASHES} hashes`);
  return list.map((h, i) => {
    if (typeof h !== 'string') bad(`${field}[${i}]`, 'not a string');
    const b = decodeBase64(h as string, 'BAD_REQUEST', `receipt.${field}[${i}]`);
    if (b.length !== 32) bad(`${field}[${i}]`, 'not 32 bytes');
    return b;
  });
}

const FIELDS = new Set([
  'origin',
  'index',
  'tree_size',
  'leaf_hash',
  'inclusion_proof',
  'checkpoint',
  'entry',
  'record_id',
  'upgrade',
]);

/**
 * Parses a receipt from its JSON value. Stored receipts are parsed strictly: an unknown field is an
 * error (a renamed `entry` must not silently turn off the entry check). `allowUnknown` drops
 * unknown fields instead, for answers from a server that may add fields.
 * @throws AuditlogError('BAD_REQUEST') naming the first bad field.
 */
export function parseReceipt(json: unknown, opts: { allowUnknown?: boolean } = {}): Receipt {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) bad('', 'not an object');
  const o = json as Record<string, unknown>;
  if (!opts.allowUnknown) {
    for (const k of Object.keys(o)) if (!FIELDS.has(k)) bad(k, 'unknown field');
  }
  const leafHash = decodeBase64(stringField(o, 'leaf_hash'), 'BAD_REQUEST', 'receipt.leaf_hash');
  if (leafHash.length !== 32) bad('leaf_hash', 'not 32 bytes');
  const r: Receipt = {
    origin: stringField(o, 'origin'),
    index: uint64Field(o.index, 'index'),
    treeSize: uint64Field(o.tree_size, 'tree_size'),
    leafHash,
    inclusionProof: hashList(o.inclusion_proof, 'inclusion_proof'),
    checkpoint: stringField(o, 'checkpoint'),
  };
  if (o.entry !== undefined) r.entry = decodeBase64(stringField(o, 'entry'), 'BAD_REQUEST', 'receipt.entry');
  if (o.record_id !== undefined) r.recordId = stringField(o, 'record_id');
  if (o.upgrade !== undefined) {
    const u = o.upgrade;
    if (typeof u !== 'object' || u === null || Array.isArray(u)) bad('upgrade', 'not an object');
    const uo = u as Record<string, unknown>;
    for (const k of Object.keys(uo)) {
      if (k !== 'checkpoint' && k !== 'consistency_proof') bad(`upgrade.${k}`, 'unknown field');
    }
    r.upgrade = {
      checkpoint: stringField(uo, 'checkpoint', 'upgrade.'),
      consistencyProof: hashList(uo.consistency_proof, 'upgrade.consistency_proof'),
    };
  }
  return r;
}

/** Parses receipt JSON text. @throws AuditlogError('BAD_REQUEST') */
export function parseReceiptText(text: string): Receipt {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (cause) {
    throw new AuditlogError('BAD_REQUEST', 'receipt is not JSON', { cause });
  }
  return parseReceipt(json);
}

function uint64Out(n: bigint): number | string {
  return n <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(n) : n.toString();
}

/** The JSON form of a receipt (field order fixed, optional fields only when present). */
export function receiptToJSON(r: Receipt): ReceiptJSON {
  const j: ReceiptJSON = {
    origin: r.origin,
    index: uint64Out(r.index),
    tree_size: uint64Out(r.treeSize),
    leaf_hash: encodeBase64(r.leafHash),
    inclusion_proof: r.inclusionProof.map(encodeBase64),
    checkpoint: r.checkpoint,
  };
  if (r.entry !== undefined) j.entry = encodeBase64(r.entry);
  if (r.recordId !== undefined) j.record_id = r.recordId;
  if (r.upgrade !== undefined) {
    j.upgrade = {
      checkpoint: r.upgrade.checkpoint,
      consistency_proof: r.upgrade.consistencyProof.map(encodeBase64),
    };
  }
  return j;
}
