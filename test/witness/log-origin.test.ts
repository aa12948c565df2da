/**
 * Logs whose checkpoint origin is not their key's name, like the Go checksum database (origin
 * `go.sum database tree`, key `sum.golang.org`): the witness identifies a log by its origin
 * (tlog-witness), trusts for it the keys configured for that origin whatever their names, and
 * keeps, gossips, alerts and cosigns under the origin. A key trusts no other origin: a key with
 * the right name but configured for another log is an unknown key (403).
 */
import { createHash, createPublicKey, verify } from 'node:crypto';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { verifyCosignature } from '../../src/note/cosignature.js';
import { decodeBase64, encodeBase64 } from '../../src/note/encoding.js';
import { formatVerifierKey, parseVerifierKey, SIG_TYPE_COSIGNATURE_V1 } from '../../src/note/keys.js';
import { parseNote } from '../../src/note/note.js';
import { ed25519Signer } from '../../src/note/signer.js';
import type { Alert } from '../../src/witness/alerts.js';
import { applyLogOrigins, parseLogFlag, parseLogOriginFlag } from '../../src/witness/config.js';
import { openStateDB, tableRange } from '../../src/witness/db.js';
import { readCosignature } from '../../src/witness/wire.js';
import { Witness } from '../../src/witness/witness.js';
import { startServer, type TestServer, tempDir } from '../helpers/server.js';
import { FakeLog, serveLog } from './fake-log.js';
import { addCheckpoint, body, getJson, untilForked, type WitnessStatus } from './http.js';
import { runCli, startWitness } from './procs.js';
import { codeOf } from '../helpers/errors.js';

const GO_ORIGIN = 'go.sum database tree';
const KEY_NAME = 'sum.golang.org';
const NAME = 'witness.example/o';

/** The checksum database: key `sum.golang.org`, origin `go.sum database tree`. */
const sumdb = () => new FakeLog(ed25519Signer(KEY_NAME, new Uint8Array(32).fill(1)), GO_ORIGIN);
/** Another log whose key has the same name, and whose origin is that name (the default form). */
const sameName = () => new FakeLog(ed25519Signer(KEY_NAME, new Uint8Array(32).fill(2)));

type Status = WitnessStatus;

describe('--log-origin VKEY=ORIGIN', () => {
  const vkey = sumdb().vkey;
  const wVkey = formatVerifierKey('w.example', new Uint8Array(32).fill(9), SIG_TYPE_COSIGNATURE_V1);

  it('parses an origin with spaces, "=", "+" and ":" (everything after the vkey)', () => {
    expect(parseLogOriginFlag(`${vkey}=${GO_ORIGIN}`)).toEqual({
      key: parseVerifierKey(vkey),
      origin: GO_ORIGIN,
    });
    expect(parseLogOriginFlag(`${vkey}=a=b+c:d e`).origin).toBe('a=b+c:d e');
  });

  it.each([
    ['no origin', vkey],
    ['empty origin', `${vkey}=`],
    ['origin with a newline', `${vkey}=a\nb`],
    ['origin with a tab', `${vkey}=a\tb`],
    ['origin with a lone surrogate', `${vkey}=a\ud800`],
    ['junk after the key', `${vkey}x=${GO_ORIGIN}`],
    ['truncated key', `${vkey.slice(0, -1)}=${GO_ORIGIN}`],
    ['witness key', `${wVkey}=${GO_ORIGIN}`],
    ['no key', GO_ORIGIN],
  ])('rejects %s', (_, s) => {
    expect(codeOf(() => parseLogOriginFlag(s))).toBe('BAD_REQUEST');
  });

  it('gives the origin to the --log of that key only; refuses a key no --log gives, or two origins for one', () => {
    const other = sameName().vkey;
    const logs = [parseLogFlag(`${vkey}=http://127.0.0.1:1`), parseLogFlag(other)];
    const origin = parseLogOriginFlag(`${vkey}=${GO_ORIGIN}`);
    expect(applyLogOrigins(logs, [origin])).toEqual([
      { key: parseVerifierKey(vkey), url: 'http://127.0.0.1:1', origin: GO_ORIGIN },
      { key: parseVerifierKey(other) },
    ]);
    expect(codeOf(() => applyLogOrigins([logs[1]!], [origin]))).toBe('BAD_REQUEST');
    const again = parseLogOriginFlag(`${vkey}=elsewhere`);
    expect(codeOf(() => applyLogOrigins(logs, [origin, again]))).toBe('BAD_REQUEST');
  });
});

