/**
 * The monitor as a real process (`auditlog monitor --once`) against real log processes: it
 * verifies a log, resumes from its stored position after a restart (without downloading what it
 * verified before), catches a log whose served entries no longer match its tiles and checkpoint
 * (a tampered copy of the data directory), reports entries that claim to be records but are not,
 * and warns when a log is stale.
 */
import { execFile, spawn } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { bundleKey } from '../../src/storage/keys.js';
import { Monitor } from '../../src/monitor/monitor.js';
import { parseVerifierKey } from '../../src/note/keys.js';
import { Log } from '../../src/sequencer/log.js';
import type { Alert } from '../../src/witness/alerts.js';
import { BIN, makeToken, startServer, submit, type TestServer, tempDir } from '../helpers/server.js';
import { eventually } from '../witness/http.js';
import { startWebhook } from '../witness/procs.js';

const run = promisify(execFile);
const enc = (s: string) => new TextEncoder().encode(s);

async function monitor(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [BIN, 'monitor', '--once', ...args], {
      timeout: 60_000,
    });
    return { code: 0, stdout, stderr };
  } catch (e) {
    const err = e as { code: number; stdout: string; stderr: string };
    return { code: err.code, stdout: err.stdout, stderr: err.stderr };
  }
}

async function fill(
  server: TestServer,
  token: string,
  from: number,
  to: number,
  body = (i: number) => `entry ${i}`,
) {
  for (let i = from; i < to; i += 50) {
    const batch = [];
    for (let j = i; j < Math.min(to, i + 50); j++) batch.push(submit(server.url, token, enc(body(j))));
    for (const r of await Promise.all(batch)) expect(r.status).toBe(200);
  }
}

