/**
 * `auditlog monitor --log-origin VKEY=ORIGIN`, as a real process against logs served over HTTP:
 * a log whose checkpoint origin is not its key's name (the Go checksum database: origin
 * `go.sum database tree`, key `sum.golang.org`) is verified, its state stored and its alerts
 * raised under the origin; a checkpoint of any other origin signed by that key, even one equal
 * to the key name, is refused; and a data directory written without the flag (state under the
 * key name, which is the origin) is read as before, next to a log given one.
 */
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { formatVerifierKey } from '../../src/note/keys.js';
import { ed25519Signer, type Signer } from '../../src/note/signer.js';
import type { Alert } from '../../src/witness/alerts.js';
import { openStateDB, tableRange } from '../../src/witness/db.js';
import { cli, tempDir } from '../helpers/server.js';
import { startWebhook } from '../witness/procs.js';
import { TileLog } from './tile-log.js';

const GO_ORIGIN = 'go.sum database tree';
const KEY_NAME = 'sum.golang.org';

const vkeyOf = (log: TileLog) => formatVerifierKey(log.signer.name, log.signer.publicKey);

/** The flags naming one log key: `--log VKEY=URL`, and `--log-origin VKEY=ORIGIN` when given. */
const logFlags = (vkey: string, url: string, origin?: string) => [
  '--log',
  `${vkey}=${url}`,
  ...(origin === undefined ? [] : ['--log-origin', `${vkey}=${origin}`]),
];

/** One pass of `auditlog monitor --once` with `flags`, keeping its state in `data`. */
const monitorOnce = (data: string, ...flags: string[]) => cli('monitor', '--once', ...flags, '--data', data);

/** The monitor's stored positions: origin → verified size (from the `mon/` table). */
async function positions(data: string): Promise<Record<string, string>> {
  const db = await openStateDB(join(data, 'db'));
  try {
    const out: Record<string, string> = {};
    for await (const [k, v] of db.iterator(tableRange('mon'))) {
      const note = (JSON.parse(v) as { verified: { note: string } | null }).verified?.note;
      out[k.slice('mon/'.length)] = note?.split('\n')[1] ?? 'none';
    }
    return out;
  } finally {
    await db.close();
  }
}

