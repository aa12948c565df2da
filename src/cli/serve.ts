/**
 * `auditlog serve --data DIR [--port 8080] [--host 127.0.0.1] [--origin ORIGIN] ...`
 * Initializes DIR if it holds no log (printing the first admin token), serves the HTTP API,
 * and on SIGTERM/SIGINT stops taking requests, lets the batch in flight commit and closes
 * LevelDB.
 */
import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { serve } from '@hono/node-server';
import { createApp, type AppContext } from '../api/app.js';
import { DEFAULT_BODY_BUDGET_MIB } from '../api/body-budget.js';
import { MAX_RECORDS_BODY, openRecordLayer } from '../api/records.js';
import { TokenStore } from '../api/tokens.js';
import { AuditlogError } from '../errors.js';
import { MAX_ENTRY_SIZE } from '../merkle/tiles.js';
import { DEFAULT_BATCHES_AHEAD } from '../sequencer/group-commit.js';
import { Log } from '../sequencer/log.js';
import { loadRetentionConfig } from '../records/retention-config.js';
import { isLogDir } from '../storage/data-dir.js';
import { parsePushConfig, startPusher, witnessStatusRoutes } from '../witness/log-side.js';
import { DEFAULT_WITNESS_WAIT_MS, witnessedReceipt } from '../witness/receipts.js';
import { httpServerOptions } from '../api/server-options.js';
import { intFlag, listenError, serverLimitFlags } from './args.js';
import { createAdminToken } from './token.js';

export const SERVE_OPTIONS = {
  data: { type: 'string', default: './data' },
  port: { type: 'string', default: '8080' },
  host: { type: 'string', default: '127.0.0.1' },
  origin: { type: 'string' },
  'max-batch': { type: 'string' },
  'max-delay-ms': { type: 'string' },
  'batches-ahead': { type: 'string' },
  queue: { type: 'string' },
  'max-entry': { type: 'string' },
  'private-reads': { type: 'boolean', default: false },
  'request-timeout': { type: 'string' },
  'max-connections': { type: 'string' },
  'max-inflight-body-mib': { type: 'string' },
  witness: { type: 'string', multiple: true, default: [] as string[] },
  policy: { type: 'string' },
  'witness-wait-ms': { type: 'string' },
  help: { type: 'boolean', default: false },
} as const;

const HELP = `usage: auditlog serve [--data DIR] [--port 8080] [--host 127.0.0.1] [--origin ORIGIN]
  --max-batch N       most entries per batch (default 4096)
  --max-delay-ms MS   wait up to MS for a batch to fill (default 0)
  --batches-ahead N   most batches staged ahead of the write on the disk, their checkpoints
                      signed concurrently (default 8; spec/commit-protocol.md)
  --queue N           most entries waiting; beyond it 503 + Retry-After (default 65536)
  --max-entry BYTES   largest entry (default and maximum 65535)
  --private-reads     checkpoints, tiles and proofs need a token
  --request-timeout S a request must arrive whole within S seconds, its headers within 20;
                      past that 408 and the connection is closed (default 60)
  --max-connections N most connections open at once; more are closed as they are accepted
                      (default 1024)
  --max-inflight-body-mib M
                      most MiB of request bodies being received at once, over all requests;
                      beyond it 503 + Retry-After (default 64, at least 8)
  --witness URL=VKEY  push checkpoints to this witness (repeatable; spec/witness.md)
  --policy FILE       C2SP tlog-policy deciding when a checkpoint is witnessed (default: all witnesses);
                      its witness lines with a URL are pushed to as well
  --witness-wait-ms MS  how long ?witnessed=1 waits for a witnessed checkpoint before answering
                      202 with the receipt not yet witnessed (default 30000)
`;

/**
 * Closes each of `opened` in order (the pusher, the record layer, the log), going on past a
 * failure: used when start-up fails, whose own error is the one reported.
 */
async function closeQuietly(...opened: ({ close(): Promise<void> } | undefined)[]): Promise<void> {
  for (const o of opened) {
    try {
      await o?.close();
    } catch {
      // the start-up error is what the operator needs to see
    }
  }
}

/**
 * Checks `<dir>/config.json` (absent: nothing to check) as the record layer will read it.
 * @throws AuditlogError('BAD_REQUEST') naming the file and the bad member.
 */
function checkConfigFile(dir: string): void {
  const file = join(dir, 'config.json');
  try {
    loadRetentionConfig(dir);
  } catch (err) {
    if (!(err instanceof AuditlogError) || err.message.startsWith(file)) throw err;
    throw new AuditlogError(err.code, `${file}: ${err.message}`, { cause: err });
  }
}

