/** POST /v1/entries (raw entries → receipts), GET /v1/log, and the ?witnessed= parameter of submissions. */
import { type Context, Hono } from 'hono';
import { AuditlogError } from '../errors.js';
import { claimsRecordSchema } from '../records/leaf.js';
import type { Log } from '../sequencer/log.js';
import { type Receipt, receiptToJSON } from '../sequencer/receipt.js';
import { type AuthEnv, requireRole } from './auth.js';
import { limitBody } from './body-limit.js';
import { jsonBody } from './json-body.js';
import { toAuditlogError } from './problem.js';
import type { TokenStore } from './tokens.js';

/** Re-issues a receipt at a checkpoint that met the witness policy (set by serve when witnesses are configured). */
export type WitnessReceipt = (receipt: Receipt) => Promise<Receipt>;

/**
 * The `?witnessed=0|1` parameter of submissions: the hook to use, or undefined.
 * @throws BAD_REQUEST for another value, or for 1 on a log without witnesses.
 */
export function witnessedParam(
  value: string | undefined,
  hook: WitnessReceipt | undefined,
): WitnessReceipt | undefined {
  if (value !== undefined && value !== '1' && value !== '0') {
    throw new AuditlogError('BAD_REQUEST', 'witnessed must be 1 or 0');
  }
  if (value !== '1') return undefined;
  if (hook === undefined) throw new AuditlogError('BAD_REQUEST', 'this log has no witnesses configured');
  return hook;
}

/**
 * The answer when `?witnessed=1` could not be met after the entries were appended (no witnessed
 * checkpoint in time, too many receipts waiting, a shutdown): 202 Accepted with the receipts as
 * they are, not witnessed, so the client keeps them and upgrades them later instead of
 * submitting again — an error status (503 with Retry-After) would invite a duplicate entry.
 * `answer` holds the un-witnessed answer under its name: `{receipt}`, `{record}` or `{records}`.
 */
export function notWitnessed(c: Context, err: unknown, answer: object): Response {
  const e = toAuditlogError(err);
  return jsonBody(
    c,
    {
      witnessed: false,
      code: e.code,
      detail:
        `${e.code === 'INTERNAL' ? 'internal error' : e.message}; appended to the log, with the receipt ` +
        'below (not witnessed): do not submit it again; upgrade the receipt later (auditlog verify --log URL --out FILE)',
      ...answer,
    },
    202,
  );
}

export function entryRoutes(
  log: Log,
  tokens: TokenStore,
  maxEntrySize: number,
  witnessReceipt?: WitnessReceipt,
): Hono<AuthEnv> {
  const app = new Hono<AuthEnv>();

  app.post('/entries', requireRole(tokens, 'submitter'), limitBody(maxEntrySize), async (c) => {
    const ct = c.req.header('content-type') ?? '';
    if (!/^application\/octet-stream\s*(;|$)/i.test(ct)) {
      throw new AuditlogError('UNSUPPORTED_MEDIA_TYPE', 'Content-Type must be application/octet-stream');
    }
    const witness = witnessedParam(c.req.query('witnessed'), witnessReceipt);
    const entry = new Uint8Array(await c.req.arrayBuffer());
    // Record leaves are written only by the record layer (POST /v1/records), so that a leaf of
    // the record schema in the tree, a log record such as legal_hold_lifted included, is one
    // the log wrote, not one a submitter forged (spec/records.md).
    if (claimsRecordSchema(entry)) {
      throw new AuditlogError(
        'BAD_REQUEST',
        'entry: claims the record schema (auditlog.record/…); submit records with POST /v1/records',
      );
    }
    const receipt = await log.append(entry);
    if (!witness) return jsonBody(c, receiptToJSON(receipt));
    try {
      return jsonBody(c, receiptToJSON(await witness(receipt)));
    } catch (err) {
      return notWitnessed(c, err, { receipt: receiptToJSON(receipt) });
    }
  });

  app.get('/log', (c) =>
    c.json({ origin: log.origin, vkey: log.vkey, tree_size: Number(log.latest().size) }),
  );
  return app;
}
