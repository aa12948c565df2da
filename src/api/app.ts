/**
 * The HTTP application: one sub-app per group of routes, one error mapping.
 *   /checkpoint, /tile/...   C2SP tlog-tiles (log-routes.ts)
 *   /ct/v1/...               RFC 6962 JSON API (ct-routes.ts)
 *   /v1/entries, /v1/log     (entries-routes.ts)
 *   /v1/tokens               token management (token-routes.ts)
 *   further /v1 groups (records, witness status) are passed in `mounts` by the server.
 * A request no route answers is 405 with Allow when its path is served with other methods,
 * else 404 (methods.ts).
 */
import { Hono, type MiddlewareHandler } from 'hono';
import type { Log } from '../sequencer/log.js';
import { type AuthEnv, requireRole } from './auth.js';
import { BodyBudget, useBodyBudget } from './body-budget.js';
import { ctRoutes } from './ct-routes.js';
import { entryRoutes, type WitnessReceipt } from './entries-routes.js';
import { type CheckpointSource, tileRoutes } from './log-routes.js';
import { notFoundOrMethodNotAllowed } from './methods.js';
import { errorResponse } from './problem.js';
import { tokenRoutes } from './token-routes.js';
import type { TokenStore } from './tokens.js';

export interface AppConfig {
  /** Largest raw entry accepted by POST /v1/entries (<= 65535). */
  maxEntrySize: number;
  /** When true, tree data (checkpoints, tiles, proofs) needs a token of any role. */
  privateReads: boolean;
  /**
   * Most request-body bytes being received at once, over all requests (body-budget.ts); a body
   * beyond it is refused with 503 and Retry-After. Must be at least the largest body a route
   * accepts (8 MiB, POST /v1/records), or such a body could never be taken. Unset: no budget.
   */
  maxBodyBytesInFlight?: number;
}

export interface AppContext {
  log: Log;
  tokens: TokenStore;
  config: AppConfig;
  /** What /checkpoint serves; defaults to the log's own latest note. */
  checkpointSource?: CheckpointSource;
  /** Re-issues a receipt at a witnessed checkpoint (`POST /v1/entries?witnessed=1`); see witness/receipts.ts. */
  witnessReceipt?: WitnessReceipt;
  /** Extra route groups mounted under a path, e.g. { path: '/v1', app: recordRoutes(...) }. */
  mounts?: { path: string; app: Hono<AuthEnv> | Hono }[];
}

/**
 * Paths whose answers carry personal data (records, erasures, holds naming subjects, retention
 * reports) or secrets (tokens): every answer under them, error or not, is `Cache-Control:
 * no-store` (spec/http-api.md), so that no shared or browser cache keeps a copy.
 */
const NO_STORE_PATHS = /^\/v1\/(?:records|subjects|holds|tokens|retention)(?:\/|$)/;

/** Marks the answer `no-store` after every handler, the error mapping and 404/405 included. */
const noStore: MiddlewareHandler = async (c, next) => {
  await next();
  if (NO_STORE_PATHS.test(c.req.path)) c.header('Cache-Control', 'no-store');
};

export function createApp(ctx: AppContext): Hono<AuthEnv> {
  const app = new Hono<AuthEnv>();
  const source = ctx.checkpointSource ?? { checkpointNote: () => ctx.log.latest().note };
  // First, so that it also sees the answers of the middleware after it (body budget, auth).
  app.use('/v1/*', noStore);
  if (ctx.config.maxBodyBytesInFlight !== undefined) {
    // Every route that reads a body is under /v1; tiles and proofs keep hono's one-handler path.
    app.use('/v1/*', useBodyBudget(new BodyBudget(ctx.config.maxBodyBytesInFlight)));
  }
  if (ctx.config.privateReads) {
    const reader = requireRole(ctx.tokens, 'submitter', 'auditor', 'admin');
    app.use('/checkpoint', reader);
    app.use('/tile/*', reader);
    app.use('/ct/v1/*', reader);
    // The witnessed checkpoint (GET /v1/witnesses) and the tree size (GET /v1/log) are tree data too.
    app.use('/v1/witnesses', reader);
    app.use('/v1/log', reader);
  }
  app.route('/', tileRoutes(ctx.log, source, ctx.config.privateReads));
  app.route('/ct/v1', ctRoutes(ctx.log));
  app.route('/v1', entryRoutes(ctx.log, ctx.tokens, ctx.config.maxEntrySize, ctx.witnessReceipt));
  app.route('/v1', tokenRoutes(ctx.tokens));
  for (const m of ctx.mounts ?? []) app.route(m.path, m.app as Hono<AuthEnv>);
  app.notFound(notFoundOrMethodNotAllowed(app));
  app.onError((err, c) => errorResponse(c, err));
  return app;
}
