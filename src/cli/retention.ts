/**
 * `auditlog retention run --data DIR [--now ISO-TIME] [--json]`: one retention run
 * (spec/retention.md). Opens the log, so the server must not be running on DIR (LevelDB allows
 * one process); inside `serve` the same job runs on a schedule. `--now` moves the job's clock,
 * for tests and for seeing what a future run would do; it acts for real.
 */
import { parseArgs } from 'node:util';
import { AuditlogError } from '../errors.js';
import { runRetention } from '../records/retention-job.js';
import { isCalendarDateTime } from '../records/schema.js';
import { RecordService } from '../records/service.js';
import { Log } from '../sequencer/log.js';
import { required } from './args.js';

const HELP = `usage: auditlog retention run --data DIR [--now ISO-TIME] [--json]
  moves records past their hot period into archive bundles, deletes bundles past their
  retention (unless under a legal hold), and logs every change. Stop the server first.
  Exits 1 when a bundle failed its read-back check (reported; the run goes on without it).
`;

const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/;

export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      data: { type: 'string' },
      now: { type: 'string' },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help || positionals[0] !== 'run' || positionals.length !== 1) {
    process.stdout.write(HELP);
    return values.help ? 0 : 2;
  }
  const dir = required('data', values.data);
  let nowMs = Date.now();
  if (values.now !== undefined) {
    nowMs = Date.parse(values.now);
    if (!RFC3339.test(values.now) || !isCalendarDateTime(values.now) || Number.isNaN(nowMs)) {
      throw new AuditlogError(
        'BAD_REQUEST',
        '--now must be an RFC 3339 date-time, e.g. 2027-01-01T00:00:00Z',
      );
    }
  }
  let log: Log;
  try {
    log = await Log.open({ dir });
  } catch (err) {
    if (err instanceof AuditlogError && err.code === 'STORAGE' && /in use/.test(err.message)) {
      throw new AuditlogError(
        'STORAGE',
        `${err.message}: stop the server first, or ask it with POST /v1/retention/run (admin token)`,
      );
    }
    throw err;
  }
  try {
    const svc = await RecordService.open({ log, dataDir: dir, now: () => nowMs });
    const report = await runRetention(svc, { nowMs });
    await svc.close();
    if (values.json) {
      process.stdout.write(`${JSON.stringify(report)}\n`);
    } else {
      const lines = [`auditlog: retention run at ${report.now}`];
      for (const r of report.recovered) lines.push(`recovered ${r}`);
      for (const a of report.archived) lines.push(`archived ${a.name} (${a.count} records)`);
      for (const d of report.deleted) lines.push(`deleted ${d.name} (${d.count} records)`);
      for (const h of report.held) lines.push(`held ${h.name} by ${h.holds.join(', ')}`);
      for (const f of report.failed)
        lines.push(`FAILED ${f.tenant_id} ${f.first_index}..${f.last_index}: ${f.reason}`);
      process.stdout.write(`${lines.join('\n')}\n`);
    }
    return report.failed.length > 0 ? 1 : 0;
  } finally {
    await log.close();
  }
}
