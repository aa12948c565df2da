/** POST /v1/entries (raw entries → receipts), GET /v1/log; the JSON body helpers of the /v1 routes. */
import { Hono } from 'hono';
import type { z } from 'zod';
import { AuditlogError } from '../errors.js';
import type { Log } from '../sequencer/log.js';
import { type Receipt, receiptToJSON } from '../sequencer/receipt.js';
import { type AuthEnv, requireRole } from './auth.js';
import { limitBody } from './body-limit.js';
import { jsonBody } from './json-body.js';
import type { TokenStore } from './tokens.js';

/** Reads a JSON body (already size-limited) and validates it; errors name the field. */
export async function readJSON<T>(
  req: { text(): Promise<string>; header(n: string): string | undefined },
  schema: z.ZodType<T>,
): Promise<T> {
  const ct = req.header('content-type') ?? '';
  if (!/^application\/json\s*(;|$)/i.test(ct)) {
    throw new AuditlogError('UNSUPPORTED_MEDIA_TYPE', 'Content-Type must be application/json');
  }
  let raw: unknown;
  try {
    raw = JSON.parse(await req.text());
  } catch {
    throw new AuditlogError('BAD_REQUEST', 'body is not valid JSON');
  }
  const r = schema.safeParse(raw);
  if (!r.success) {
    const issue = r.error.issues[0]!;
    const path = issue.path.length ? issue.path.join('.') : '(body)';
    throw new AuditlogError('BAD_REQUEST', `${path}: ${issue.message}`);
  }
  return r.data;
}

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
    const receipt = await log.append(entry);
    return jsonBody(c, receiptToJSON(witness ? await witness(receipt) : receipt));
  });

  app.get('/log', (c) =>
    c.json({ origin: log.origin, vkey: log.vkey, tree_size: Number(log.latest().size) }),
  );
  return app;
}
