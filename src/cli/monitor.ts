/**
 * `auditlog monitor --log VKEY=URL [--log ...] [--log-origin VKEY=ORIGIN ...] [--log-token URL=FILE ...] [--data DIR]
 *   [--alert-webhook URL] [--once] [--poll-ms MS] [--stale-after MS] [--records] [--name NAME]`
 * Follows logs from outside (spec/witness.md, "Monitor"). A log is its checkpoint origin: the
 * key name unless a --log-origin for its key gives another, as for the witness. With --once:
 * one pass, then exit 0 when everything verified, 3 when an alert was raised, 1 when a log
 * could not be read.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { AuditlogError, oneLine } from '../errors.js';
import { Monitor } from '../monitor/monitor.js';
import {
  applyLogOrigins,
  applyLogTokens,
  parseLogFlag,
  parseLogOriginFlag,
  parseMs,
  parseWebhookUrl,
} from '../witness/config.js';

const HELP = `usage: auditlog monitor --log VKEY=URL [--log ...] [options]
  --log VKEY=URL        a log key (type 0x01) and where to read the log (repeatable); the log's
                        origin is the key name unless --log-origin says otherwise; several
                        keys with one origin and URL are all trusted for it (a key rotation)
  --log-origin VKEY=ORIGIN  the origin line of the log whose --log key is VKEY, when it is not
                        the key name (e.g. the Go checksum database's 'go.sum database tree')
  --log-token URL=FILE  send the token in FILE (mode 0600) with every read of the log at URL
                        (a log served with --private-reads; an auditor token will do)
  --data DIR            keep the position and alerts here (default: a temporary directory)
  --alert-webhook URL   POST every alert (JSON) here, retried until 2xx
  --once                one pass, then exit (0 verified, 3 a check failed, 1 log unreadable)
  --poll-ms MS          interval between passes (default 5000)
  --stale-after MS      warn when the checkpoint has not changed for this long (default 86400000)
  --records             every entry must be an auditlog record leaf
  --name NAME           the name written into alerts (default monitor)
`;

export async function run(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      log: { type: 'string', multiple: true, default: [] },
      'log-origin': { type: 'string', multiple: true, default: [] },
      'log-token': { type: 'string', multiple: true, default: [] },
      data: { type: 'string' },
      'alert-webhook': { type: 'string' },
      once: { type: 'boolean', default: false },
      'poll-ms': { type: 'string' },
      'stale-after': { type: 'string' },
      records: { type: 'boolean', default: false },
      name: { type: 'string' },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    process.stdout.write(HELP);
    return 0;
  }
  const logs = (
    await applyLogTokens(
      applyLogOrigins(values.log.map(parseLogFlag), values['log-origin'].map(parseLogOriginFlag)),
      values['log-token'],
    )
  ).map(({ key, url, origin, token }) => {
    if (url === undefined) throw new AuditlogError('BAD_REQUEST', '--log wants VKEY=URL');
    return {
      key,
      url,
      ...(origin === undefined ? {} : { origin }),
      ...(token === undefined ? {} : { token }),
    };
  });
  if (logs.length === 0) throw new AuditlogError('BAD_REQUEST', '--log is required');
  const pollMs = parseMs(values['poll-ms'], 5000, '--poll-ms');
  const staleAfterMs = parseMs(values['stale-after'], 24 * 3600 * 1000, '--stale-after');
  const temp = values.data === undefined ? mkdtempSync(join(tmpdir(), 'auditlog-monitor-')) : undefined;
  const monitor = await Monitor.open({
    dir: values.data ?? temp!,
    logs,
    staleAfterMs,
    requireRecords: values.records,
    ...(values.name ? { name: values.name } : {}),
    ...(values['alert-webhook'] ? { webhook: parseWebhookUrl(values['alert-webhook']) } : {}),
  });
  const report = (results: Awaited<ReturnType<Monitor['passAll']>>) => {
    for (const r of results)
      if (r.error) process.stderr.write(`auditlog monitor: ${r.origin}: ${oneLine(r.error)}\n`);
  };
  try {
    if (values.once) {
      const results = await monitor.passAll();
      report(results);
      // Give the webhook a moment to take what was raised; the outbox keeps the rest.
      if (values['alert-webhook'] && results.some((r) => r.alerts > 0)) await drain(monitor, 10_000);
      // 3 also when the alert was raised by an earlier run: the log still fails its checks.
      if (results.some((r) => r.alerts > 0 || r.failed)) return 3;
      return results.some((r) => r.error) ? 1 : 0;
    }
    return await new Promise<number>((resolve) => {
      let stopped = false;
      let timer: NodeJS.Timeout | undefined;
      let current: Promise<unknown> = Promise.resolve();
      const tick = () => {
        current = monitor
          .passAll()
          .then(report)
          .catch((e: Error) => process.stderr.write(`auditlog monitor: ${oneLine(e.message)}\n`))
          .finally(() => {
            if (!stopped) timer = setTimeout(tick, pollMs);
          });
      };
      const stop = async () => {
        stopped = true;
        clearTimeout(timer);
        await current;
        resolve(0);
      };
      process.once('SIGTERM', () => void stop());
      process.once('SIGINT', () => void stop());
      tick();
    });
  } finally {
    await monitor.close();
    if (temp) rmSync(temp, { recursive: true, force: true });
  }
}

async function drain(monitor: Monitor, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline && (await monitor.alerts.pending()) > 0) {
    await new Promise((r) => setTimeout(r, 100));
  }
}
