/**
 * Pinned starting checkpoints instead of trust on first use, with real witness processes: the
 * first checkpoint must be the pinned one or extend it by a verified consistency proof, given in
 * add-checkpoint or fetched from the log when polling; otherwise it is refused and alerted.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signCheckpoint } from '../../src/note/checkpoint.js';
import { encodeBase64 } from '../../src/note/encoding.js';
import { ed25519Signer } from '../../src/note/signer.js';
import { readKeyFile } from '../../src/storage/data-dir.js';
import type { Alert } from '../../src/witness/alerts.js';
import { makeToken, startServer, submit, type TestServer, tempDir } from '../helpers/server.js';
import { FakeLog } from './fake-log.js';
import { addCheckpoint, body, eventually } from './http.js';
import { runCli, startWitness } from './procs.js';

interface Status {
  logs: {
    origin: string;
    size: string | null;
    source: string | null;
    pin: { size: string; root: string; signed: boolean; applies: boolean } | null;
    fork: { alert: string } | null;
  }[];
}

const getJson = async <T>(url: string): Promise<T> => (await fetch(url)).json() as Promise<T>;

describe('a witness pinned to a size and root (add-checkpoint)', () => {
  const log = FakeLog.create('example.com/pinned').grow(8);
  let w: TestServer;

  beforeAll(async () => {
    w = await startWitness(join(tempDir('pin-'), 'w'), 'witness.example/p', [
      '--log',
      log.vkey,
      '--pin',
      `${log.origin}:5:${encodeBase64(log.root(5))}`,
    ]);
  });
  afterAll(async () => {
    await w?.stop();
  });

  it('answers as if it had cosigned the pin: 409 with size 5 to old 0', async () => {
    const r = await addCheckpoint(w.url, body(0, [], await log.checkpoint(8)));
    expect(r.status).toBe(409);
    expect(r.type).toBe('text/x.tlog.size');
    expect(r.text).toBe('5\n');
    const s = (await getJson<Status>(`${w.url}/v1/witness/status`)).logs[0]!;
    expect(s.size).toBeNull();
    expect(s.pin).toEqual({ size: '5', root: encodeBase64(log.root(5)), signed: false, applies: true });
  });

  it('refuses an inconsistent first checkpoint: same size (409, pin-mismatch alert), larger (422)', async () => {
    const fork = log.fork(3).grow(5, 'fork');
    const fork5 = await fork.checkpoint(5);
    const same = await addCheckpoint(w.url, body(5, [], fork5));
    expect(same.status).toBe(409);
    expect(same.type).not.toContain('text/x.tlog.size');
    const { alerts } = await getJson<{ alerts: Alert[] }>(`${w.url}/v1/witness/alerts`);
    expect(alerts.map((a) => a.kind)).toEqual(['pin-mismatch']);
    expect(alerts[0]!.checkpoints).toEqual([fork5]);
    expect(alerts[0]!.sources).toEqual(['add-checkpoint']);
    expect(alerts[0]!.detail).toContain(`pinned: size 5, root ${encodeBase64(log.root(5))}`);
    // The fork's own proof from 5 to 8 does not start from the pinned root.
    expect(
      (await addCheckpoint(w.url, body(5, await fork.proof(5, 8), await fork.checkpoint(8)))).status,
    ).toBe(422);
    // A pin without the log's signature is not proof of a fork: the log is not in the forked state.
    const s = (await getJson<Status>(`${w.url}/v1/witness/status`)).logs[0]!;
    expect([s.size, s.fork]).toEqual([null, null]);
  });

  it('accepts a consistent first checkpoint, and then the pin no longer applies', async () => {
    const r = await addCheckpoint(w.url, body(5, await log.proof(5, 8), await log.checkpoint(8)));
    expect(r.status).toBe(200);
    const s = (await getJson<Status>(`${w.url}/v1/witness/status`)).logs[0]!;
    expect([s.size, s.source, s.pin?.applies]).toEqual(['8', 'add-checkpoint', false]);
    expect((await addCheckpoint(w.url, body(0, [], await log.checkpoint(8)))).text).toBe('8\n');
  });
});

describe('a witness pinned to a signed checkpoint (polling a real log)', () => {
  const enc = (s: string) => new TextEncoder().encode(s);
  const procs: TestServer[] = [];
  let log: TestServer;
  let cp2: string;
  const root = tempDir('pin-log-');

  beforeAll(async () => {
    log = await startServer({ dir: join(root, 'log'), args: ['--origin', 'example.com/pin-log'] });
    procs.push(log);
    const token = await makeToken(log, 'submitter');
    for (const e of ['e0', 'e1']) expect((await submit(log.url, token, enc(e))).status).toBe(200);
    cp2 = await (await fetch(`${log.url}/checkpoint`)).text();
    expect((await submit(log.url, token, enc('e2'))).status).toBe(200);
  });
  afterAll(async () => {
    await Promise.all(procs.map((p) => p.stop()));
  });

  it('cosigns the log when its checkpoint extends the pin (proof fetched from the log)', async () => {
    const file = join(root, 'pin-good.txt');
    writeFileSync(file, cp2);
    const w = await startWitness(join(root, 'w-good'), 'witness.example/good', [
      '--log',
      `${log.vkey}=${log.url}`,
      '--pin-checkpoint',
      file,
    ]);
    procs.push(w);
    const s = await eventually(
      async () => {
        const st = (await getJson<Status>(`${w.url}/v1/witness/status`)).logs[0]!;
        return st.size !== null ? st : undefined;
      },
      10_000,
      'the first checkpoint cosigned',
    );
    expect([s.size, s.source, s.pin?.signed, s.pin?.applies, s.fork]).toEqual([
      '3',
      log.url,
      true,
      false,
      null,
    ]);
    expect((await getJson<{ alerts: Alert[] }>(`${w.url}/v1/witness/alerts`)).alerts).toEqual([]);
  });

  it('refuses and alerts when the log cannot prove its checkpoint extends a signed pin (a fork)', async () => {
    // A checkpoint of size 2 signed with the log's own key (as a compromised operator could) but
    // with another root: what a witness shown a split view would have been given.
    const key = readKeyFile(log.dir);
    const forged = await signCheckpoint(
      { origin: key.name, size: 2n, root: new Uint8Array(32).fill(7), extensions: [] },
      ed25519Signer(key.name, key.seed),
    );
    const file = join(root, 'pin-forged.txt');
    writeFileSync(file, forged);
    const w = await startWitness(join(root, 'w-bad'), 'witness.example/bad', [
      '--log',
      `${log.vkey}=${log.url}`,
      '--pin-checkpoint',
      file,
    ]);
    procs.push(w);
    const alert = await eventually(
      async () => (await getJson<{ alerts: Alert[] }>(`${w.url}/v1/witness/alerts`)).alerts[0],
      10_000,
      'an alert',
    );
    expect(alert.kind).toBe('inconsistent');
    expect(alert.checkpoints[0]).toBe(forged);
    expect(alert.checkpoints[1]).toContain('\n3\n');
    expect(alert.sources).toEqual(['pin', log.url]);
    expect(alert.proof?.old_size).toBe('2');
    expect(alert.proof?.new_size).toBe('3');
    // Both signed by the log: proof of a fork, so the log is in the forked state, never cosigned.
    const s = (await getJson<Status>(`${w.url}/v1/witness/status`)).logs[0]!;
    expect([s.size, s.fork?.alert]).toEqual([null, alert.id]);
    const current = await (await fetch(`${log.url}/checkpoint`)).text();
    expect((await addCheckpoint(w.url, body(0, [], current))).status).toBe(403);
  });

  it('refuses to start with a pin not signed by the log, or for a log it does not witness', async () => {
    const other = FakeLog.create('example.com/pin-log').grow(2);
    const file = join(root, 'pin-other-key.txt');
    writeFileSync(file, await other.checkpoint(2));
    const base = ['witness', '--data', join(root, 'w-refused'), '--name', 'witness.example/r', '--port', '0'];
    const badKey = await runCli([...base, '--log', log.vkey, '--pin-checkpoint', file]);
    expect(badKey.code).toBe(1);
    expect(badKey.stderr).toContain('pinned checkpoint of example.com/pin-log');
    const notWitnessed = await runCli([
      ...base,
      '--log',
      log.vkey,
      '--pin',
      `example.com/elsewhere:2:${encodeBase64(new Uint8Array(32))}`,
    ]);
    expect(notWitnessed.code).toBe(1);
    expect(notWitnessed.stderr).toContain('pin for example.com/elsewhere, which is not a witnessed log');
  });
});
