/**
 * Receipts: what an append answers with (spec/receipts.md). A receipt verifies offline with
 * nothing but the log's verifier key: the leaf hash, its inclusion proof, and the signed
 * checkpoint whose root the proof leads to.
 */
import { decodeBase64 } from '../note/encoding.js';
import { AuditlogError } from '../errors.js';

/**
 * The hash arrays of a receipt from `Log.append` are views of the log's own memory (the batch's
 * leaf hashes, tile nodes), shared with other receipts and with the tiles still to be written:
 * callers must not modify them (copy first). Receipts parsed from JSON own theirs.
 */
export interface Receipt {
  origin: string;
  index: bigint;
  tree_size: bigint;
  leaf_hash: Uint8Array;
  inclusion_proof: Uint8Array[];
  /** The signed checkpoint note text covering the entry. */
  checkpoint: string;
}

/** The JSON form served over HTTP: numbers for index and size, base64 for hashes. */
export interface ReceiptJSON {
  origin: string;
  index: number;
  tree_size: number;
  leaf_hash: string;
  inclusion_proof: string[];
  checkpoint: string;
}

/**
 * Index and size go out as JSON numbers, as in RFC 6962's API; a log past 2^53 entries would
 * need strings, so that is refused here rather than rounded.
 * Precondition: the hash arrays are not modified afterwards (their base64 is cached by identity,
 * as the log's tile nodes never change).
 */
export function receiptToJSON(r: Receipt): ReceiptJSON {
  if (r.tree_size > BigInt(Number.MAX_SAFE_INTEGER))
    throw new AuditlogError('INTERNAL', 'tree size beyond 2^53');
  return {
    origin: r.origin,
    index: Number(r.index),
    tree_size: Number(r.tree_size),
    leaf_hash: base64(r.leaf_hash),
    inclusion_proof: r.inclusion_proof.map(base64),
    checkpoint: r.checkpoint,
  };
}

// Proof nodes are shared by reference across the receipts of a batch (and live in tiles), so
// their base64 form is kept with them: a batch's receipts encode each shared node once.
const encoded = new WeakMap<Uint8Array, string>();

/** Server-side base64 (Node's encoder; the portable one in note/encoding.ts is for browsers). */
function base64(b: Uint8Array): string {
  let s = encoded.get(b);
  if (s === undefined) {
    s = Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('base64');
    encoded.set(b, s);
  }
  return s;
}

function toBigint(v: unknown, field: string): bigint {
  if (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0) return BigInt(v);
  if (typeof v === 'string' && /^(0|[1-9][0-9]*)$/.test(v)) return BigInt(v);
  throw new AuditlogError('BAD_REQUEST', `receipt.${field} is not a non-negative integer`);
}

/** Parses the JSON form strictly. @throws AuditlogError BAD_REQUEST naming the field. */
export function receiptFromJSON(j: unknown): Receipt {
  if (typeof j !== 'object' || j === null) throw new AuditlogError('BAD_REQUEST', 'receipt is not an object');
  const o = j as Record<string, unknown>;
  if (typeof o.origin !== 'string') throw new AuditlogError('BAD_REQUEST', 'receipt.origin is not a string');
  if (typeof o.checkpoint !== 'string')
    throw new AuditlogError('BAD_REQUEST', 'receipt.checkpoint is not a string');
  if (typeof o.leaf_hash !== 'string')
    throw new AuditlogError('BAD_REQUEST', 'receipt.leaf_hash is not a string');
  if (!Array.isArray(o.inclusion_proof))
    throw new AuditlogError('BAD_REQUEST', 'receipt.inclusion_proof is not a list');
  return {
    origin: o.origin,
    index: toBigint(o.index, 'index'),
    tree_size: toBigint(o.tree_size, 'tree_size'),
    leaf_hash: decodeBase64(o.leaf_hash, 'BAD_REQUEST', 'receipt.leaf_hash'),
    inclusion_proof: o.inclusion_proof.map((p, i) => {
      if (typeof p !== 'string')
        throw new AuditlogError('BAD_REQUEST', `receipt.inclusion_proof[${i}] is not a string`);
      return decodeBase64(p, 'BAD_REQUEST', `receipt.inclusion_proof[${i}]`);
    }),
    checkpoint: o.checkpoint,
  };
}
