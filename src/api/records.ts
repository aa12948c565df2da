/**
 * Compliance record routes (spec/records.md, spec/retention.md), mounted under /v1:
 *   POST   /records                    submitter   one record, or {"records": [...]}
 *   GET    /records/<index|record_id>  auditor     audited read (logged as data_accessed)
 *   POST   /subjects/<subject>/erase   admin       GDPR erasure, optional {"tenant_id"}
 *   GET    /holds                      admin       legal holds (a tenant admin sees its own)
 *   POST   /holds                      admin       {"tenant_id"} or {"subject"[, "tenant_id"]}
 *   DELETE /holds/<id>                 admin       (a tenant admin: only holds its tenant's admins placed)
 *   POST   /retention/run              admin       one retention run now (global admin only)
 * Tenant checks are the service's: a token with a tenant reaches only that tenant's records (not
 * the log's records of tenant `*`).
 */
import { Hono } from 'hono';
import { z } from 'zod';
import { AuditlogError } from '../errors.js';
import { isRecordId } from '../records/leaf.js';
import { runRetention, startRetentionSchedule } from '../records/retention-job.js';
import { parseRecordBatch } from '../records/schema.js';
import { parseStrictJson } from '../records/strict-json.js';
import { type Actor, RecordService } from '../records/service.js';
import type { Log } from '../sequencer/log.js';
import { type AuthEnv, requireRole } from './auth.js';
import { receiptFromJSON, receiptToJSON } from '../sequencer/receipt.js';
import { limitBody } from './body-limit.js';
import { isJsonType, readJsonBody, readUtf8, validate } from './request-body.js';
import { jsonBody } from './json-body.js';
import { notWitnessed, type WitnessReceipt, witnessedParam } from './entries-routes.js';
import { parseUint64Param } from './params.js';
import { type Principal, TENANT_RE, type TokenStore } from './tokens.js';

/** Largest POST /v1/records body: 1000 records of a few KiB each. */
export const MAX_RECORDS_BODY = 8 * 1024 * 1024;

/** Default of the bytes of answers `?witnessed=1` record requests may hold while they wait. */
export const DEFAULT_MAX_WITNESS_WAIT_BYTES = 64 * 1024 * 1024;

/**
 * About how many bytes the answer to a record request holds while it waits for witnesses:
 * per record its leaf (base64), proof hashes and the fixed fields. (The checkpoint note is one
 * string shared by the batch's receipts.)
 */
function answerBytes(out: readonly { entry: string; inclusion_proof: readonly string[] }[]): number {
  let n = 0;
  for (const o of out) n += o.entry.length + 48 * o.inclusion_proof.length + 256;
  return n;
}

/**
 * Parses a POST /v1/records body and submits it. A function of its own, and the request's
 * cached body dropped, so that neither the body nor the parsed records outlive the submission
 * while the answer waits for witnesses.
 */
async function submitRecords(
  c: {
    req: { bodyCache: object; arrayBuffer(): Promise<ArrayBuffer>; header(n: string): string | undefined };
  },
  records: RecordService,
  actor: Actor,
) {
  const body = await readJsonBody(c.req);
  c.req.bodyCache = {};
  const { records: list, batch } = parseRecordBatch(body);
  return { out: await records.submit(list, actor), batch };
}

/** A tenant id as in spec/records.md; `*` (reserved for the log) is not one. */
const TenantId = z.string().regex(TENANT_RE, 'not a tenant id');
const HoldRequest = z.strictObject({
  tenant_id: TenantId.optional(),
  subject: z.string().min(1).max(256).optional(),
});
const EraseRequest = z.strictObject({ tenant_id: TenantId.optional() });

function actorOf(p: Principal): Actor {
  return { role: p.role, name: p.name, tenant: p.tenant };
}

/**
 * Record routes. `witnessReceipt()` gives the hook that re-issues a receipt at a checkpoint
 * meeting the witness policy (undefined when the log has no witnesses), as for
 * `POST /v1/entries?witnessed=1`.
 */
