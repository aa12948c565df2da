/**
 * Offline verification of checkpoints, receipts and consistency between checkpoints, with
 * nothing but the log's verifier key (and optionally a witness policy). Imports only merkle/,
 * note/ and errors, so it runs in a browser. Every failure is an AuditlogError whose code says
 * what failed: BAD_NOTE/BAD_CHECKPOINT (malformed), UNKNOWN_KEY (not signed by the log key),
 * BAD_SIGNATURE, QUORUM_NOT_MET, BAD_PROOF (proof shape), ROOT_MISMATCH (proof does not lead to
 * the signed root), LEAF_MISMATCH (entry does not hash to the leaf), INCONSISTENT (a fork).
 */
import { AuditlogError } from '../errors.js';
import { equalHashes } from '../merkle/hasher.js';
import { portableHasher } from '../merkle/portable.js';
import { verifyConsistency, verifyInclusion } from '../merkle/verify.js';
import { type Checkpoint, parseCheckpoint } from '../note/checkpoint.js';
import { parseVerifierKey, SIG_TYPE_ED25519, type VerifierKey } from '../note/keys.js';
import { type Note, parseNote, verifyNote } from '../note/note.js';
import { type Policy, policyLogKeys, quorumSatisfied } from './policy.js';
import type { Receipt } from './receipt.js';

/** A log key as a vkey string or parsed; null/undefined to take it from the policy's log lines. */
export type LogKeyInput = string | VerifierKey | null | undefined;

export interface VerifyOptions {
  /** Witness quorum (and, if it lists logs, the accepted logs) for the newest checkpoint. */
  policy?: Policy;
}

/** A checkpoint whose log signature (and witness quorum, if asked) verified. */
export interface VerifiedCheckpoint {
  checkpoint: Checkpoint;
  note: Note;
  /** The note exactly as verified. */
  noteText: string;
  logKey: VerifierKey;
  /** Names of the policy witnesses whose cosignatures verified. */
  cosigners: string[];
}

/**
 * The keys a checkpoint of `origin` may be signed by: the one given (which, with a policy that
 * lists logs, must be among them), else every key the policy lists for the origin.
 */
function resolveLogKeys(input: LogKeyInput, origin: string, policy: Policy | undefined): VerifierKey[] {
  let key: VerifierKey | undefined;
  if (typeof input === 'string') key = parseVerifierKey(input);
  else if (input) key = input;
  if (key !== undefined && policy !== undefined && policy.logs.length > 0) {
    // Match on the key itself: (name, key ID) is only a 32-bit identifier.
    const listed = policy.logs.find(
      (l) =>
        l.key.name === key!.name &&
        l.key.type === key!.type &&
        equalHashes(l.key.keyId, key!.keyId) &&
        equalHashes(l.key.publicKey, key!.publicKey),
    );
    if (listed === undefined) {
      throw new AuditlogError('UNKNOWN_KEY', `log key ${key.name} is not listed in the policy`);
    }
    key = listed.key;
  }
  const keys = key !== undefined ? [key] : policy !== undefined ? policyLogKeys(policy, origin) : [];
  if (keys.length === 0) throw new AuditlogError('UNKNOWN_KEY', `no log key for origin ${origin}`);
  for (const k of keys) {
    if (k.type !== SIG_TYPE_ED25519)
      throw new AuditlogError('BAD_KEY', 'log key must have signature type 0x01');
  }
  return keys;
}

/**
 * Verifies a checkpoint note: parses it, checks the log's signature (the origin must equal the log
 * key name), every cosignature by a policy witness, and the policy quorum.
 * @throws AuditlogError (see the module comment)
 */
export function verifyCheckpoint(
  noteText: string,
  logKey: LogKeyInput,
  opts: VerifyOptions = {},
): VerifiedCheckpoint {
  const parsed = parseNote(noteText);
  const checkpoint = parseCheckpoint(parsed.text);
  const keys = resolveLogKeys(logKey, checkpoint.origin, opts.policy);
  if (checkpoint.origin !== keys[0]!.name) {
    throw new AuditlogError(
      'UNKNOWN_KEY',
      `checkpoint origin ${checkpoint.origin} is not the log key name ${keys[0]!.name}`,
    );
  }
  const witnesses = opts.policy ? [...opts.policy.witnesses.entries()] : [];
  const { note, verified } = verifyNote(noteText, [...keys, ...witnesses.map(([, w]) => w.key)]);
  const key = keys.find((k) => verified.includes(k));
  if (key === undefined)
    throw new AuditlogError('UNKNOWN_KEY', `checkpoint is not signed by ${keys[0]!.name}`);
  const cosigners = witnesses.filter(([, w]) => verified.includes(w.key)).map(([name]) => name);
  if (opts.policy && !quorumSatisfied(opts.policy, new Set(cosigners))) {
    throw new AuditlogError(
      'QUORUM_NOT_MET',
      `witness quorum not met (cosigned by ${cosigners.length === 0 ? 'no policy witness' : cosigners.join(', ')})`,
    );
  }
  return { checkpoint, note, noteText, logKey: key, cosigners };
}

