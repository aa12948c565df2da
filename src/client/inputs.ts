/**
 * Loading verification inputs from the command line or files: a vkey given inline or as a file,
 * a policy file, a receipt file in either format (receipt JSON or .tlog-proof). Node-only.
 */
import { randomBytes } from 'node:crypto';
import { open, readFile, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { AuditlogError } from '../errors.js';
import { fromUtf8 } from '../note/encoding.js';
import { parseVerifierKey, type VerifierKey } from '../note/keys.js';
import { type Policy, parsePolicyBytes } from './policy.js';
import { parseReceiptText, type Receipt } from './receipt.js';
import { parseTlogProof, receiptFromTlogProof, TLOG_PROOF_HEADER } from './tlog-proof.js';

/** Largest input file read (receipts, proofs, policies, keys). */
export const MAX_INPUT_BYTES = 4 * 1024 * 1024;
/** Largest receipt file (JSON lines) read by loadReceipts. */
export const MAX_RECEIPT_FILE_BYTES = 256 * 1024 * 1024;

/** Reads a file of at most `max` bytes. @throws AuditlogError NOT_FOUND / TOO_LARGE */
export async function readInputFile(path: string, max = MAX_INPUT_BYTES): Promise<Uint8Array> {
  let fh: Awaited<ReturnType<typeof open>>;
  try {
    fh = await open(path, 'r');
  } catch (cause) {
    throw new AuditlogError(
      'NOT_FOUND',
      `cannot read ${path}: ${(cause as NodeJS.ErrnoException).code ?? cause}`,
      {
        cause,
      },
    );
  }
  try {
    const { size } = await fh.stat();
    if (size > max) throw new AuditlogError('TOO_LARGE', `${path} is larger than ${max} bytes`);
    return new Uint8Array(await fh.readFile());
  } finally {
    await fh.close();
  }
}

/**
 * A verifier key given inline (`name+id+key`) or as the path of a file holding one (first
 * non-empty line).
 * @throws AuditlogError('BAD_KEY')
 */
export async function loadVerifierKey(value: string): Promise<VerifierKey> {
  try {
    return parseVerifierKey(value.trim());
  } catch (err) {
    let text: string;
    try {
      text = fromUtf8(await readFile(value), 'BAD_KEY');
    } catch {
      throw err;
    }
    const line = text.split('\n').find((l) => l.trim() !== '');
    if (line === undefined) throw new AuditlogError('BAD_KEY', `${value} holds no vkey`);
    return parseVerifierKey(line.trim());
  }
}

/** A tlog-policy file. @throws AuditlogError('BAD_REQUEST') */
export async function loadPolicy(path: string): Promise<Policy> {
  return parsePolicyBytes(await readInputFile(path));
}

/**
 * A receipt from a receipt JSON file or a `.tlog-proof` file (recognised by its first line);
 * `entry` supplies the logged bytes when a tlog-proof carries no extra data.
 */
export async function loadReceipt(path: string, entry?: Uint8Array): Promise<Receipt> {
  const receipts = await loadReceipts(path, entry);
  if (receipts.length !== 1)
    throw new AuditlogError('BAD_REQUEST', `${path} holds ${receipts.length} receipts, not one`);
  return receipts[0]!;
}

/**
 * The receipts of a file: one receipt JSON, one `.tlog-proof`, or a receipt file (JSON lines, as
 * ReceiptFile writes; a complete line that is not a receipt is an error naming the line; a torn
 * last line without newline is an error too, since verification must not skip anything silently).
 * `entry` applies to a single receipt only.
 */
export async function loadReceipts(path: string, entry?: Uint8Array): Promise<Receipt[]> {
  const text = fromUtf8(await readInputFile(path, MAX_RECEIPT_FILE_BYTES));
  if (text.startsWith(`${TLOG_PROOF_HEADER}\n`)) return [receiptFromTlogProof(parseTlogProof(text), entry)];
  let single: unknown;
  try {
    single = JSON.parse(text);
  } catch {
    single = undefined;
  }
  if (single !== undefined) {
    const r = parseReceiptText(text);
    if (entry !== undefined) r.entry = entry;
    return [r];
  }
  if (entry !== undefined) throw new AuditlogError('BAD_REQUEST', '--entry applies to a single receipt');
  const lines = text.split('\n');
  if (lines[lines.length - 1] !== '')
    throw new AuditlogError('BAD_REQUEST', `${path}: last line is incomplete`);
  lines.pop();
  return lines.map((line, i) => {
    try {
      return parseReceiptText(line);
    } catch (cause) {
      throw new AuditlogError('BAD_REQUEST', `${path}:${i + 1}: ${(cause as Error).message}`, { cause });
    }
  });
}

const EXPLAIN: Partial<Record<string, string>> = {
  ROOT_MISMATCH: 'the proof does not lead to the signed root (tampered proof, index, leaf hash or entry)',
  BAD_PROOF: 'malformed proof',
  LEAF_MISMATCH: 'leaf hash mismatch: the entry does not hash to the leaf hash',
  UNKNOWN_KEY: 'not signed by the given log key (wrong key or wrong log?)',
  BAD_SIGNATURE: 'bad signature (tampered checkpoint or signature)',
  BAD_NOTE: 'malformed signed checkpoint',
  BAD_CHECKPOINT: 'malformed checkpoint',
  BAD_KEY: 'bad verifier key',
  QUORUM_NOT_MET: 'witness quorum not met',
  INCONSISTENT: 'the log forked: two signed checkpoints cannot both be true',
  ROLLBACK: 'the log went back to a smaller tree',
  BAD_REQUEST: 'bad input',
  UNAVAILABLE: 'the log could not be reached',
};

/** One line saying what failed: `CODE: explanation: detail`. */
export function describeFailure(err: unknown): string {
  if (err instanceof AuditlogError) {
    const why = EXPLAIN[err.code];
    return why ? `${err.code}: ${why}: ${err.message}` : `${err.code}: ${err.message}`;
  }
  return `INTERNAL: ${err instanceof Error ? err.message : String(err)}`;
}

/**
 * Replaces `file` with `data`, durably and atomically, readable by its owner only (0600, as the
 * SDK's receipt files): the bytes go to a new file beside it (created exclusively), which is
 * fsynced and renamed over `file`, and the directory is fsynced. A crash leaves either the old
 * file or the new one, never a truncated mix; this matters for `verify FILE --out FILE`, which
 * upgrades a receipt file in place. A stray `.<name>.<random>.tmp` may remain after a crash.
 * Receipts may carry entry bytes, so they get the same mode as a receipt file.
 * @throws the fs error (the temporary file is removed)
 */
export async function writeFileDurably(file: string, data: string | Uint8Array): Promise<void> {
  const tmp = join(dirname(file), `.${basename(file)}.${randomBytes(6).toString('hex')}.tmp`);
  const fh = await open(tmp, 'wx', 0o600);
  try {
    try {
      await fh.writeFile(data);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, file);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
  const dir = await open(dirname(file), 'r');
  try {
    await dir.sync();
  } finally {
    await dir.close();
  }
}

/**
 * Checks, before anything irreversible is done, that `file` can be written by writeFileDurably:
 * its directory exists and `file` is not a directory.
 * @throws AuditlogError BAD_REQUEST naming the problem
 */
export async function checkOutputPath(file: string): Promise<void> {
  const dir = await stat(dirname(file)).catch(() => undefined);
  if (!dir?.isDirectory()) throw new AuditlogError('BAD_REQUEST', `${file}: its directory does not exist`);
  const st = await stat(file).catch(() => undefined);
  if (st?.isDirectory()) throw new AuditlogError('BAD_REQUEST', `${file} is a directory`);
}

/** Largest token file read. */
const MAX_TOKEN_FILE_BYTES = 4096;

/**
 * Reads a bearer token from a file: its first line, without the line ending. The file must be
 * readable by its owner only, as ssh asks of private keys: a token readable by others is leaked.
 * @throws AuditlogError NOT_FOUND / TOO_LARGE, FORBIDDEN (mode allows group or others),
 *   BAD_REQUEST (empty)
 */
export async function readTokenFile(file: string): Promise<string> {
  const st = await stat(file).catch(() => undefined);
  if (st === undefined) throw new AuditlogError('NOT_FOUND', `cannot read ${file}`);
  if ((st.mode & 0o077) !== 0) {
    throw new AuditlogError('FORBIDDEN', `${file} is readable by group or others; chmod 600 it`);
  }
  const text = fromUtf8(await readInputFile(file, MAX_TOKEN_FILE_BYTES));
  const token = text.split(/\r?\n/, 1)[0]!.trim();
  if (token === '') throw new AuditlogError('BAD_REQUEST', `${file} holds no token`);
  return token;
}

/** Reads all of stdin, up to `max` bytes. */
export async function readStdin(max: number): Promise<Uint8Array> {
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of process.stdin) {
    total += (chunk as Buffer).length;
    if (total > max) throw new AuditlogError('TOO_LARGE', `stdin is larger than ${max} bytes`);
    chunks.push(chunk as Buffer);
  }
  return new Uint8Array(Buffer.concat(chunks));
}

/** Parses a leaf hash given as 64 hex digits or canonical base64 of 32 bytes. */
export function parseHashArg(s: string): Uint8Array {
  if (/^[0-9a-fA-F]{64}$/.test(s)) return new Uint8Array(Buffer.from(s, 'hex'));
  const b = Buffer.from(s, 'base64');
  if (b.length !== 32 || b.toString('base64') !== s) {
    throw new AuditlogError('BAD_REQUEST', 'hash must be 64 hex digits or base64 of 32 bytes');
  }
  return new Uint8Array(b);
}