export async function run(argv: string[]): Promise<number> {
  const { values } = parseArgs({ args: argv, options: SERVE_OPTIONS });
  if (values.help) {
    process.stdout.write(HELP);
    return 0;
  }
  const dir = values.data;
  const fresh = !isLogDir(dir);
  const origin =
    values.origin ?? (fresh ? `localhost/auditlog-${randomBytes(4).toString('hex')}` : undefined);
  const batchesAhead = intFlag('batches-ahead', values['batches-ahead'], DEFAULT_BATCHES_AHEAD);
  if (batchesAhead < 1) throw new AuditlogError('BAD_REQUEST', '--batches-ahead must be at least 1');
  const maxEntrySize = Math.min(intFlag('max-entry', values['max-entry'], MAX_ENTRY_SIZE), MAX_ENTRY_SIZE);
  const { maxConnections, bodyBudgetBytes, requestTimeoutS } = serverLimitFlags(
    values,
    DEFAULT_BODY_BUDGET_MIB,
    MAX_RECORDS_BODY,
  );
  const witnessWaitMs = intFlag('witness-wait-ms', values['witness-wait-ms'], DEFAULT_WITNESS_WAIT_MS);
  if (witnessWaitMs < 1) throw new AuditlogError('BAD_REQUEST', '--witness-wait-ms must be at least 1');
  const port = intFlag('port', values.port, 8080);
  // What can be checked without the log is checked before the log is opened (or created): the
  // witness flags and policy, and config.json (the record layer reads it again when it opens).
  const pushConfig = parsePushConfig(values.witness, values.policy);
  checkConfigFile(dir);
  const log = await Log.open({
    dir,
    ...(origin ? { origin } : {}),
    maxBatchSize: intFlag('max-batch', values['max-batch'], 4096),
    maxBatchDelayMs: intFlag('max-delay-ms', values['max-delay-ms'], 0),
    maxBatchesAhead: batchesAhead,
    maxQueue: intFlag('queue', values.queue, 65536),
    maxEntrySize,
  });
  const out: string[] = [`auditlog: origin ${log.origin}`, `auditlog: vkey ${log.vkey}`];
  let recordLayer: Awaited<ReturnType<typeof openRecordLayer>> | undefined;
  let pusher: ReturnType<typeof startPusher>;
  let server: ReturnType<typeof serve> | undefined;
  try {
    const tokens = new TokenStore(log.db);
    if (fresh) out.push(`auditlog: admin token ${await createAdminToken(tokens)}`);
    // Record submissions take ?witnessed=1 too, through the same hook once the pusher exists.
    let witnessHook: AppContext['witnessReceipt'];
    // Answers waiting for witnesses hold at most as many bytes as bodies being received.
    recordLayer = await openRecordLayer(log, tokens, dir, () => witnessHook, bodyBudgetBytes);
    const ctx: AppContext = {
      log,
      tokens,
      config: {
        maxEntrySize,
        privateReads: values['private-reads'],
        maxBodyBytesInFlight: bodyBudgetBytes,
      },
      mounts: [recordLayer.mount],
    };
    pusher = startPusher(log, pushConfig);
    if (pusher) {
      const p = pusher;
      ctx.checkpointSource = p;
      ctx.witnessReceipt = (r) => witnessedReceipt(log, p, r, witnessWaitMs);
      witnessHook = ctx.witnessReceipt;
      ctx.mounts?.push({ path: '/v1', app: witnessStatusRoutes(p) });
      for (const w of p.status()) out.push(`auditlog: witness ${w.name} ${w.url}`);
    }
    const app = createApp(ctx);
    server = serve({
      fetch: app.fetch,
      port,
      hostname: values.host,
      serverOptions: httpServerOptions(requestTimeoutS),
    });
    // Set before the first connection is accepted (listen completes on a later tick).
    server.maxConnections = maxConnections;
    const listening = server;
    await new Promise<void>((resolve, reject) => {
      listening.once('listening', resolve);
      listening.once('error', (err) => reject(listenError(values.host, port, err)));
    });
  } catch (err) {
    // Nothing is served. Say what was made (a fresh directory's admin token is shown only once,
    // and this is that once), let go of what was opened, and fail: left open, the log's timers
    // and LevelDB would keep the process alive, holding the directory's lock, for ever.
    process.stdout.write(`${out.join('\n')}\n`);
    server?.close();
    await closeQuietly(pusher, recordLayer, log);
    throw err;
  }
  const addr = server.address() as AddressInfo;
  out.push(`auditlog: listening on http://${values.host}:${addr.port}`);
  return new Promise<number>((resolve) => {
    let stopping = false;
    const stop = async (signal: string) => {
      if (stopping) return;
      stopping = true;
      process.stdout.write(`auditlog: ${signal}: finishing the batch in flight and closing\n`);
      server.close();
      await pusher?.close();
      await recordLayer.close();
      await log.close();
      (server as { closeAllConnections?: () => void }).closeAllConnections?.();
      resolve(0);
    };
    // Handlers first, then the line that tells supervisors (and tests) the server is up.
    process.once('SIGTERM', () => void stop('SIGTERM'));
    process.once('SIGINT', () => void stop('SIGINT'));
    process.stdout.write(`${out.join('\n')}\n`);
  });
}
