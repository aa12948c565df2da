/**
 * Trust policies (c2sp.org/tlog-policy): which logs are accepted and which witness cosignatures a
 * checkpoint needs (the quorum). Parsing is strict; evaluation is a pure function of the set of
 * witnesses whose cosignatures verified. Browser-safe.
 */
import { AuditlogError } from '../errors.js';
import {
  parseVerifierKey,
  SIG_TYPE_COSIGNATURE_V1,
  SIG_TYPE_ED25519,
  type VerifierKey,
} from '../note/keys.js';
import { bytesEqual } from '../note/encoding.js';

/** A witness group: satisfied when at least `threshold` of its members are. */
export interface PolicyGroup {
  threshold: number;
  members: string[];
}

export interface Policy {
  logs: { key: VerifierKey; url?: string }[];
  witnesses: Map<string, { key: VerifierKey; url?: string }>;
  groups: Map<string, PolicyGroup>;
  /** A witness name, a group name, or 'none'. */
  quorum: string;
}

/** Limits on policy size (the spec asks for at least 32 of each). */
export const MAX_POLICY_LOGS = 256;
export const MAX_POLICY_WITNESSES = 256;
export const MAX_POLICY_GROUPS = 256;
export const MAX_POLICY_BYTES = 1024 * 1024;

function fail(line: number, message: string): never {
  throw new AuditlogError('BAD_REQUEST', `policy line ${line}: ${message}`);
}

/**
 * Parses a tlog-policy file from its bytes. tlog-policy leaves octets with the high bit set
 * opaque and compares names as octet strings, so a file that is not valid UTF-8 (a comment or a
 * name in another encoding) is not refused: it is read octet for octet (each byte one
 * character, U+0000..U+00FF), its names compared as such, and only its vkeys, which name note
 * keys and so must be UTF-8, decoded as UTF-8. A valid UTF-8 file reads as UTF-8.
 * @throws AuditlogError('BAD_REQUEST') as parsePolicy.
 */
export function parsePolicyBytes(bytes: Uint8Array): Policy {
  if (bytes.length > MAX_POLICY_BYTES) fail(0, 'policy too large');
  let text: string | undefined;
  try {
    text = STRICT_UTF8.decode(bytes);
  } catch {
    text = undefined;
  }
  if (text !== undefined) return parsePolicy(text);
  let octets = '';
  for (let i = 0; i < bytes.length; i += 8192) octets += String.fromCharCode(...bytes.subarray(i, i + 8192));
  return parsePolicy(octets, { octets: true });
}

const STRICT_UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * Parses a tlog-policy file. Rejects: control characters other than tab and newline, unknown
 * keywords, wrong arity, bad vkeys (log keys must be type 0x01, witness keys type 0x04), duplicate
 * public keys among logs or among witnesses, redefined names, the name `none` defined or used as a
 * member, members not defined on an earlier line or listed twice, thresholds outside 1..n, and not
 * exactly one quorum line naming something defined earlier (or `none`). With `octets`, `text`
 * holds one byte per character (see parsePolicyBytes) and vkeys are decoded from it as UTF-8.
 * @throws AuditlogError('BAD_REQUEST') with the line number.
 */
