/**
 * The witness's HTTP side and its background loops (spec/witness.md):
 *   POST /add-checkpoint         C2SP tlog-witness v1
 *   GET  /v1/witness/checkpoints the latest cosigned checkpoint per origin (gossip)
 *   GET  /v1/witness/alerts      the alerts raised, oldest first, a page at a time
 *   GET  /v1/witness/status      each witnessed log: cosigned size, pin, forked state, clears
 * and, every poll interval, a poll of each configured log followed by a pull of each peer's view.
 * A served path asked with another method is 405 with `Allow`, any other path 404; every error
 * is plain text. The server's limits are the log server's (spec/http-api.md, "Limits"): the
 * request timeouts, a cap on open connections and a budget of body bytes being received.
 */
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import { type Context, Hono } from 'hono';
import { BodyBudget, useBodyBudget } from '../api/body-budget.js';
import { limitBody } from '../api/body-limit.js';
import { notFoundOrMethodNotAllowed } from '../api/methods.js';
import { RETRY_AFTER_SECONDS, statusFor, toAuditlogError } from '../api/problem.js';
import { readUtf8 } from '../api/request-body.js';
import { parseUint64Param } from '../api/params.js';
import { DEFAULT_MAX_CONNECTIONS, httpServerOptions } from '../api/server-options.js';
import { AuditlogError, oneLine } from '../errors.js';
import { DEFAULT_ALERTS_PAGE, MAX_ALERTS_PAGE } from './alerts.js';
import { fetchPeerViews } from './gossip.js';
import { MAX_ADD_CHECKPOINT_BYTES, TLOG_SIZE_TYPE, formatTlogSize } from './wire.js';
import type { Witness } from './witness.js';

const TEXT = 'text/plain; charset=utf-8';
const MiB = 1024 * 1024;

/**
 * Default for `witness --max-inflight-body-mib`: 16 MiB of add-checkpoint bodies being received
 * at once. The connection cap alone (1024) would let clients hold 128 MiB (1024 bodies of the
 * largest size, 128 KiB); a witness's real clients are the logs it witnesses, each sending one
 * add-checkpoint at a time of a few KiB (63 proof lines are 2.8 KiB, a checkpoint with its
 * signature a few hundred bytes). 16 MiB still takes 128 bodies of the largest size at once,
 * or a 16 KiB body on every connection the default cap allows.
 */
export const DEFAULT_WITNESS_BODY_BUDGET_MIB = 16;

export interface WitnessAppOptions {
  /**
   * Most request-body bytes being received at once, over all requests (body-budget.ts); an
   * add-checkpoint body beyond it is answered 503 with Retry-After. Default
   * DEFAULT_WITNESS_BODY_BUDGET_MIB MiB; requires at least MAX_ADD_CHECKPOINT_BYTES, or a body
   * of the largest size could never be taken.
   */
  maxBodyBytesInFlight?: number;
}

/**
 * The witness's one error mapping: `<message>\n` in text/plain on every path, as tlog-witness
 * answers add-checkpoint and as the /v1 paths always have; 503 with Retry-After. A server fault
 * is 500 `internal error: <message>`, as before.
 */
function textError(c: Context, err: unknown): Response {
  const e = toAuditlogError(err);
  const status = statusFor(e.code);
  if (status >= 500 && status !== 503) {
    return c.text(`internal error: ${(err as Error).message}\n`, 500, { 'Content-Type': TEXT });
  }
  const retry: Record<string, string> = status === 503 ? { 'Retry-After': String(RETRY_AFTER_SECONDS) } : {};
  return c.text(`${e.message}\n`, status, { 'Content-Type': TEXT, ...retry });
}

/** The witness's routes. */
export function witnessApp(w: Witness, opts: WitnessAppOptions = {}): Hono {
  const budgetBytes = opts.maxBodyBytesInFlight ?? DEFAULT_WITNESS_BODY_BUDGET_MIB * MiB;
  if (budgetBytes < MAX_ADD_CHECKPOINT_BYTES) {
    throw new AuditlogError(
      'BAD_REQUEST',
      `the body budget must be at least ${MAX_ADD_CHECKPOINT_BYTES} bytes`,
    );
  }
  const app = new Hono();
  // add-checkpoint is the one route that reads a body: 415 for a content coding, 413 over
  // 128 KiB, then 503 when the budget cannot cover it (limitBody).
  app.use('/add-checkpoint', useBodyBudget(new BodyBudget(budgetBytes)));
  app.post('/add-checkpoint', limitBody(MAX_ADD_CHECKPOINT_BYTES), async (c) => {
    let body: string;
    try {
      // A byte-order mark is kept, so the body then fails to start with its `old` line.
      body = await readUtf8(c.req);
    } catch {
      return c.text('body is not UTF-8\n', 400, { 'Content-Type': TEXT });
    }
    const r = await w.addCheckpoint(body);
    if (r.status === 200) return c.text(r.body, 200, { 'Content-Type': TEXT });
    if ('size' in r) return c.text(formatTlogSize(r.size), 409, { 'Content-Type': TLOG_SIZE_TYPE });
    const retry: Record<string, string> = r.status === 503 ? { 'Retry-After': '1' } : {};
    return c.text(`${r.message}\n`, r.status, { 'Content-Type': TEXT, ...retry });
  });
  app.get('/v1/witness/checkpoints', (c) => c.json({ witness: w.vkey, checkpoints: w.allViews() }));
  app.get('/v1/witness/alerts', async (c) => {
    const { from, limit } = alertsQuery(c.req.query('from'), c.req.query('limit'));
    const page = await w.alerts.page(from, limit);
    // The stored JSON texts are sent as they are, not parsed and serialized again.
    const body = `{"alerts":[${page.alerts.join(',')}],"next":"${page.next}","more":${page.more}}`;
    return c.body(body, 200, { 'Content-Type': 'application/json' });
  });
  app.get('/v1/witness/status', async (c) => c.json({ witness: w.vkey, logs: await w.status() }));
  app.notFound(notFoundOrMethodNotAllowed(app, textError));
  app.onError((err, c) => textError(c, err));
  return app;
}

