/**
 * Parsers of the witness, monitor and log-side flags that name a log or a witness:
 *   --log VKEY[=URL]     a log by its verifier key (type 0x01), optionally where to poll it
 *   --log-origin VKEY=ORIGIN   the origin of the log whose key is VKEY, when not its key name
 *   --witness URL=VKEY   a witness by its submission URL and verifier key (type 0x04)
 *   --peer URL           another witness to gossip with
 *   --pin ORIGIN:SIZE:ROOT / --pin-checkpoint FILE   a witness's starting checkpoint for a log
 * Strict: keys must parse, URLs must be absolute http(s) without credentials, fragments or queries.
 */
import { readTokenFile } from '../client/inputs.js';
import { AuditlogError } from '../errors.js';
import { checkOrigin, parseCanonicalUint64, parseCheckpoint } from '../note/checkpoint.js';
import { bytesEqual, decodeBase64 } from '../note/encoding.js';
import {
  parseVerifierKey,
  SIG_TYPE_COSIGNATURE_V1,
  SIG_TYPE_ED25519,
  type VerifierKey,
} from '../note/keys.js';
import { parseNote } from '../note/note.js';
import type { PinnedCheckpoint, WitnessedLog } from './witness.js';

function bad(message: string): never {
  throw new AuditlogError('BAD_REQUEST', message);
}

/**
 * Checks an http(s) base URL and returns it without a trailing slash.
 * @throws AuditlogError('BAD_REQUEST')
 */
