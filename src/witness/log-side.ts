/**
 * The serve command's witness configuration: `--witness URL=VKEY` flags and a `--policy FILE`
 * (C2SP tlog-policy) become one WitnessPusher. Witnesses listed in the policy with a URL are
 * pushed to as well; without a policy every witness given must cosign.
 */
import { readFileSync } from 'node:fs';
import { Hono } from 'hono';
import { type Policy, parsePolicyBytes } from '../client/policy.js';
import { AuditlogError } from '../errors.js';
import { bytesEqual } from '../note/encoding.js';
import { parseBaseUrl, parseWitnessFlag } from './config.js';
import { type PushedWitness, type PushSource, WitnessPusher } from './pusher.js';

/** The witnesses to push to and the policy, as given on the command line; checked, not started. */
export interface PushConfig {
  witnesses: PushedWitness[];
  policy: Policy | undefined;
}

/**
 * Parses the `--witness URL=VKEY` flags and reads the `--policy` file. Needs nothing of the log,
 * so `serve` checks them before it opens (or creates) the log.
 * @throws AuditlogError('BAD_REQUEST') on a malformed flag or policy, or a policy whose quorum
 *   needs witnesses when none has a URL; the fs error when the policy cannot be read.
 */
export function parsePushConfig(witnessFlags: readonly string[], policyFile: string | undefined): PushConfig {
  const witnesses: PushedWitness[] = witnessFlags.map(parseWitnessFlag);
  const policy = policyFile === undefined ? undefined : parsePolicyBytes(readFileSync(policyFile));
  for (const w of policy?.witnesses.values() ?? []) {
    if (w.url === undefined) continue;
    if (witnesses.some((x) => bytesEqual(x.key.publicKey, w.key.publicKey))) continue;
    witnesses.push({ url: parseBaseUrl(w.url, 'policy witness URL'), key: w.key });
  }
  if (witnesses.length === 0 && policy !== undefined && policy.quorum !== 'none') {
    throw new AuditlogError('BAD_REQUEST', 'the policy needs witnesses but none has a URL or --witness flag');
  }
  return { witnesses, policy };
}

/**
 * Builds the pusher for `log`, or returns undefined when no witness is configured.
 * @throws AuditlogError('BAD_REQUEST') when the policy has log lines and none is this log.
 */
export function startPusher(
  log: PushSource & { origin: string },
  { witnesses, policy }: PushConfig,
): WitnessPusher | undefined {
  if (policy !== undefined && policy.logs.length > 0 && !policy.logs.some((l) => l.key.name === log.origin)) {
    throw new AuditlogError('BAD_REQUEST', `the policy does not list this log (${log.origin})`);
  }
  if (witnesses.length === 0) return undefined;
  return new WitnessPusher({ log, witnesses, ...(policy ? { policy } : {}) });
}

/**
 * `GET /v1/witnesses` on the log: each witness's name, URL, size as last learnt and last error,
 * and the newest witnessed checkpoint (null before the first).
 */
export function witnessStatusRoutes(pusher: WitnessPusher): Hono {
  const app = new Hono();
  app.get('/witnesses', (c) => {
    const w = pusher.witnessed();
    return c.json({
      witnesses: pusher.status().map((s) => ({
        name: s.name,
        url: s.url,
        size: s.size === undefined ? null : s.size.toString(),
        last_error: s.lastError ?? null,
      })),
      witnessed: w === undefined ? null : { size: w.size.toString(), checkpoint: w.note },
    });
  });
  return app;
}
