/**
 * c2sp.org/tlog-proof@v1 files (`.tlog-proof`): a checkpoint, an index and an inclusion proof in a
 * text form other implementations can verify. Our profile puts the logged entry in the `extra`
 * line, so the file alone lets a verifier recompute the leaf hash (spec/receipts.md). Browser-safe.
 */
import { AuditlogError } from '../errors.js';
import { portableHasher } from '../merkle/portable.js';
import { parseCanonicalUint64, parseCheckpoint } from '../note/checkpoint.js';
import { decodeBase64, encodeBase64 } from '../note/encoding.js';
import { parseNote } from '../note/note.js';
import { MAX_PROOF_HASHES, type Receipt } from './receipt.js';

export const TLOG_PROOF_HEADER = 'c2sp.org/tlog-proof@v1';
/** Largest .tlog-proof we parse (an entry of up to 64 KiB in base64, the proof, a cosigned checkpoint). */
export const MAX_TLOG_PROOF_BYTES = 512 * 1024;

export interface TlogProof {
  extra?: Uint8Array;
  index: bigint;
  inclusionProof: Uint8Array[];
  /** The checkpoint note, verbatim (signatures included). */
  checkpoint: string;
}

function fail(message: string): never {
  throw new AuditlogError('BAD_PROOF', `tlog-proof: ${message}`);
}

/** Formats a tlog-proof. Precondition: 32-byte proof hashes, a valid checkpoint note. */
export function formatTlogProof(p: TlogProof): string {
  let out = `${TLOG_PROOF_HEADER}\n`;
  if (p.extra !== undefined) out += `extra ${encodeBase64(p.extra)}\n`;
  out += `index ${p.index.toString()}\n`;
  for (const h of p.inclusionProof) out += `${encodeBase64(h)}\n`;
  return `${out}\n${p.checkpoint}`;
}

/**
 * Parses a tlog-proof strictly: the exact header, an optional `extra` line of canonical base64,
 * `index` with a canonical decimal uint64, up to 64 lines of canonical base64 32-byte hashes, one
 * empty line, then a signed note (checked to parse; not verified here).
 * @throws AuditlogError('BAD_PROOF')
 */
export function parseTlogProof(text: string): TlogProof {
  if (text.length > MAX_TLOG_PROOF_BYTES) fail('too large');
  const blank = text.indexOf('\n\n');
  if (blank < 0) fail('no empty line before the checkpoint');
  const head = text.slice(0, blank).split('\n');
  const checkpoint = text.slice(blank + 2);
  if (head[0] !== TLOG_PROOF_HEADER) fail(`first line must be ${TLOG_PROOF_HEADER}`);
  let i = 1;
  const p: Partial<TlogProof> = {};
  if (head[i]?.startsWith('extra ')) {
    try {
      p.extra = decodeBase64(head[i]!.slice('extra '.length), 'BAD_PROOF', 'tlog-proof extra');
    } catch (cause) {
      throw new AuditlogError('BAD_PROOF', 'tlog-proof: extra is not canonical base64', { cause });
    }
    i++;
  }
  const indexLine = head[i];
  if (indexLine === undefined || !indexLine.startsWith('index ')) fail('missing index line');
  const index = parseCanonicalUint64(indexLine.slice('index '.length));
  if (index === null) fail('index is not a canonical decimal uint64');
  i++;
  const hashes = head.slice(i);
  if (hashes.length > MAX_PROOF_HASHES) fail('too many proof hashes');
  const inclusionProof = hashes.map((line, j) => {
    let h: Uint8Array;
    try {
      h = decodeBase64(line, 'BAD_PROOF', 'tlog-proof hash');
    } catch (cause) {
      throw new AuditlogError('BAD_PROOF', `tlog-proof: proof line ${j} is not canonical base64`, { cause });
    }
    if (h.length !== 32) fail(`proof line ${j} is not 32 bytes`);
    return h;
  });
  try {
    parseNote(checkpoint);
  } catch (cause) {
    throw new AuditlogError('BAD_PROOF', 'tlog-proof: the checkpoint is not a signed note', { cause });
  }
  return { ...(p.extra ? { extra: p.extra } : {}), index, inclusionProof, checkpoint };
}

/**
 * The tlog-proof of a receipt, with the entry (when the receipt keeps it) as extra data.
 * An upgrade is not representable in tlog-proof@v1 and is left out; fetch a fresh inclusion proof
 * against the newer checkpoint instead.
 */
export function receiptToTlogProof(r: Receipt): TlogProof {
  return {
    ...(r.entry !== undefined ? { extra: r.entry } : {}),
    index: r.index,
    inclusionProof: r.inclusionProof,
    checkpoint: r.checkpoint,
  };
}

/**
 * A receipt from a tlog-proof. The leaf hash is that of `entry` if given, else of the extra data.
 * Origin and tree size are read from the checkpoint body (verifyReceipt checks its signature).
 * @throws AuditlogError 'BAD_PROOF' (no entry and no extra), 'BAD_NOTE', 'BAD_CHECKPOINT'.
 */
export function receiptFromTlogProof(p: TlogProof, entry?: Uint8Array): Receipt {
  const data = entry ?? p.extra;
  if (data === undefined) fail('no extra data and no entry given: cannot compute the leaf hash');
  const cp = parseCheckpoint(parseNote(p.checkpoint).text);
  return {
    origin: cp.origin,
    index: p.index,
    treeSize: cp.size,
    leafHash: portableHasher.hashLeaf(data),
    inclusionProof: p.inclusionProof,
    checkpoint: p.checkpoint,
    entry: data,
  };
}