/** What a verified receipt proves. */
export interface VerifiedReceipt {
  index: bigint;
  leafHash: Uint8Array;
  /** The checkpoint the inclusion proof leads to. */
  checkpoint: Checkpoint;
  /** The newest checkpoint vouching for the entry (the upgrade's, or the same). */
  latest: VerifiedCheckpoint;
}

/**
 * Verifies a receipt offline: the entry (if kept) hashes to the leaf hash; the checkpoint is signed
 * by the log key, has the receipt's origin and tree size; the inclusion proof leads from the leaf
 * to its root; and, with an upgrade, the later checkpoint is signed and consistent with it. A
 * policy quorum is required of the newest checkpoint only (that is what an upgrade is for).
 * @throws AuditlogError (see the module comment)
 */
export function verifyReceipt(
  receipt: Receipt,
  logKey: LogKeyInput,
  opts: VerifyOptions = {},
): VerifiedReceipt {
  if (receipt.entry !== undefined && !equalHashes(portableHasher.hashLeaf(receipt.entry), receipt.leafHash)) {
    throw new AuditlogError('LEAF_MISMATCH', 'the entry does not hash to the receipt leaf hash');
  }
  // With an upgrade, the quorum is asked of the newer checkpoint only.
  const firstOpts = receipt.upgrade ? { policy: logsOnly(opts.policy) } : opts;
  const first = verifyCheckpoint(receipt.checkpoint, logKey ?? null, firstOpts);
  const cp = first.checkpoint;
  if (cp.origin !== receipt.origin) {
    throw new AuditlogError(
      'UNKNOWN_KEY',
      `receipt origin ${receipt.origin} differs from checkpoint origin ${cp.origin}`,
    );
  }
  if (cp.size !== receipt.treeSize) {
    throw new AuditlogError(
      'BAD_PROOF',
      `receipt tree size ${receipt.treeSize} differs from checkpoint size ${cp.size}`,
    );
  }
  verifyInclusion(receipt.index, receipt.treeSize, receipt.leafHash, receipt.inclusionProof, cp.root);
  if (receipt.upgrade === undefined)
    return { index: receipt.index, leafHash: receipt.leafHash, checkpoint: cp, latest: first };
  const latest = verifyConsistencyBetween(
    receipt.checkpoint,
    receipt.upgrade.checkpoint,
    receipt.upgrade.consistencyProof,
    first.logKey,
    opts,
  );
  return { index: receipt.index, leafHash: receipt.leafHash, checkpoint: cp, latest };
}

/**
 * The policy's log keys without its witness quorum: what a receipt must meet before it is
 * upgraded to a checkpoint that meets the quorum.
 */
export function logsOnly(policy: Policy | undefined): Policy | undefined {
  if (policy === undefined) return undefined;
  return { logs: policy.logs, witnesses: new Map(), groups: new Map(), quorum: 'none' };
}

/**
 * Verifies that `newNote` extends `oldNote`: both signed by the log key with the same origin,
 * old size <= new size, and the consistency proof links the roots. The policy quorum applies to
 * the new checkpoint. Two signed checkpoints of one size with different roots are INCONSISTENT; a
 * new checkpoint smaller than the old one is ROLLBACK.
 * @returns the verified new checkpoint.
 * @throws AuditlogError (see the module comment)
 */
export function verifyConsistencyBetween(
  oldNote: string,
  newNote: string,
  proof: readonly Uint8Array[],
  logKey: LogKeyInput,
  opts: VerifyOptions = {},
): VerifiedCheckpoint {
  const a = verifyCheckpoint(oldNote, logKey ?? null, { policy: logsOnly(opts.policy) });
  const b = verifyCheckpoint(newNote, a.logKey, opts);
  if (b.checkpoint.size < a.checkpoint.size) {
    throw new AuditlogError(
      'ROLLBACK',
      `new checkpoint size ${b.checkpoint.size} < old ${a.checkpoint.size}`,
    );
  }
  if (b.checkpoint.size === a.checkpoint.size && !equalHashes(a.checkpoint.root, b.checkpoint.root)) {
    throw new AuditlogError(
      'INCONSISTENT',
      `two signed checkpoints of size ${a.checkpoint.size} with different roots`,
    );
  }
  verifyConsistency(a.checkpoint.size, b.checkpoint.size, proof, a.checkpoint.root, b.checkpoint.root);
  return b;
}

/**
 * Upgrades a receipt to a newer checkpoint: verifies the receipt, the new checkpoint and the
 * consistency proof (policy applies to the new checkpoint), and returns the receipt with the
 * upgrade attached (replacing any earlier upgrade). The inclusion proof is kept as it was; one new
 * checkpoint can vouch for many old receipts this way.
 * @throws AuditlogError (see the module comment)
 */
export function upgradeReceipt(
  receipt: Receipt,
  newCheckpoint: string,
  consistencyProof: readonly Uint8Array[],
  logKey: LogKeyInput,
  opts: VerifyOptions = {},
): Receipt {
  const base: Receipt = { ...receipt };
  delete base.upgrade;
  const upgraded: Receipt = {
    ...base,
    upgrade: { checkpoint: newCheckpoint, consistencyProof: [...consistencyProof] },
  };
  verifyReceipt(upgraded, logKey, opts);
  return upgraded;
}