export function parsePolicy(text: string, opts: { octets?: boolean } = {}): Policy {
  if (text.length > MAX_POLICY_BYTES) fail(0, 'policy too large');
  const policy: Policy = { logs: [], witnesses: new Map(), groups: new Map(), quorum: '' };
  let quorumSeen = false;
  const listedAsMember = new Set<string>();
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  for (const [i, raw] of lines.entries()) {
    const n = i + 1;
    if (/[\u0000-\u0008\u000b-\u001f\u007f]/.test(raw)) fail(n, 'control character');
    const fields = raw.split(/[ \t]+/).filter((f) => f !== '');
    if (fields.length === 0 || fields[0]!.startsWith('#')) continue;
    const [keyword, ...args] = fields as [string, ...string[]];
    const isDefined = (name: string) => policy.witnesses.has(name) || policy.groups.has(name);
    const vkey = (s: string, type: number) => {
      let k: VerifierKey;
      try {
        k = parseVerifierKey(
          opts.octets ? STRICT_UTF8.decode(Uint8Array.from(s, (c) => c.charCodeAt(0))) : s,
        );
      } catch (e) {
        fail(n, `bad vkey: ${(e as Error).message}`);
      }
      if (k.type !== type) fail(n, `vkey must have signature type 0x0${type}`);
      return k;
    };
    switch (keyword) {
      case 'log': {
        if (args.length < 1 || args.length > 2) fail(n, 'want: log <vkey> [<url>]');
        const key = vkey(args[0]!, SIG_TYPE_ED25519);
        if (policy.logs.some((l) => bytesEqual(l.key.publicKey, key.publicKey))) fail(n, 'duplicate log key');
        if (policy.logs.length >= MAX_POLICY_LOGS) fail(n, 'too many logs');
        policy.logs.push(args[1] === undefined ? { key } : { key, url: args[1] });
        continue;
      }
      case 'witness': {
        if (args.length < 2 || args.length > 3) fail(n, 'want: witness <name> <vkey> [<url>]');
        const name = args[0]!;
        if (name === 'none' || isDefined(name)) fail(n, `name ${name} already defined`);
        const key = vkey(args[1]!, SIG_TYPE_COSIGNATURE_V1);
        for (const w of policy.witnesses.values()) {
          if (bytesEqual(w.key.publicKey, key.publicKey)) fail(n, 'duplicate witness key');
        }
        if (policy.witnesses.size >= MAX_POLICY_WITNESSES) fail(n, 'too many witnesses');
        policy.witnesses.set(name, args[2] === undefined ? { key } : { key, url: args[2] });
        continue;
      }
      case 'group': {
        if (args.length < 3) fail(n, 'want: group <name> all|any|<k> <name>...');
        const [name, k, ...members] = args as [string, string, ...string[]];
        if (name === 'none' || isDefined(name)) fail(n, `name ${name} already defined`);
        for (const m of members) {
          if (!isDefined(m)) fail(n, `member ${m} is not defined on an earlier line`);
          // tlog-policy: each defined name is a group member at most once in the whole policy.
          if (listedAsMember.has(m)) fail(n, `member ${m} listed twice`);
          listedAsMember.add(m);
        }
        let threshold: number;
        if (k === 'all') threshold = members.length;
        else if (k === 'any') threshold = 1;
        else if (/^[1-9][0-9]{0,8}$/.test(k)) threshold = Number(k);
        else fail(n, `bad threshold ${k}`);
        if (threshold < 1 || threshold > members.length)
          fail(n, 'threshold must be between 1 and the member count');
        if (policy.groups.size >= MAX_POLICY_GROUPS) fail(n, 'too many groups');
        policy.groups.set(name, { threshold, members });
        continue;
      }
      case 'quorum': {
        if (args.length !== 1) fail(n, 'want: quorum <name>');
        if (quorumSeen) fail(n, 'more than one quorum line');
        if (args[0] !== 'none' && !isDefined(args[0]!))
          fail(n, `quorum ${args[0]} is not defined on an earlier line`);
        policy.quorum = args[0]!;
        quorumSeen = true;
        continue;
      }
      default:
        fail(n, `unknown keyword ${keyword}`);
    }
  }
  if (!quorumSeen) fail(lines.length, 'no quorum line');
  return policy;
}

/**
 * A policy requiring `k` of the given witness keys (type 0x04) and, when given, one of `logs`.
 * @throws AuditlogError('BAD_REQUEST') when k is outside 0..n or a key has the wrong type.
 */
export function witnessQuorum(
  k: number,
  witnesses: readonly VerifierKey[],
  logs: readonly VerifierKey[] = [],
): Policy {
  if (!Number.isInteger(k) || k < 0 || k > witnesses.length) {
    throw new AuditlogError('BAD_REQUEST', `quorum ${k} of ${witnesses.length} witnesses is impossible`);
  }
  const policy: Policy = {
    logs: logs.map((key) => ({ key })),
    witnesses: new Map(),
    groups: new Map(),
    quorum: 'none',
  };
  witnesses.forEach((key, i) => {
    if (key.type !== SIG_TYPE_COSIGNATURE_V1)
      throw new AuditlogError('BAD_REQUEST', 'witness keys must be type 0x04');
    if (witnesses.some((other, j) => j < i && bytesEqual(other.publicKey, key.publicKey)))
      throw new AuditlogError('BAD_REQUEST', 'duplicate witness public key');
    policy.witnesses.set(`w${i}`, { key });
  });
  if (k > 0) {
    policy.groups.set('quorum', { threshold: k, members: [...policy.witnesses.keys()] });
    policy.quorum = 'quorum';
  }
  return policy;
}

/**
 * True when the witnesses named in `cosigned` satisfy `name` (a witness, a group or 'none').
 * Memoized, so shared subgroups are evaluated once (linear in the policy size).
 */
export function quorumSatisfied(
  policy: Policy,
  cosigned: ReadonlySet<string>,
  name = policy.quorum,
  memo = new Map<string, boolean>(),
): boolean {
  if (name === 'none') return true;
  if (policy.witnesses.has(name)) return cosigned.has(name);
  const known = memo.get(name);
  if (known !== undefined) return known;
  const group = policy.groups.get(name);
  let ok = 0;
  for (const m of group?.members ?? []) if (quorumSatisfied(policy, cosigned, m, memo)) ok++;
  const result = group !== undefined && ok >= group.threshold;
  memo.set(name, result);
  return result;
}

/**
 * Every log key the policy lists for `origin` (none, one, or several while a key is rotated:
 * tlog-policy accepts a checkpoint signed by any one of the listed logs).
 */
export function policyLogKeys(policy: Policy, origin: string): VerifierKey[] {
  return policy.logs.filter((l) => l.key.name === origin).map((l) => l.key);
}
