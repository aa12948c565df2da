import { AuditlogError } from '../errors.js';
import { hashLeaf } from '../merkle/rfc6962.js';
import { verifyInclusion } from '../merkle/verify.js';
import { openCheckpoint } from '../note/checkpoint.js';
import { bytesEqual, decodeBase64 } from '../note/encoding.js';
import type { VerifierKey } from '../note/keys.js';
import { canonicalJsonBytes, pointerTokens } from './canonical-json.js';
import { commitField } from './commitment.js';
import { parseLeaf, type RecordLeaf } from './leaf.js';
import { joinRecord } from './split.js';

/** The parts of a GET /v1/records/<index> answer that {@link verifyRecordRead} checks. */
export interface RecordReadJSON {
  index: number;
  record: unknown;
  fields: { pointer: string; verified: boolean; salt?: string }[];
  entry: string;
  proof: {
    index: number;
    tree_size: number;
    leaf_hash: string;
    inclusion_proof: string[];
    checkpoint: string;
  };
}

/**
 * Checks an audited read without trusting the server (spec/records.md, "Audited reads"):
 * the checkpoint is signed by `logKey`; `entry` hashes to the proof's leaf hash, which the
 * inclusion proof puts at `index` under the checkpoint's root; the entry is a record leaf; and
 * every field the server calls verified has a salt and a value in `record` (at its pointer)
 * whose commitment is the leaf's. Returns the leaf and the pointers whose cleartext it proved.
 * @throws AuditlogError (BAD_REQUEST, BAD_SIGNATURE, UNKNOWN_KEY, BAD_PROOF, ROOT_MISMATCH,
 *   LEAF_MISMATCH) at the first check that fails.
 */
export function verifyRecordRead(
  read: RecordReadJSON,
  logKey: VerifierKey,
): { leaf: RecordLeaf; proven: string[] } {
  const { checkpoint } = openCheckpoint(read.proof.checkpoint, logKey);
  if (BigInt(read.proof.tree_size) !== checkpoint.size) {
    throw new AuditlogError('BAD_PROOF', 'proof tree_size is not the checkpoint size');
  }
  if (read.proof.index !== read.index) throw new AuditlogError('BAD_PROOF', 'proof is for another index');
  const entry = decodeBase64(read.entry);
  const leafHash = hashLeaf(entry);
  if (!bytesEqual(leafHash, decodeBase64(read.proof.leaf_hash))) {
    throw new AuditlogError('LEAF_MISMATCH', 'entry does not hash to the proof leaf hash');
  }
  verifyInclusion(
    BigInt(read.index),
    checkpoint.size,
    leafHash,
    read.proof.inclusion_proof.map((h) => decodeBase64(h)),
    checkpoint.root,
  );
  const leaf = parseLeaf(entry);
  const proven: string[] = [];
  for (const f of read.fields) {
    if (!f.verified) continue;
    const commitment = Object.hasOwn(leaf.commitments, f.pointer) ? leaf.commitments[f.pointer] : undefined;
    if (commitment === undefined || f.salt === undefined || !/^[0-9a-f]{64}$/.test(f.salt)) {
      throw new AuditlogError(
        'LEAF_MISMATCH',
        `${f.pointer}: claimed verified without a commitment and salt`,
      );
    }
    const value = valueAt(read.record, f.pointer);
    if (value === undefined) throw new AuditlogError('LEAF_MISMATCH', `${f.pointer}: no value in the record`);
    const c = Buffer.from(commitField(f.pointer, new Uint8Array(Buffer.from(f.salt, 'hex')), value)).toString(
      'hex',
    );
    if (c !== commitment)
      throw new AuditlogError('LEAF_MISMATCH', `${f.pointer}: value does not match its commitment`);
    proven.push(f.pointer);
  }
  // The cleartext shown is exactly the leaf's public record with the proven values put back.
  const expected = joinRecord(
    leaf.record,
    proven.map((pointer) => ({ pointer, value: valueAt(read.record, pointer) })),
  );
  if (!bytesEqual(canonicalJsonBytes(expected), canonicalJsonBytes(read.record)))
    throw new AuditlogError('LEAF_MISMATCH', 'record: not the leaf with its verified fields');
  return { leaf, proven };
}

/**
 * RFC 6901 evaluation of `pointer` in `doc`, through own members only; undefined if it leads
 * nowhere or is not a pointer {@link pointerTokens} accepts.
 */
export function valueAt(doc: unknown, pointer: string): unknown {
  const tokens = pointerTokens(pointer);
  if (tokens === null) return undefined;
  let node: unknown = doc;
  for (const token of tokens) {
    if (typeof node !== 'object' || node === null || !Object.hasOwn(node, token)) return undefined;
    node = (node as Record<string, unknown>)[token];
  }
  return node;
}