/**
 * The query of GET /v1/witness/alerts: `from` a canonical decimal (default 0), `limit` one from 1
 * to MAX_ALERTS_PAGE (default DEFAULT_ALERTS_PAGE).
 * @throws AuditlogError('BAD_REQUEST') naming the parameter.
 */
function alertsQuery(from: string | undefined, limit: string | undefined): { from: bigint; limit: number } {
  const n = limit === undefined ? BigInt(DEFAULT_ALERTS_PAGE) : parseUint64Param('limit', limit);
  if (n < 1n || n > BigInt(MAX_ALERTS_PAGE)) {
    throw new AuditlogError('BAD_REQUEST', `parameter limit must be from 1 to ${MAX_ALERTS_PAGE}`);
  }
  return { from: from === undefined ? 0n : parseUint64Param('from', from), limit: Number(n) };
}

export interface LoopOptions {
  /** Peers' base URLs (their `/v1/witness/checkpoints` is pulled). */
  peers: string[];
  /** Interval between rounds in ms. */
  pollMs: number;
}

/**
 * Runs poll and gossip rounds every `pollMs` (a round never overlaps the next). Returns a stop
 * function that resolves once the round in flight is over.
 */
export function startLoops(w: Witness, opts: LoopOptions): () => Promise<void> {
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let current: Promise<void> = Promise.resolve();
  const peerErrors = new Map<string, string>();
  const round = async () => {
    for (const log of w.witnessedLogs) {
      if (stopped) return;
      await w
        .poll(log)
        .catch((e) => process.stderr.write(`auditlog witness: poll: ${oneLine((e as Error).message)}\n`));
    }
    for (const peer of opts.peers) {
      if (stopped) return;
      const views = await fetchPeerViews(peer).then(
        (v) => {
          const problem = v.problem && `${v.skipped} malformed item(s) skipped, first: ${v.problem}`;
          if (problem && peerErrors.get(peer) !== problem)
            process.stderr.write(`auditlog witness: peer ${peer}: ${oneLine(problem)}\n`);
          if (problem) peerErrors.set(peer, problem);
          else peerErrors.delete(peer);
          return v.views;
        },
        (e: Error) => {
          if (peerErrors.get(peer) !== e.message)
            process.stderr.write(`auditlog witness: peer ${peer}: ${oneLine(e.message)}\n`);
          peerErrors.set(peer, e.message);
          return [];
        },
      );
      for (const v of views) {
        if (stopped) return;
        await w.checkView(v.origin, v.checkpoint, peer).catch(() => undefined);
      }
    }
  };
  const tick = () => {
    current = round().finally(() => {
      if (!stopped) timer = setTimeout(tick, opts.pollMs);
    });
  };
  tick();
  return async () => {
    stopped = true;
    clearTimeout(timer);
    await current;
  };
}

export interface ListenOptions {
  /** Most connections open at once (node's `server.maxConnections`); default DEFAULT_MAX_CONNECTIONS. */
  maxConnections?: number;
  /** Seconds a request may take to arrive whole (httpServerOptions); default 60. */
  requestTimeoutS?: number;
}

/** Serves `app` on host:port (0 = any free port); resolves with the bound port and a close function. */
export async function listen(
  app: Hono,
  port: number,
  host: string,
  opts: ListenOptions = {},
): Promise<{ port: number; close: () => Promise<void> }> {
  const server = serve({
    fetch: app.fetch,
    port,
    hostname: host,
    serverOptions: httpServerOptions(opts.requestTimeoutS),
  });
  // Set before the first connection is accepted (listen completes on a later tick).
  server.maxConnections = opts.maxConnections ?? DEFAULT_MAX_CONNECTIONS;
  await new Promise<void>((resolve, reject) => {
    server.once('listening', resolve);
    server.once('error', reject);
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        (server as { closeAllConnections?: () => void }).closeAllConnections?.();
      }),
  };
}
