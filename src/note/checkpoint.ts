/**
 * Checkpoints (c2sp.org/tlog-checkpoint): origin, tree size, root hash, optional extension lines.
 * Browser-safe.
 */
import { AuditlogError } from '../errors.js';
import { decodeBase64, encodeBase64, hasLoneSurrogate } from './encoding.js';
import { SIG_TYPE_ED25519, type VerifierKey } from './keys.js';
import { type Note, signNote, verifyNote } from './note.js';
import type { Signer } from './signer.js';

/** A tree head. `size` fits in a uint64; `root` is 32 bytes. */
export interface Checkpoint {
  origin: string;
  size: bigint;
  root: Uint8Array;
  extensions: string[];
}

const MAX_UINT64 = 2n ** 64n - 1n;
const CONTROL = /[\u0000-\u001f]/;

function fail(message: string): never {
  throw new AuditlogError('BAD_CHECKPOINT', message);
}

/**
 * Parses a canonical decimal uint64: digits only, no sign, no leading zeros (except "0"), at most
 * 2^64-1. Exported for the other strict parsers of sizes and indexes.
 * @returns the value, or null when `s` is not canonical.
 */
export function parseCanonicalUint64(s: string): bigint | null {
  if (!/^(?:0|[1-9][0-9]{0,19})$/.test(s)) return null;
  const n = BigInt(s);
  return n <= MAX_UINT64 ? n : null;
}

function checkLine(line: string, what: string): void {
  if (line.length === 0) fail(`${what} is empty`);
  if (CONTROL.test(line)) fail(`${what} contains a control character`);
  if (hasLoneSurrogate(line)) fail(`${what} is not valid Unicode`);
}

/**
 * Checks that `origin` can be a checkpoint's origin line: non-empty, no control character, valid
 * Unicode (the rules parseCheckpoint applies to it).
 * @throws AuditlogError('BAD_CHECKPOINT')
 */
export function checkOrigin(origin: string): void {
  checkLine(origin, 'origin');
}

/**
 * Formats a checkpoint body (the note text).
 * @throws AuditlogError('BAD_CHECKPOINT') on an empty origin or extension line, control characters,
 *   a size outside uint64 or a root that is not 32 bytes.
 */
export function formatCheckpoint(c: Checkpoint): string {
  checkLine(c.origin, 'origin');
  if (c.size < 0n || c.size > MAX_UINT64) fail('size out of range');
  if (c.root.length !== 32) fail('root must be 32 bytes');
  for (const e of c.extensions) checkLine(e, 'extension line');
  let out = `${c.origin}\n${c.size.toString()}\n${encodeBase64(c.root)}\n`;
  for (const e of c.extensions) out += `${e}\n`;
  return out;
}

/**
 * Parses a checkpoint body strictly: at least three lines each ending in newline, a non-empty
 * origin, a canonical decimal uint64 size, a root that is canonical base64 of exactly 32 bytes,
 * non-empty extension lines, no control characters.
 * @throws AuditlogError('BAD_CHECKPOINT')
 */
export function parseCheckpoint(body: string): Checkpoint {
  if (!body.endsWith('\n')) fail('checkpoint must end with a newline');
  const lines = body.slice(0, -1).split('\n');
  if (lines.length < 3) fail('checkpoint needs origin, size and root lines');
  const [origin, sizeLine, rootLine, ...extensions] = lines as [string, string, string, ...string[]];
  checkLine(origin, 'origin');
  const size = parseCanonicalUint64(sizeLine);
  if (size === null) fail('size is not a canonical decimal uint64');
  let root: Uint8Array;
  try {
    root = decodeBase64(rootLine, 'BAD_CHECKPOINT', 'root');
  } catch (cause) {
    throw new AuditlogError('BAD_CHECKPOINT', 'root is not canonical base64', { cause });
  }
  if (root.length !== 32) fail('root must be 32 bytes');
  for (const e of extensions) checkLine(e, 'extension line');
  return { origin, size, root, extensions };
}

/** Formats and signs a checkpoint; returns the signed note. */
export async function signCheckpoint(c: Checkpoint, signer: Signer): Promise<string> {
  return signNote(formatCheckpoint(c), [signer]);
}

/**
 * Verifies the log's signature on a checkpoint note and parses its body. Other signatures
 * (witnesses) are kept in `note.signatures` and not checked here.
 * @throws AuditlogError 'BAD_NOTE', 'BAD_SIGNATURE', 'UNKNOWN_KEY' (no signature by the log key),
 *   'BAD_CHECKPOINT' (body, or origin different from the log key name), 'BAD_KEY' (not type 0x01).
 */
export function openCheckpoint(
  noteText: string,
  logKey: VerifierKey,
): { checkpoint: Checkpoint; note: Note } {
  if (logKey.type !== SIG_TYPE_ED25519)
    throw new AuditlogError('BAD_KEY', 'log key must have signature type 0x01');
  const { note } = verifyNote(noteText, [logKey]);
  const checkpoint = parseCheckpoint(note.text);
  if (checkpoint.origin !== logKey.name) fail('checkpoint origin does not match the log key name');
  return { checkpoint, note };
}
