/**
 * The witness's HTTP side and its background loops (spec/witness.md):
 *   POST /add-checkpoint         C2SP tlog-witness v1
 *   GET  /v1/witness/checkpoints the latest cosigned checkpoint per origin (gossip)
 *   GET  /v1/witness/alerts      every alert raised, oldest first
 *   GET  /v1/witness/status      each witnessed log: cosigned size, pin, forked state, clears
 * and, every poll interval, a poll of each configured log followed by a pull of each peer's view.
 */
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import { Hono } from 'hono';
import { readUtf8 } from '../api/request-body.js';
import { httpServerOptions } from '../api/server-options.js';
import { bodyLimit } from 'hono/body-limit';
import { fetchPeerViews } from './gossip.js';
import { MAX_ADD_CHECKPOINT_BYTES, TLOG_SIZE_TYPE, formatTlogSize } from './wire.js';
import type { Witness } from './witness.js';

const TEXT = 'text/plain; charset=utf-8';

/** The witness's routes. */
export function witnessApp(w: Witness): Hono {
  const app = new Hono();
  app.post(
    '/add-checkpoint',
    bodyLimit({ maxSize: MAX_ADD_CHECKPOINT_BYTES, onError: (c) => c.text('request body too large\n', 413) }),
    async (c) => {
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
    },
  );
  app.get('/v1/witness/checkpoints', (c) => c.json({ witness: w.vkey, checkpoints: w.allViews() }));
  app.get('/v1/witness/alerts', async (c) => c.json({ alerts: await w.alerts.list() }));
  app.get('/v1/witness/status', async (c) => c.json({ witness: w.vkey, logs: await w.status() }));
  app.notFound((c) => c.text('not found\n', 404));
  app.onError((err, c) => c.text(`internal error: ${err.message}\n`, 500));
  return app;
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
        .catch((e) => process.stderr.write(`auditlog witness: poll: ${(e as Error).message}\n`));
    }
    for (const peer of opts.peers) {
      if (stopped) return;
      const views = await fetchPeerViews(peer).then(
        (v) => {
          const problem = v.problem && `${v.skipped} malformed item(s) skipped, first: ${v.problem}`;
          if (problem && peerErrors.get(peer) !== problem)
            process.stderr.write(`auditlog witness: peer ${peer}: ${problem}\n`);
          if (problem) peerErrors.set(peer, problem);
          else peerErrors.delete(peer);
          return v.views;
        },
        (e: Error) => {
          if (peerErrors.get(peer) !== e.message)
            process.stderr.write(`auditlog witness: peer ${peer}: ${e.message}\n`);
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

/** Serves `app` on host:port (0 = any free port); resolves with the bound port and a close function. */
export async function listen(
  app: Hono,
  port: number,
  host: string,
): Promise<{ port: number; close: () => Promise<void> }> {
  const server = serve({ fetch: app.fetch, port, hostname: host, serverOptions: httpServerOptions() });
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