describe('a witness process cosigning a log whose origin is not its key name', () => {
  const log = sumdb().grow(8);
  const other = sameName().grow(5);
  const dir = join(tempDir('log-origin-'), 'w');
  const args = [
    '--name',
    NAME,
    '--log',
    log.vkey,
    '--log-origin',
    `${log.vkey}=${GO_ORIGIN}`,
    '--log',
    other.vkey,
    '--poll-ms',
    '600000',
  ];
  const start = () => startServer({ command: 'witness', dir, args });
  let w: TestServer;

  beforeAll(async () => {
    w = await start();
  });
  afterAll(async () => {
    await w?.stop();
  });

  it('cosigns it (200), and the cosignature is tlog-cosignature/v1 over the checkpoint text', async () => {
    const cp = await log.checkpoint(3);
    const r = await addCheckpoint(w.url, body(0, [], cp));
    expect(r.status).toBe(200);
    const wKey = parseVerifierKey(w.vkey);
    const sig = readCosignature(cp, r.text, wKey);
    verifyCosignature(parseNote(cp).text, sig, wKey);
    // Independently of src/note: key ID = SHA-256(name || "\n" || 0x04 || key)[:4]; the signed
    // message is the two header lines and the note text, whose first line is the origin.
    const raw = decodeBase64(r.text.slice(`\u2014 ${NAME} `.length, -1));
    expect(raw.length).toBe(4 + 72);
    const id = createHash('sha256')
      .update(Buffer.concat([Buffer.from(`${NAME}\n`), Buffer.from([0x04]), wKey.publicKey]))
      .digest()
      .subarray(0, 4);
    expect(Buffer.from(raw.subarray(0, 4))).toEqual(id);
    const time = Buffer.from(raw.subarray(4, 12)).readBigUInt64BE();
    const message = `cosignature/v1\ntime ${time}\n${GO_ORIGIN}\n3\n${encodeBase64(log.root(3))}\n`;
    const spki = Buffer.concat([Buffer.from('302a300506032b6570032100', 'hex'), wKey.publicKey]);
    const pub = createPublicKey({ key: spki, format: 'der', type: 'spki' });
    expect(verify(null, Buffer.from(message), pub, raw.subarray(12))).toBe(true);
  });

  it('403 for a checkpoint signed by a key of the right name configured for another origin', async () => {
    // Origin go.sum database tree, signed by the key (also named sum.golang.org) of the log
    // whose origin is sum.golang.org.
    const byOther = new FakeLog(other.signer, GO_ORIGIN);
    byOther.leaves.push(...log.leaves);
    const r = await addCheckpoint(w.url, body(3, await log.proof(3, 5), await byOther.checkpoint(5)));
    expect(r.status).toBe(403);
    // The other way round: origin sum.golang.org signed by the checksum database's key.
    const byLog = new FakeLog(log.signer);
    byLog.leaves.push(...other.leaves);
    expect((await addCheckpoint(w.url, body(0, [], await byLog.checkpoint(5)))).status).toBe(403);
    // A new key of that name, trusted for nothing.
    const stranger = new FakeLog(ed25519Signer(KEY_NAME, new Uint8Array(32).fill(3)), GO_ORIGIN);
    stranger.leaves.push(...log.leaves);
    expect(
      (await addCheckpoint(w.url, body(3, await log.proof(3, 5), await stranger.checkpoint(5)))).status,
    ).toBe(403);
    // An origin no key is configured for: 404.
    const unknown = new FakeLog(log.signer, 'go.sum database tree/2');
    unknown.leaves.push(...log.leaves);
    expect((await addCheckpoint(w.url, body(0, [], await unknown.checkpoint(3)))).status).toBe(404);
  });

  it('still cosigns the log whose origin is its key name (the --log VKEY form)', async () => {
    const r = await addCheckpoint(w.url, body(0, [], await other.checkpoint(5)));
    expect(r.status).toBe(200);
    verifyCosignature(
      parseNote(await other.checkpoint(5)).text,
      readCosignature(await other.checkpoint(5), r.text, parseVerifierKey(w.vkey)),
      parseVerifierKey(w.vkey),
    );
  });

  it('gossips and reports both logs by origin, each with its own key', async () => {
    expect((await addCheckpoint(w.url, body(3, await log.proof(3, 6), await log.checkpoint(6)))).status).toBe(
      200,
    );
    const views = await getJson<{ checkpoints: { origin: string; checkpoint: string }[] }>(
      `${w.url}/v1/witness/checkpoints`,
    );
    const byOrigin = new Map(views.checkpoints.map((v) => [v.origin, v.checkpoint]));
    expect([...byOrigin.keys()].sort()).toEqual([GO_ORIGIN, KEY_NAME]);
    expect(byOrigin.get(GO_ORIGIN)!.startsWith(`${GO_ORIGIN}\n6\n`)).toBe(true);
    expect(parseNote(byOrigin.get(GO_ORIGIN)!).signatures.map((s) => s.name)).toEqual([KEY_NAME, NAME]);
    const status = await getJson<Status>(`${w.url}/v1/witness/status`);
    expect(status.logs.map((l) => [l.origin, l.keys, l.size])).toEqual([
      [GO_ORIGIN, [log.vkey], '6'],
      [KEY_NAME, [other.vkey], '5'],
    ]);
  });

  it('a fork of it is alerted and forked under its origin, stored as log/<origin>, cleared by origin', async () => {
    const forked = await log.fork(5).grow(1, 'fork').checkpoint(6);
    const r = await addCheckpoint(w.url, body(6, [], forked));
    expect(r.status).toBe(409);
    const alerts = (await getJson<{ alerts: Alert[] }>(`${w.url}/v1/witness/alerts`)).alerts;
    expect(alerts.map((a) => [a.kind, a.origin])).toEqual([['inconsistent', GO_ORIGIN]]);
    const refused = await addCheckpoint(w.url, body(6, [], await log.checkpoint(6)));
    expect(refused.status).toBe(403);
    expect(refused.text).toContain(`log ${GO_ORIGIN} is forked (alert ${alerts[0]!.id}`);
    // The other log is not affected.
    expect((await addCheckpoint(w.url, body(5, [], await other.checkpoint(5)))).status).toBe(200);

    expect(await w.stop()).toBe(0);
    const db = await openStateDB(join(dir, 'db'));
    try {
      const keys = async (t: string) => {
        const out: string[] = [];
        for await (const k of db.keys(tableRange(t))) out.push(k);
        return out;
      };
      expect(await keys('log')).toEqual([`log/${GO_ORIGIN}`, `log/${KEY_NAME}`]);
      expect(await keys('fork')).toEqual([`fork/${GO_ORIGIN}`]);
    } finally {
      await db.close();
    }
    const cleared = await runCli(['witness', 'clear-fork', '--data', dir, '--log', GO_ORIGIN]);
    expect(cleared.code).toBe(0);
    w = await start();
    // Cosigned again from the checkpoint it held, which it reloaded under its origin.
    expect((await addCheckpoint(w.url, body(0, [], await log.checkpoint(6)))).text).toBe('6\n');
    expect((await addCheckpoint(w.url, body(6, await log.proof(6, 8), await log.checkpoint(8)))).status).toBe(
      200,
    );
  });
});