describe('auditlog monitor --log-origin', () => {
  const cleanup: (() => Promise<unknown>)[] = [];
  afterAll(async () => {
    for (const c of cleanup) await c();
  });

  /** A log signed by the key `sum.golang.org` whose checkpoints carry `origin`. */
  async function sumdb(origin: string, seed: number, entries: number): Promise<TileLog> {
    const log = new TileLog(ed25519Signer(KEY_NAME, new Uint8Array(32).fill(seed)), origin).grow(entries);
    await log.publish();
    await log.start();
    cleanup.push(() => log.stop());
    return log;
  }

  it('verifies a log whose origin is not its key name, and stores and alerts under the origin', async () => {
    const log = await sumdb(GO_ORIGIN, 1, 300);
    const vkey = vkeyOf(log);
    const hook = await startWebhook();
    cleanup.push(hook.close);
    const data = join(tempDir('monitor-origin-'), 'mon');
    const args = [...logFlags(vkey, log.url, GO_ORIGIN), '--alert-webhook', hook.url];
    const first = await monitorOnce(data, ...args);
    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);
    expect(first.stdout).toMatch(/^auditlog monitor: verified go\.sum database tree size 300 /);
    expect(await positions(data)).toEqual({ [GO_ORIGIN]: '300' });
    // Its directories are its owner's only, as every data directory of auditlog.
    for (const d of [data, join(data, 'db')]) expect(statSync(d).mode & 0o077, d).toBe(0);

    // It grows: the monitor resumes from its position under the origin (bundle 0 not fetched again).
    log.grow(20);
    await log.publish();
    const fetched = log.requests.filter((p) => p.startsWith('tile/entries/000')).length;
    const second = await monitorOnce(data, ...args);
    expect(second.code).toBe(0);
    expect(second.stdout).toMatch(/verified go\.sum database tree size 320 /);
    expect(log.requests.filter((p) => p.startsWith('tile/entries/000')).length).toBe(fetched);
    expect(await positions(data)).toEqual({ [GO_ORIGIN]: '320' });

    // The log signs another root at the verified size: an alert under the origin.
    await log.publish(320, new Uint8Array(32).fill(7));
    const fork = await monitorOnce(data, ...args);
    expect(fork.code).toBe(3);
    const alerts = hook.received as Alert[];
    expect(alerts.map((a) => [a.kind, a.origin])).toEqual([['inconsistent', GO_ORIGIN]]);
    expect(alerts[0]!.checkpoints[0]).toMatch(/^go\.sum database tree\n320\n/);
    expect(fork.stderr).toContain('ALERT ');
  });

  it('refuses a checkpoint of another origin by the same key, even one equal to the key name', async () => {
    const log = await sumdb(KEY_NAME, 2, 10);
    const vkey = vkeyOf(log);
    const data = join(tempDir('monitor-origin-other-'), 'mon');
    const r = await monitorOnce(data, ...logFlags(vkey, log.url, GO_ORIGIN));
    expect(r.code).toBe(1);
    expect(r.stdout).not.toMatch(/verified/);
    expect(r.stderr).toContain(`${GO_ORIGIN}: origin ${KEY_NAME} is not ${GO_ORIGIN}`);
    expect(await positions(data)).toEqual({});
  });

  it('reads a data directory written without --log-origin as before, next to a log given one', async () => {
    const plain = new TileLog().grow(300);
    await plain.publish();
    await plain.start();
    cleanup.push(() => plain.stop());
    const plainArgs = ['--log', `${vkeyOf(plain)}=${plain.url}`];
    const data = join(tempDir('monitor-origin-old-'), 'mon');
    // A data directory as the monitor has always written it: the position under the key name.
    const old = await cli('monitor', '--once', ...plainArgs, '--data', data);
    expect(old.code).toBe(0);
    expect(await positions(data)).toEqual({ 'example.com/tile-log': '300' });

    plain.grow(10);
    await plain.publish();
    const sum = await sumdb(GO_ORIGIN, 3, 5);
    const vkey = vkeyOf(sum);
    const fetched = plain.requests.filter((p) => p.startsWith('tile/entries/000')).length;
    const r = await monitorOnce(data, ...plainArgs, ...logFlags(vkey, sum.url, GO_ORIGIN));
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/verified example\.com\/tile-log size 310 /);
    expect(r.stdout).toMatch(/verified go\.sum database tree size 5 /);
    // The first log resumed from its stored position: bundle 0 was not downloaded again.
    expect(plain.requests.filter((p) => p.startsWith('tile/entries/000')).length).toBe(fetched);
    expect(await positions(data)).toEqual({ 'example.com/tile-log': '310', [GO_ORIGIN]: '5' });
  });

  it('pools the keys of one origin (a key rotation): checkpoints signed by either verify, with one position', async () => {
    const oldKey = ed25519Signer('example.com/rotating', new Uint8Array(32).fill(6));
    const newKey = ed25519Signer('example.com/rotating-2026', new Uint8Array(32).fill(7));
    // The log signs with whichever key is current.
    let current = oldKey;
    const signer: Signer = {
      get name() {
        return current.name;
      },
      get publicKey() {
        return current.publicKey;
      },
      sign: (m) => current.sign(m),
    };
    const log = new TileLog(signer, 'example.com/rotating').grow(300);
    await log.publish();
    await log.start();
    cleanup.push(() => log.stop());
    const oldVkey = formatVerifierKey(oldKey.name, oldKey.publicKey);
    const newVkey = formatVerifierKey(newKey.name, newKey.publicKey);
    const data = join(tempDir('monitor-rotation-'), 'mon');
    const args = [...logFlags(oldVkey, log.url), ...logFlags(newVkey, log.url, 'example.com/rotating')];
    const first = await monitorOnce(data, ...args);
    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);
    // One pass for the one log, not one per key.
    expect(first.stdout).toMatch(/^auditlog monitor: verified example\.com\/rotating size 300 root \S+\n$/);

    current = newKey;
    log.grow(20);
    await log.publish();
    const fetched = log.requests.filter((p) => p.startsWith('tile/entries/000')).length;
    const second = await monitorOnce(data, ...args);
    expect(second.stderr).toBe('');
    expect(second.code).toBe(0);
    expect(second.stdout).toMatch(/^auditlog monitor: verified example\.com\/rotating size 320 /);
    expect(log.requests.filter((p) => p.startsWith('tile/entries/000')).length).toBe(fetched);
    expect(await positions(data)).toEqual({ 'example.com/rotating': '320' });

    // A key of neither: the log cannot be read this pass, and nothing moves.
    current = ed25519Signer('example.com/rotating', new Uint8Array(32).fill(8));
    log.grow(1);
    await log.publish();
    const unknown = await monitorOnce(data, ...args);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('example.com/rotating: no signature by a known key');
    expect(await positions(data)).toEqual({ 'example.com/rotating': '320' });

    // One origin with two URLs, or one key given twice, refuses the start.
    const twoUrls = await monitorOnce(
      data,
      ...logFlags(oldVkey, log.url),
      ...logFlags(newVkey, 'http://127.0.0.1:1', 'example.com/rotating'),
    );
    expect(twoUrls.code).toBe(1);
    expect(twoUrls.stderr).toContain('two URLs for origin example.com/rotating');
    const twice = await monitorOnce(data, ...logFlags(oldVkey, log.url), ...logFlags(oldVkey, log.url));
    expect(twice.code).toBe(1);
    expect(twice.stderr).toContain('log key of example.com/rotating given twice');
  });

  it('refuses a --log-origin whose key no --log gives, or two for one key', async () => {
    const a = new TileLog(ed25519Signer(KEY_NAME, new Uint8Array(32).fill(4)), GO_ORIGIN);
    const b = new TileLog(ed25519Signer(KEY_NAME, new Uint8Array(32).fill(5)));
    const data = join(tempDir('monitor-origin-flags-'), 'mon');
    const log = ['--log', `${vkeyOf(a)}=http://127.0.0.1:1`, '--data', data];
    const unknown = await cli('monitor', '--once', ...log, '--log-origin', `${vkeyOf(b)}=${GO_ORIGIN}`);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('--log-origin names the key of sum.golang.org, which no --log gives');
    const twice = await cli(
      'monitor',
      '--once',
      ...log,
      '--log-origin',
      `${vkeyOf(a)}=${GO_ORIGIN}`,
      '--log-origin',
      `${vkeyOf(a)}=elsewhere`,
    );
    expect(twice.code).toBe(1);
    expect(twice.stderr).toContain('two --log-origin for the key of sum.golang.org');
    const bad = await cli('monitor', '--once', ...log, '--log-origin', `${vkeyOf(a)}=`);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('--log-origin');
  });
});