export function recordRoutes(
  records: RecordService,
  tokens: TokenStore,
  witnessReceipt: () => WitnessReceipt | undefined = () => undefined,
  maxWitnessWaitBytes = DEFAULT_MAX_WITNESS_WAIT_BYTES,
): Hono<AuthEnv> {
  const app = new Hono<AuthEnv>();
  /** Bytes of answers held by requests waiting for witnesses (answerBytes). */
  let waiting = 0;

  app.post('/records', requireRole(tokens, 'submitter'), limitBody(MAX_RECORDS_BODY), async (c) => {
    const witness = witnessedParam(c.req.query('witnessed'), witnessReceipt());
    const { out, batch } = await submitRecords(c, records, actorOf(c.get('principal')));
    const answer = (rs: typeof out) => (batch ? { records: rs } : rs[0]!);
    if (!witness) return jsonBody(c, answer(out));
    const notYet = (err: unknown) => notWitnessed(c, err, batch ? { records: out } : { record: out[0] });
    // The records are in the log either way: past the budget, answered at once, not witnessed.
    const bytes = answerBytes(out);
    if (waiting + bytes > maxWitnessWaitBytes) {
      return notYet(
        new AuditlogError(
          'OVERLOADED',
          `answers of ${waiting} bytes are already waiting for witnesses (at most ${maxWitnessWaitBytes})`,
        ),
      );
    }
    waiting += bytes;
    try {
      const witnessed = await Promise.all(
        out.map(async (o) => ({ ...o, ...receiptToJSON(await witness(receiptFromJSON(o))) })),
      );
      return jsonBody(c, answer(witnessed));
    } catch (err) {
      return notYet(err);
    } finally {
      waiting -= bytes;
    }
  });

  app.get('/records/:index', requireRole(tokens, 'auditor'), async (c) => {
    const param = c.req.param('index');
    let index: bigint;
    if (isRecordId(param)) {
      const found = await records.indexOf(param);
      if (found === undefined) throw new AuditlogError('NOT_FOUND', `no record ${param}`);
      index = found;
    } else {
      index = parseUint64Param('index', param);
    }
    return c.json(await records.read(index, actorOf(c.get('principal'))));
  });

  app.post('/subjects/:subject/erase', requireRole(tokens, 'admin'), limitBody(4096), async (c) => {
    // The body is optional; when there is one, it is JSON like every other.
    const text = await readUtf8(c.req);
    let req: z.infer<typeof EraseRequest> = {};
    if (text.trim() !== '') {
      if (!isJsonType(c.req.header('content-type'))) {
        throw new AuditlogError('UNSUPPORTED_MEDIA_TYPE', 'Content-Type must be application/json');
      }
      req = validate(EraseRequest, parseStrictJson(text));
    }
    const result = await records.erase(c.req.param('subject'), req.tenant_id, actorOf(c.get('principal')));
    return c.json(result);
  });

  app.get('/holds', requireRole(tokens, 'admin'), (c) =>
    c.json({ holds: records.listHolds(actorOf(c.get('principal'))) }),
  );

  app.post('/holds', requireRole(tokens, 'admin'), limitBody(4096), async (c) => {
    const req = validate(HoldRequest, await readJsonBody(c.req));
    if (req.tenant_id === undefined && req.subject === undefined && c.get('principal').tenant === undefined) {
      throw new AuditlogError('BAD_REQUEST', 'tenant_id: give a tenant_id or a subject');
    }
    const { hold, log } = await records.placeHold(
      {
        ...(req.tenant_id !== undefined ? { tenant_id: req.tenant_id } : {}),
        ...(req.subject !== undefined ? { subject: req.subject } : {}),
      },
      actorOf(c.get('principal')),
    );
    return c.json({ ...hold, log }, 201);
  });

  app.delete('/holds/:id', requireRole(tokens, 'admin'), async (c) => {
    const { hold, log } = await records.liftHold(c.req.param('id'), actorOf(c.get('principal')));
    return c.json({ ...hold, lifted: true, log });
  });

  app.post('/retention/run', requireRole(tokens, 'admin'), async (c) => {
    if (c.get('principal').tenant !== undefined) {
      throw new AuditlogError('FORBIDDEN', 'only an admin token without a tenant may run retention');
    }
    // Always at the real time: moving the clock is for the CLI's --now only.
    return c.json(await runRetention(records, { nowMs: Date.now() }));
  });

  return app;
}

/**
 * Opens the record layer on a served log: the service (master key, holds, index catch-up),
 * its routes to mount under /v1, and the retention schedule (`retention.interval_minutes` of
 * `<dataDir>/config.json`). `close()` stops the schedule (waiting for a run in progress) and
 * records the index point; call it before closing the log.
 */
export async function openRecordLayer(
  log: Log,
  tokens: TokenStore,
  dataDir: string,
  witnessReceipt: () => WitnessReceipt | undefined = () => undefined,
  maxWitnessWaitBytes = DEFAULT_MAX_WITNESS_WAIT_BYTES,
): Promise<{ mount: { path: string; app: Hono<AuthEnv> }; records: RecordService; close(): Promise<void> }> {
  const records = await RecordService.open({ log, dataDir });
  const schedule = startRetentionSchedule(records);
  return {
    mount: { path: '/v1', app: recordRoutes(records, tokens, witnessReceipt, maxWitnessWaitBytes) },
    records,
    async close() {
      await schedule.stop();
      await records.close();
    },
  };
}