describe('polling and gossip for a log whose origin is not its key name', () => {
  const closers: (() => Promise<unknown>)[] = [];
  afterEach(async () => {
    for (const c of closers.splice(0).reverse()) await c();
  });

  it('a poll cosigns and stores the checkpoint under the origin; one of another origin is not stored', async () => {
    const log = sumdb().grow(6);
    let serving = () => log.checkpoint(4);
    const srv = await serveLog(log, () => serving());
    closers.push(srv.close);
    const lines: string[] = [];
    const w = await Witness.open({
      dir: join(tempDir('log-origin-poll-'), 'w'),
      name: NAME,
      logs: [{ key: parseVerifierKey(log.vkey), url: srv.url, origin: GO_ORIGIN }],
      stderr: { write: (s: string) => lines.push(s) },
    });
    closers.push(() => w.close());
    expect(w.witnessedLogs).toEqual([{ key: parseVerifierKey(log.vkey), url: srv.url, origin: GO_ORIGIN }]);
    await w.poll(w.witnessedLogs[0]!);
    expect(w.view(GO_ORIGIN)?.checkpoint.size).toBe(4n);
    expect(w.view(KEY_NAME)).toBeUndefined();
    // The log's key signs a checkpoint whose origin is the key name: not this log's checkpoint.
    const misnamed = new FakeLog(log.signer);
    misnamed.leaves.push(...log.leaves);
    serving = () => misnamed.checkpoint(6);
    await w.poll(w.witnessedLogs[0]!);
    expect(w.view(GO_ORIGIN)?.checkpoint.size).toBe(4n);
    expect(lines.join('')).toContain(`poll ${GO_ORIGIN}: origin ${KEY_NAME}`);
    // A consistent extension (proof fetched from the log) is cosigned.
    serving = () => log.checkpoint(6);
    await w.poll(w.witnessedLogs[0]!);
    expect(w.view(GO_ORIGIN)?.checkpoint.size).toBe(6n);
    // A peer's view is compared under the origin. One whose origin line is another (here the
    // key name), even signed by this log's key, is not this log's checkpoint: no evidence.
    const otherTree = new FakeLog(log.signer).grow(6, 'other');
    expect(await w.checkView(GO_ORIGIN, await otherTree.checkpoint(6), 'http://peer.example')).toBe(
      'unknown',
    );
    expect(await w.alerts.list()).toEqual([]);
    // A fork of size 6 is an alert about it.
    const fork = await log.fork(5).grow(1, 'fork').checkpoint(6);
    expect(await w.checkView(GO_ORIGIN, fork, 'http://peer.example')).toBe('alert');
    expect((await w.alerts.list()).map((a) => [a.kind, a.origin])).toEqual([['inconsistent', GO_ORIGIN]]);
    expect(w.fork(GO_ORIGIN)).toBeDefined();
  });

  it('a pin names the log by its origin, and a signed pin verifies under its keys', async () => {
    const log = sumdb().grow(6);
    const w = await Witness.open({
      dir: join(tempDir('log-origin-pin-'), 'w'),
      name: NAME,
      logs: [{ key: parseVerifierKey(log.vkey), origin: GO_ORIGIN }],
      pins: [{ origin: GO_ORIGIN, size: 4n, root: log.root(4), note: await log.checkpoint(4) }],
      stderr: { write: () => true },
    });
    closers.push(() => w.close());
    expect(await w.addCheckpoint(body(0, [], await log.checkpoint(6)))).toEqual({ status: 409, size: 4n });
    expect((await w.addCheckpoint(body(4, await log.proof(4, 6), await log.checkpoint(6)))).status).toBe(200);
  });

  it('peered witness processes polling a split view raise an inconsistent alert about the origin', async () => {
    const log = sumdb().grow(4);
    const split = log.fork(2).grow(2, 'split');
    const srvA = await serveLog(log, () => log.checkpoint(4));
    const srvB = await serveLog(split, () => split.checkpoint(4));
    closers.push(srvA.close, srvB.close);
    const root = tempDir('log-origin-gossip-');
    const flags = (url: string) => [
      '--log',
      `${log.vkey}=${url}`,
      '--log-origin',
      `${log.vkey}=${GO_ORIGIN}`,
    ];
    const wB = await startWitness(join(root, 'wb'), 'witness.example/b', flags(srvB.url));
    closers.push(() => wB.stop());
    const wA = await startWitness(join(root, 'wa'), 'witness.example/a', [
      ...flags(srvA.url),
      '--peer',
      wB.url,
    ]);
    closers.push(() => wA.stop());
    const status = await untilForked(wA.url);
    expect(status.logs.map((l) => [l.origin, l.size])).toEqual([[GO_ORIGIN, '4']]);
    const alerts = (await getJson<{ alerts: Alert[] }>(`${wA.url}/v1/witness/alerts`)).alerts;
    expect(alerts.map((a) => [a.kind, a.origin])).toEqual([['inconsistent', GO_ORIGIN]]);
    const [mine, theirs] = alerts[0]!.checkpoints;
    expect(parseNote(mine!).text).toBe(parseNote(await log.checkpoint(4)).text);
    expect(parseNote(theirs!).text).toBe(parseNote(await split.checkpoint(4)).text);
    const viewsB = await getJson<{ checkpoints: { origin: string }[] }>(`${wB.url}/v1/witness/checkpoints`);
    expect(viewsB.checkpoints.map((v) => v.origin)).toEqual([GO_ORIGIN]);
  });
});