describe('auditlog monitor', () => {
  const stops: (() => Promise<unknown>)[] = [];
  afterAll(async () => {
    for (const s of stops) await s();
  });

  it('verifies, resumes after restart, and catches a tampered copy', async () => {
    const root = tempDir('monitor-');
    const dir = join(root, 'log');
    // Entries are appended in process while no server runs (fast); the server serves them.
    let l = await Log.open({ dir, origin: 'example.com/monitored' });
    await Promise.all(Array.from({ length: 300 }, (_, i) => l.append(enc(`entry ${i}`))));
    await l.close();
    let log = await startServer({ dir });
    const data = join(root, 'mon');
    const first = await monitor(['--log', `${log.vkey}=${log.url}`, '--data', data]);
    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);
    expect(first.stdout).toMatch(/verified example\.com\/monitored size 300 /);

    // The log grows, and the first full entry bundle in its database is tampered with.
    expect(await log.stop()).toBe(0);
    l = await Log.open({ dir });
    await Promise.all(Array.from({ length: 50 }, (_, i) => l.append(enc(`entry ${300 + i}`))));
    const bundle = (await l.db.get(bundleKey(0n)))!;
    const tampered = Uint8Array.from(bundle);
    tampered[2]! ^= 0x01;
    await l.db.put(bundleKey(0n), tampered);
    await l.close();
    log = await startServer({ dir });
    stops.push(() => log.stop());
    const url = `${log.vkey}=${log.url}`;

    // The monitor resumes at 300: it never downloads bundle 0 again, so it verifies 350.
    const second = await monitor(['--log', url, '--data', data]);
    expect(second.code).toBe(0);
    expect(second.stdout).toMatch(/verified example\.com\/monitored size 350 /);

    // A fresh monitor downloads everything and sees the tampered entry.
    const hook = await startWebhook();
    stops.push(hook.close);
    const fresh = await monitor(['--log', url, '--data', join(root, 'fresh'), '--alert-webhook', hook.url]);
    expect(fresh.code).toBe(3);
    expect(fresh.stdout).not.toMatch(/verified/);
    const kinds = (hook.received as Alert[]).map((a) => a.kind).sort();
    expect(kinds).toEqual(['root-mismatch', 'tile-mismatch']);
    const rootAlert = (hook.received as Alert[]).find((a) => a.kind === 'root-mismatch')!;
    expect(rootAlert.checkpoints).toHaveLength(1);
    expect(rootAlert.checkpoints[0]).toContain('\n350\n');
    expect(fresh.stderr).toContain('ALERT ');
  });

  it('reports entries that claim to be records but are not, and stale logs', async () => {
    const dir = join(tempDir('monitor-records-log-'), 'data');
    const first = await startServer({ dir, args: ['--origin', 'example.com/records'] });
    const token = await makeToken(first, 'submitter');
    await fill(first, token, 0, 12);
    // The server takes no entry that claims the record schema on /v1/entries (only the record
    // layer writes record leaves), escaped or not; so the bad one is written past the server,
    // as a log that misbehaves would.
    const forged = '{"schema":"auditlog.record/v1","record_id":"x"}';
    expect((await submit(first.url, token, enc(forged))).status).toBe(400);
    expect((await submit(first.url, token, enc(' {"schema":"auditlog.record\\/v2"}'))).status).toBe(400);
    await first.stop();
    const direct = await Log.open({ dir });
    await direct.append(enc(forged));
    await direct.close();
    const log = await startServer({ dir });
    stops.push(() => log.stop());
    const logs = [{ key: parseVerifierKey(log.vkey), url: log.url }];
    const lines: string[] = [];
    const quiet = { write: (x: string) => lines.push(x) };
    let clock = 1_000_000;
    const m = await Monitor.open({
      dir: join(tempDir('monitor-records-'), 'mon'),
      logs,
      staleAfterMs: 60_000,
      stderr: quiet,
      stdout: quiet,
      now: () => clock,
    });
    stops.push(() => m.close());
    expect((await m.passAll())[0]?.alerts).toBe(1);
    const [bad] = await m.alerts.list();
    expect(bad?.kind).toBe('bad-entry');
    // Plain entries are fine unless every entry must be a record.
    expect(bad?.detail).toMatch(/^entry 12: leaf\./);
    const strict = await Monitor.open({
      dir: join(tempDir('monitor-strict-'), 'mon'),
      logs,
      requireRecords: true,
      stderr: quiet,
      stdout: quiet,
    });
    stops.push(() => strict.close());
    await strict.passAll();
    // Thirteen bad entries: the alert quotes ten and counts the rest.
    const strictDetail = (await strict.alerts.list())[0]?.detail ?? '';
    expect(strictDetail).toMatch(/^entry 0: not a record leaf; entry 1: /);
    expect(strictDetail.match(/entry \d+:/g)).toHaveLength(10);
    expect(strictDetail).toMatch(/ \(and 3 more\)$/);
    // Nothing new: no warning within the interval, one stale alert after it (not repeated).
    clock += 60_000;
    await m.passAll();
    expect(lines.join('')).not.toContain('stale');
    clock += 1;
    await m.passAll();
    await m.passAll();
    expect((await m.alerts.list()).map((a) => a.kind)).toEqual(['bad-entry', 'stale']);
    expect(lines.join('').match(/warning: example\.com\/records is stale/g)).toHaveLength(1);
  });

  it('follows a growing log until SIGTERM', async () => {
    const log = await startServer({ args: ['--origin', 'example.com/followed'] });
    stops.push(() => log.stop());
    const token = await makeToken(log, 'submitter');
    await fill(log, token, 0, 5);
    const data = join(tempDir('monitor-follow-'), 'mon');
    const proc = spawn(
      process.execPath,
      [BIN, 'monitor', '--poll-ms', '100', '--log', `${log.vkey}=${log.url}`, '--data', data],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let out = '';
    proc.stdout.on('data', (d) => {
      out += d;
    });
    proc.stderr.on('data', (d) => {
      out += d;
    });
    const exited = new Promise<number | null>((r) => proc.once('exit', (c) => r(c)));
    await eventually(async () => (out.includes(' size 5 ') ? true : undefined), 15_000, 'size 5 verified');
    await fill(log, token, 5, 9);
    await eventually(async () => (out.includes(' size 9 ') ? true : undefined), 15_000, 'size 9 verified');
    proc.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(out).not.toContain('ALERT');
  });

  it('rejects malformed flags', async () => {
    for (const args of [
      ['--log', 'nonsense'],
      ['--log', 'a+00000000+AAAA=http://x'],
    ]) {
      const r = await monitor(args);
      expect(r.code, args.join(' ')).not.toBe(0);
    }
  });
});
