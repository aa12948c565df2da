/**
 * The C2SP tlog-witness v1 wire formats: the add-checkpoint request body, the 409
 * `text/x.tlog.size` body, and the cosignature lines of a 200 answer. Both sides (the witness
 * and the log's pusher) use these, so the two cannot drift apart.
 */
import { AuditlogError } from '../errors.js';
import { parseCanonicalUint64 } from '../note/checkpoint.js';
import { verifyCosignature } from '../note/cosignature.js';
import { decodeBase64, encodeBase64 } from '../note/encoding.js';
import type { VerifierKey } from '../note/keys.js';
import { formatSignatureLine, isSignatureBy, type NoteSignature, parseNote } from '../note/note.js';

/** A client MUST NOT send more consistency proof lines than this. */
export const MAX_PROOF_LINES = 63;
/** Largest add-checkpoint body the witness reads: the proof plus a checkpoint with many cosignatures. */
export const MAX_ADD_CHECKPOINT_BYTES = 128 * 1024;
/** The media type of the 409 answer that carries the witness's size. */
export const TLOG_SIZE_TYPE = 'text/x.tlog.size';

export interface AddCheckpointRequest {
  oldSize: bigint;
  proof: Uint8Array[];
  /** The signed checkpoint note, verbatim. */
  note: string;
}

function fail(message: string): never {
  throw new AuditlogError('BAD_REQUEST', `add-checkpoint: ${message}`);
}

/**
 * Parses an add-checkpoint body strictly: `old <canonical decimal>\n`, at most 63 lines each the
 * canonical base64 of a 32-byte hash, an empty line, then the rest as the signed note (its syntax
 * and signatures are checked by the caller).
 * @throws AuditlogError('BAD_REQUEST')
 */
export function parseAddCheckpoint(body: string): AddCheckpointRequest {
  if (body.length > MAX_ADD_CHECKPOINT_BYTES) fail('body too large');
  const blank = body.indexOf('\n\n');
  if (blank < 0) fail('no empty line before the checkpoint');
  const head = body.slice(0, blank).split('\n');
  const note = body.slice(blank + 2);
  const first = head[0]!;
  if (!first.startsWith('old ')) fail('first line must be "old <size>"');
  const oldSize = parseCanonicalUint64(first.slice(4));
  if (oldSize === null) fail('old size is not a canonical decimal');
  const lines = head.slice(1);
  if (lines.length > MAX_PROOF_LINES) fail(`more than ${MAX_PROOF_LINES} proof lines`);
  const proof = lines.map((line, i) => {
    let h: Uint8Array;
    try {
      h = decodeBase64(line, 'BAD_REQUEST', `proof line ${i + 1}`);
    } catch (cause) {
      throw new AuditlogError('BAD_REQUEST', `add-checkpoint: proof line ${i + 1} is not canonical base64`, {
        cause,
      });
    }
    if (h.length !== 32) fail(`proof line ${i + 1} is not a 32-byte hash`);
    return h;
  });
  if (note === '') fail('no checkpoint');
  return { oldSize, proof, note };
}

/** Formats an add-checkpoint body. Precondition: at most 63 32-byte hashes, a signed note. */
export function formatAddCheckpoint(req: AddCheckpointRequest): string {
  let out = `old ${req.oldSize.toString()}\n`;
  for (const h of req.proof) out += `${encodeBase64(h)}\n`;
  return `${out}\n${req.note}`;
}

/** The body of a 409 answer carrying the witness's latest cosigned size. */
export function formatTlogSize(size: bigint): string {
  return `${size.toString()}\n`;
}

/**
 * Parses a `text/x.tlog.size` body: a canonical decimal and one newline.
 * @throws AuditlogError('BAD_REQUEST')
 */
export function parseTlogSize(body: string): bigint {
  const n = body.endsWith('\n') ? parseCanonicalUint64(body.slice(0, -1)) : null;
  if (n === null) throw new AuditlogError('BAD_REQUEST', 'tlog size: want a canonical decimal and a newline');
  return n;
}

/** The body of a 200 answer: one signature line per cosignature. */
export function formatCosignatureLines(sigs: readonly NoteSignature[]): string {
  return sigs.map(formatSignatureLine).join('');
}

/**
 * Reads a witness's 200 answer: appends it to the checkpoint text (as the spec suggests), keeps
 * only the signature by `witnessKey`, and verifies it.
 * @returns the verified cosignature.
 * @throws AuditlogError 'BAD_NOTE' (malformed lines), 'UNKNOWN_KEY' (no line by this witness),
 *   'BAD_SIGNATURE' (invalid cosignature).
 */
export function readCosignature(
  checkpointNote: string,
  answer: string,
  witnessKey: VerifierKey,
): NoteSignature {
  if (!answer.endsWith('\n') || !answer.startsWith('\u2014 ')) {
    throw new AuditlogError('BAD_NOTE', 'witness answer is not signature lines');
  }
  // The note text with only the answer's lines, so a cosignature already on the note cannot clash.
  const note = parseNote(`${parseNote(checkpointNote).text}\n${answer}`);
  const by = note.signatures.filter((s) => isSignatureBy(s, witnessKey));
  if (by.length > 1) throw new AuditlogError('BAD_NOTE', `two cosignature lines by ${witnessKey.name}`);
  const sig = by[0];
  if (sig === undefined) throw new AuditlogError('UNKNOWN_KEY', `no cosignature by ${witnessKey.name}`);
  verifyCosignature(note.text, sig, witnessKey);
  return sig;
}
