/**
 * Signed notes (c2sp.org/signed-note): parsing, formatting, signing and verification.
 * Browser-safe (the Signer is imported as a type only).
 */
import { AuditlogError } from '../errors.js';
import { verifyCosignatureBytes } from './cosignature.js';
import { verifyEd25519 } from './ed25519.js';
import {
  bytesEqual,
  concatBytes,
  decodeBase64,
  encodeBase64,
  fromUtf8,
  hasLoneSurrogate,
  utf8,
} from './encoding.js';
import {
  isValidKeyName,
  keyId,
  SIG_TYPE_COSIGNATURE_V1,
  SIG_TYPE_ED25519,
  type VerifierKey,
} from './keys.js';
import type { Signer } from './signer.js';

/** The largest note we parse, in UTF-8 bytes. */
export const MAX_NOTE_BYTES = 256 * 1024;
/** The most signature lines we parse (the spec requires accepting at least 16). */
export const MAX_SIGNATURES = 100;

/** One signature line. */
export interface NoteSignature {
  name: string;
  keyId: Uint8Array; // 4 bytes
  signature: Uint8Array; // the bytes after the key ID
}

/** A parsed note: its text (ending in newline) and all its signatures, known or not. */
export interface Note {
  text: string;
  signatures: NoteSignature[];
}

const SIG_PREFIX = '\u2014 ';
const BAD_CONTROL = /[\u0000-\u0009\u000b-\u001f]/;

function fail(message: string): never {
  throw new AuditlogError('BAD_NOTE', message);
}

/**
 * Checks `text` is valid note text: non-empty, ends in newline, valid Unicode, no control
 * characters other than newline.
 * @throws AuditlogError('BAD_NOTE')
 */
export function checkNoteText(text: string): void {
  if (!text.endsWith('\n')) fail('note text must end with a newline');
  if (BAD_CONTROL.test(text)) fail('note text contains a control character');
  if (hasLoneSurrogate(text)) fail('note text is not valid Unicode');
}

/**
 * Parses a signed note strictly. Signatures by unknown keys are kept; nothing is verified here.
 * Rejects: more than MAX_NOTE_BYTES, invalid Unicode, control characters other than newline, no
 * blank line, no signature lines, a last line without newline, a line not of the form
 * `— <name> <base64>`, invalid key names, non-canonical base64, signatures shorter than 5 bytes,
 * and more than MAX_SIGNATURES lines. Two lines with the same key name and key ID are kept (a
 * verifier must ignore signatures by keys it does not know, repeated or not); `verifyNote`
 * refuses a note with two by a key it does know.
 * @throws AuditlogError('BAD_NOTE')
 */
export function parseNote(s: string): Note {
  if (s.length > MAX_NOTE_BYTES || utf8(s).length > MAX_NOTE_BYTES) fail('note too large');
  if (hasLoneSurrogate(s)) fail('note is not valid Unicode');
  if (BAD_CONTROL.test(s)) fail('note contains a control character');
  const split = s.lastIndexOf('\n\n');
  if (split < 0) fail('note has no blank line before its signatures');
  const text = s.slice(0, split + 1);
  const sigs = s.slice(split + 2);
  if (sigs === '') fail('note has no signatures');
  if (!sigs.endsWith('\n')) fail('note must end with a newline');
  const lines = sigs.slice(0, -1).split('\n');
  if (lines.length > MAX_SIGNATURES) fail('too many signatures');
  const signatures: NoteSignature[] = [];
  for (const line of lines) {
    if (!line.startsWith(SIG_PREFIX)) fail('signature line must start with an em dash and a space');
    const rest = line.slice(SIG_PREFIX.length);
    const space = rest.indexOf(' ');
    if (space < 0) fail('signature line must have a name and a signature');
    const name = rest.slice(0, space);
    if (!isValidKeyName(name)) fail(`invalid key name in signature line`);
    let bytes: Uint8Array;
    try {
      bytes = decodeBase64(rest.slice(space + 1), 'BAD_NOTE', 'signature');
    } catch (cause) {
      throw new AuditlogError('BAD_NOTE', 'signature is not canonical base64', { cause });
    }
    if (bytes.length < 5) fail('signature too short');
    signatures.push({ name, keyId: bytes.slice(0, 4), signature: bytes.slice(4) });
  }
  return { text, signatures };
}

/** Parses a note from bytes (strict UTF-8 first). @throws AuditlogError('BAD_NOTE') */
export function parseNoteBytes(bytes: Uint8Array): Note {
  if (bytes.length > MAX_NOTE_BYTES) fail('note too large');
  return parseNote(fromUtf8(bytes, 'BAD_NOTE'));
}

/** Formats one signature line, including its newline. */
export function formatSignatureLine(sig: NoteSignature): string {
  return `${SIG_PREFIX}${sig.name} ${encodeBase64(concatBytes(sig.keyId, sig.signature))}\n`;
}