export function parseBaseUrl(s: string, what = 'URL'): string {
  let u: URL;
  try {
    u = new URL(s);
  } catch {
    return bad(`${what} ${JSON.stringify(s)} is not a URL`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') bad(`${what} must be http or https`);
  if (u.username !== '' || u.password !== '') bad(`${what} must not carry credentials`);
  if (u.search !== '' || u.hash !== '' || s.includes('?') || s.includes('#')) {
    bad(`${what} must not have a query or fragment`);
  }
  return s.replace(/\/+$/, '');
}

function keyOfType(s: string, type: number, what: string): VerifierKey {
  let k: VerifierKey;
  try {
    k = parseVerifierKey(s);
  } catch (e) {
    return bad(`${what}: ${(e as Error).message}`);
  }
  if (k.type !== type) bad(`${what} must have signature type 0x0${type}`);
  return k;
}

/**
 * Checks a webhook URL: absolute http(s), no credentials or fragment (a query is allowed).
 * @throws AuditlogError('BAD_REQUEST')
 */
export function parseWebhookUrl(s: string): string {
  let u: URL;
  try {
    u = new URL(s);
  } catch {
    return bad(`webhook ${JSON.stringify(s)} is not a URL`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') bad('webhook must be http or https');
  if (u.username !== '' || u.password !== '' || u.hash !== '')
    bad('webhook must not carry credentials or a fragment');
  return s;
}

/**
 * Parses `VKEY` or `VKEY=URL`. A vkey is `<name>+<8 hex>+<44 base64 chars>` (33 bytes, so no
 * padding): the URL starts right after it.
 * @throws AuditlogError('BAD_REQUEST')
 */
export function parseLogFlag(s: string): { key: VerifierKey; url?: string } {
  const p1 = s.indexOf('+');
  const p2 = p1 < 0 ? -1 : s.indexOf('+', p1 + 1);
  if (p2 < 0) bad('--log wants VKEY[=URL]');
  const end = p2 + 1 + 44;
  const key = keyOfType(s.slice(0, end), SIG_TYPE_ED25519, '--log key');
  if (end === s.length) return { key };
  if (s[end] !== '=') bad('--log wants VKEY[=URL]');
  return { key, url: parseBaseUrl(s.slice(end + 1), '--log URL') };
}

/**
 * Parses `--log-origin VKEY=ORIGIN`: a log key (type 0x01) and the origin line of the log's
 * checkpoints, when it is not the key's name. The vkey has a fixed shape (see parseLogFlag), so
 * everything after the `=` that ends it is the origin, which may contain `=`, `+`, `:` and spaces
 * (the Go checksum database's is `go.sum database tree`). The origin must be a valid checkpoint
 * origin line: non-empty, no control character, valid Unicode.
 * @throws AuditlogError('BAD_REQUEST')
 */
export function parseLogOriginFlag(s: string): { key: VerifierKey; origin: string } {
  const p1 = s.indexOf('+');
  const p2 = p1 < 0 ? -1 : s.indexOf('+', p1 + 1);
  if (p2 < 0) bad('--log-origin wants VKEY=ORIGIN');
  const end = p2 + 1 + 44;
  const key = keyOfType(s.slice(0, end), SIG_TYPE_ED25519, '--log-origin key');
  if (s[end] !== '=') bad('--log-origin wants VKEY=ORIGIN');
  const origin = s.slice(end + 1);
  try {
    checkOrigin(origin);
  } catch (e) {
    return bad(`--log-origin: ${(e as Error).message}`);
  }
  return { key, origin };
}

/** Same key: name, key ID and public key. */
function sameKey(a: VerifierKey, b: VerifierKey): boolean {
  return a.name === b.name && bytesEqual(a.keyId, b.keyId) && bytesEqual(a.publicKey, b.publicKey);
}

/**
 * Gives each `--log` its origin: the one a `--log-origin` names for its key, else the key name.
 * @throws AuditlogError('BAD_REQUEST') when a `--log-origin` names a key no `--log` gives, or two
 *   name one key.
 */
export function applyLogOrigins(
  logs: readonly { key: VerifierKey; url?: string }[],
  origins: readonly { key: VerifierKey; origin: string }[],
): WitnessedLog[] {
  for (const [i, o] of origins.entries()) {
    if (!logs.some((l) => sameKey(l.key, o.key)))
      bad(`--log-origin names the key of ${o.key.name}, which no --log gives`);
    if (origins.slice(0, i).some((p) => sameKey(p.key, o.key)))
      bad(`two --log-origin for the key of ${o.key.name}`);
  }
  return logs.map((l) => {
    const o = origins.find((p) => sameKey(p.key, l.key));
    return o === undefined ? { ...l } : { ...l, origin: o.origin };
  });
}

/**
 * Gives each `--log` with a URL the bearer token of the `--log-token URL=FILE` naming that URL
 * (a log served with --private-reads answers reads without a token 401). Each FILE is read with
 * readTokenFile (mode 0600, its first line). The URL is everything before the first `=` and is
 * compared after the same normalization as --log's (trailing slashes dropped).
 * @throws AuditlogError BAD_REQUEST (no `=`, a URL no --log gives, two for one URL), and
 *   readTokenFile's errors (FORBIDDEN for a file others may read)
 */
export async function applyLogTokens<L extends { url?: string }>(
  logs: readonly L[],
  flags: readonly string[],
): Promise<(L & { token?: string })[]> {
  const byUrl = new Map<string, string>();
  for (const f of flags) {
    const eq = f.indexOf('=');
    if (eq < 0) bad('--log-token wants URL=FILE');
    const url = parseBaseUrl(f.slice(0, eq), '--log-token URL');
    if (!logs.some((l) => l.url === url)) bad(`--log-token names ${url}, which no --log gives`);
    if (byUrl.has(url)) bad(`two --log-token for ${url}`);
    byUrl.set(url, await readTokenFile(f.slice(eq + 1)));
  }
  return logs.map((l) => {
    const token = l.url === undefined ? undefined : byUrl.get(l.url);
    return token === undefined ? { ...l } : { ...l, token };
  });
}

/**
 * Parses `URL=VKEY` (the vkey is everything after the last '=' that leaves a valid vkey).
 * @throws AuditlogError('BAD_REQUEST')
 */
export function parseWitnessFlag(s: string): { url: string; key: VerifierKey } {
  let why = '--witness wants URL=VKEY';
  for (let i = s.indexOf('='); i >= 0; i = s.indexOf('=', i + 1)) {
    const rest = s.slice(i + 1);
    if (!/^[^+]+\+[0-9a-f]{8}\+[A-Za-z0-9+/]{44}$/.test(rest)) continue;
    try {
      const key = keyOfType(rest, SIG_TYPE_COSIGNATURE_V1, '--witness key');
      return { url: parseBaseUrl(s.slice(0, i), '--witness URL'), key };
    } catch (e) {
      why = (e as Error).message;
    }
  }
  return bad(why);
}

/**
 * A positive integer of milliseconds.
 * @throws AuditlogError('BAD_REQUEST')
 */
export function parseMs(s: string | undefined, dflt: number, what: string): number {
  if (s === undefined) return dflt;
  if (!/^[1-9][0-9]{0,9}$/.test(s)) bad(`${what} must be a positive integer`);
  return Number(s);
}

/**
 * Parses `--pin ORIGIN:SIZE:ROOT`: the origin (which may itself contain ':'), a canonical decimal
 * size of at least 1, and the canonical base64 of a 32-byte root. Read from the right, since
 * neither a size nor base64 contains ':'.
 * @throws AuditlogError('BAD_REQUEST')
 */
export function parsePinFlag(s: string): PinnedCheckpoint {
  const j = s.lastIndexOf(':');
  const i = j < 0 ? -1 : s.lastIndexOf(':', j - 1);
  if (i <= 0) bad('--pin wants ORIGIN:SIZE:ROOT');
  const size = parseCanonicalUint64(s.slice(i + 1, j));
  if (size === null || size === 0n) bad('--pin size must be a canonical decimal of at least 1');
  let root: Uint8Array;
  try {
    root = decodeBase64(s.slice(j + 1), 'BAD_REQUEST', '--pin root');
  } catch {
    return bad('--pin root is not canonical base64');
  }
  if (root.length !== 32) bad('--pin root must be 32 bytes');
  return { origin: s.slice(0, i), size, root };
}

/**
 * Parses the content of a `--pin-checkpoint` file: a signed checkpoint note (its signature is
 * checked against the log's keys when the witness opens).
 * @throws AuditlogError 'BAD_NOTE' (not a signed note), 'BAD_CHECKPOINT' (not a checkpoint, or
 *   size 0).
 */
export function parsePinFile(text: string): PinnedCheckpoint {
  const cp = parseCheckpoint(parseNote(text).text);
  if (cp.size === 0n)
    throw new AuditlogError('BAD_CHECKPOINT', 'a pinned checkpoint must have size 1 or more');
  return { origin: cp.origin, size: cp.size, root: cp.root, note: text };
}