/**
 * Formats a note: text, blank line, one line per signature.
 * Precondition: valid text and at least one signature (checked; throws BAD_NOTE).
 */
export function formatNote(n: Note): string {
  checkNoteText(n.text);
  if (n.signatures.length === 0) fail('a note needs at least one signature');
  let out = `${n.text}\n`;
  for (const sig of n.signatures) {
    if (!isValidKeyName(sig.name)) fail('invalid key name');
    if (sig.keyId.length !== 4) fail('key id must be 4 bytes');
    out += formatSignatureLine(sig);
  }
  return out;
}

/** Key IDs of signers already seen, with the name and key they were computed from. */
const signerKeyIds = new WeakMap<Signer, { name: string; publicKey: Uint8Array; keyId: Uint8Array }>();

/**
 * The signer's Ed25519 key ID, computed once per signer: the log signs a checkpoint per batch,
 * and hashing the key's name and bytes again each time was ~1.5% of the append path's CPU
 * (bench/README.md). Recomputed if the signer's name or key object is not the one cached.
 */
function signerKeyId(s: Signer): Uint8Array {
  const c = signerKeyIds.get(s);
  if (c && c.name === s.name && c.publicKey === s.publicKey) return c.keyId;
  const id = keyId(s.name, SIG_TYPE_ED25519, s.publicKey);
  signerKeyIds.set(s, { name: s.name, publicKey: s.publicKey, keyId: id });
  return id;
}

/**
 * Signs `text` with each signer (Ed25519, type 0x01) and returns the signed note.
 * @throws AuditlogError('BAD_NOTE') on invalid text or no signers.
 */
export async function signNote(text: string, signers: readonly Signer[]): Promise<string> {
  checkNoteText(text);
  if (signers.length === 0) fail('no signers');
  const message = utf8(text);
  const signatures = await Promise.all(
    signers.map(
      async (s): Promise<NoteSignature> => ({
        name: s.name,
        keyId: signerKeyId(s),
        signature: await s.sign(message),
      }),
    ),
  );
  return formatNote({ text, signatures });
}

/** True when `sig` is by `key` (same name and key ID); says nothing about validity. */
export function isSignatureBy(sig: NoteSignature, key: VerifierKey): boolean {
  return sig.name === key.name && bytesEqual(sig.keyId, key.keyId);
}

/**
 * Checks one signature of `text` by `key` (either type). Precondition: isSignatureBy(sig, key).
 * @returns true when valid.
 */
export function checkSignature(text: string, sig: NoteSignature, key: VerifierKey): boolean {
  if (key.type === SIG_TYPE_ED25519) return verifyEd25519(key.publicKey, utf8(text), sig.signature);
  if (key.type === SIG_TYPE_COSIGNATURE_V1) return verifyCosignatureBytes(text, sig.signature, key) !== null;
  return false;
}

/**
 * Parses `s` and verifies every signature made by one of `verifiers` (matched on name and key ID;
 * others are ignored but kept in `note.signatures`).
 * @returns the note and the verifiers whose signatures verified, in the order of `verifiers`.
 * @throws AuditlogError 'BAD_NOTE' (parse, or two lines by one of the verifiers' keys: one could
 *   shadow the other), 'BAD_SIGNATURE' (a known key's signature fails),
 *   'UNKNOWN_KEY' (no signature by any of the verifiers).
 */
export function verifyNote(
  s: string,
  verifiers: readonly VerifierKey[],
): { note: Note; verified: VerifierKey[] } {
  const note = parseNote(s);
  const verified: VerifierKey[] = [];
  for (const key of verifiers) {
    const by = note.signatures.filter((sg) => isSignatureBy(sg, key));
    if (by.length > 1) fail(`two signature lines by ${key.name}`);
    const sig = by[0];
    if (sig === undefined) continue;
    if (!checkSignature(note.text, sig, key)) {
      throw new AuditlogError('BAD_SIGNATURE', `invalid signature by ${key.name}`);
    }
    if (!verified.includes(key)) verified.push(key);
  }
  if (verified.length === 0) throw new AuditlogError('UNKNOWN_KEY', 'no signature by a known key');
  return { note, verified };
}

/**
 * Appends signatures (e.g. witness cosignatures) to a signed note, keeping the existing ones.
 * A signature with the same key name and key ID as an existing one replaces it.
 * @throws AuditlogError('BAD_NOTE') when `noteText` does not parse.
 */
export function addSignatures(noteText: string, sigs: readonly NoteSignature[]): string {
  const note = parseNote(noteText);
  const signatures = note.signatures.filter(
    (old) => !sigs.some((s) => s.name === old.name && bytesEqual(s.keyId, old.keyId)),
  );
  return formatNote({ text: note.text, signatures: [...signatures, ...sigs] });
}
