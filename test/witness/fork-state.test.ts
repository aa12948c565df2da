/**
 * The forked state with real processes. Two log processes started from copies of one data
 * directory (same key, same origin) take different entries. Witness A is pushed to by log A and
 * pulls the view of witness B, which polls log B. Once A sees the split it stops cosigning log A:
 * add-checkpoint answers 403 and the cosignatures log A collects at /checkpoint stop advancing.
 * The state survives kill -9; `auditlog witness clear-fork` on the stopped witness clears it
 * (stderr, recorded) and cosigning resumes.
 */
import { cpSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeBase64 } from '../../src/note/encoding.js';
import type { Alert } from '../../src/witness/alerts.js';
import { makeToken, startServer, submit, type TestServer, tempDir } from '../helpers/server.js';
import { addCheckpoint, body, eventually, getJson, untilForked, type WitnessStatus } from './http.js';
import { runCli, startWitness } from './procs.js';

const enc = (s: string) => new TextEncoder().encode(s);
const ORIGIN = 'example.com/fork-state';

type Status = WitnessStatus;
interface LogWitnesses {
  witnesses: { name: string; size: string | null; last_error: string | null }[];
  witnessed: { size: string; checkpoint: string } | null;
}

describe('a witness that found a fork stops cosigning the log', () => {
  const procs = new Set<TestServer>();
  const track = (p: TestServer) => {
    procs.add(p);
    return p;
  };
  const stop = async (p: TestServer) => {
    procs.delete(p);
    return p.stop();
  };
  const root = tempDir('fork-state-');
  const wDir = join(root, 'wa');
  let token: string;
  let logA: TestServer;
  let logB: TestServer;
  let wA: TestServer;
  let wArgs: string[];
  let wPort: string;
  let logArgs: string[];
  let fork: { alert: string; since: string; detail: string };
  let cp4: string;
  let proof: Uint8Array[];

  beforeAll(async () => {
    const first = await startServer({ dir: join(root, 'a'), args: ['--origin', ORIGIN] });
    token = await makeToken(first, 'submitter');
    for (const e of ['common 0', 'common 1'])
      expect((await submit(first.url, token, enc(e))).status).toBe(200);
    expect(await first.stop()).toBe(0);
    cpSync(join(root, 'a'), join(root, 'b'), { recursive: true });

    logB = track(await startServer({ dir: join(root, 'b') }));
    const vkey = logB.vkey;
    const wB = track(
      await startWitness(join(root, 'wb'), 'witness.example/b', ['--log', `${vkey}=${logB.url}`]),
    );
    wArgs = ['--log', vkey, '--peer', wB.url];
    wA = track(await startWitness(wDir, 'witness.example/a', wArgs));
    wPort = new URL(wA.url).port;
    logArgs = ['--witness', `${wA.url}=${wA.vkey}`];
    logA = track(await startServer({ dir: join(root, 'a'), args: logArgs }));

    // Log A's checkpoint of the common history carries witness A's cosignature.
    await eventually(
      async () => {
        const cp = await (await fetch(`${logA.url}/checkpoint`)).text();
        return cp.includes('\n2\n') && cp.includes('\u2014 witness.example/a ') ? true : undefined;
      },
      15_000,
      'the common checkpoint cosigned by witness A',
    );
  });
  afterAll(async () => {
    await Promise.all([...procs].map((p) => p.stop()));
  });

  it('a split view puts witness A in the forked state, with the alert id', async () => {
    expect((await submit(logA.url, token, enc('only on A'))).status).toBe(200);
    expect((await submit(logB.url, token, enc('only on B'))).status).toBe(200);
    const status = await untilForked(wA.url);
    fork = status.logs[0]!.fork!;
    expect(status.logs[0]!.size).toBe('3');
    const alerts = (await getJson<{ alerts: Alert[] }>(`${wA.url}/v1/witness/alerts`)).alerts;
    expect(alerts.map((a) => [a.kind, a.id])).toEqual([['inconsistent', fork.alert]]);
    expect(fork.since).toBe(alerts[0]!.seen_at);
    expect(wA.output()).toContain(`auditlog witness: log ${ORIGIN} is forked (alert ${fork.alert})`);
  });

  it('then refuses add-checkpoint (403), and the cosignatures log A collects stop advancing', async () => {
    expect((await submit(logA.url, token, enc('A after the fork'))).status).toBe(200);
    const refused = await eventually(
      async () => {
        const s = await getJson<LogWitnesses>(`${logA.url}/v1/witnesses`);
        return s.witnesses[0]?.last_error?.includes('403') ? s : undefined;
      },
      15_000,
      'log A told 403 by witness A',
    );
    expect(refused.witnesses[0]!.last_error).toContain('is forked');
    expect(refused.witnesses[0]!.size).toBe('3');
    expect(refused.witnessed?.size).toBe('3');
    cp4 = await (await fetch(`${logA.url}/checkpoint`)).text();
    expect(cp4).toContain('\n4\n');
    expect(cp4).not.toContain('\u2014 witness.example/a ');
    const res = await fetch(`${logA.url}/ct/v1/get-sth-consistency?first=3&second=4`);
    proof = ((await res.json()) as { consistency: string[] }).consistency.map((h) => decodeBase64(h));
    const direct = await addCheckpoint(wA.url, body(3, proof, cp4));
    expect(direct.status).toBe(403);
    expect(direct.type).toContain('text/plain');
    expect(direct.text).toBe(
      `log ${ORIGIN} is forked (alert ${fork.alert}, since ${fork.since}); this witness no longer cosigns it\n`,
    );
    const views = await getJson<{ checkpoints: { checkpoint: string }[] }>(
      `${wA.url}/v1/witness/checkpoints`,
    );
    expect(views.checkpoints[0]!.checkpoint).toContain('\n3\n');
  });

  it('the forked state survives kill -9 of the witness', async () => {
    await wA.kill9();
    procs.delete(wA);
    wA = track(await startWitness(wDir, 'witness.example/a', [...wArgs, '--port', wPort]));
    expect(wA.output()).toContain(
      `auditlog witness: log ${ORIGIN} is forked since ${fork.since} (alert ${fork.alert})`,
    );
    expect((await getJson<Status>(`${wA.url}/v1/witness/status`)).logs[0]!.fork).toEqual(fork);
    expect((await addCheckpoint(wA.url, body(3, proof, cp4))).status).toBe(403);
  });

  it('clear-fork needs the witness stopped and a forked log; it is written to stderr', async () => {
    const locked = await runCli(['witness', 'clear-fork', '--data', wDir, '--log', ORIGIN]);
    expect(locked.code).toBe(1);
    expect(locked.stderr).toContain('in use by another process');
    expect(await stop(wA)).toBe(0);
    const unknown = await runCli(['witness', 'clear-fork', '--data', wDir, '--log', 'example.com/other']);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain(`is not forked (forked: "${ORIGIN}")`);
    const cleared = await runCli([
      'witness',
      'clear-fork',
      '--data',
      wDir,
      '--log',
      ORIGIN,
      '--reason',
      'split reviewed',
    ]);
    expect(cleared.code).toBe(0);
    expect(cleared.stderr).toContain(
      `auditlog witness: cleared the forked state of ${ORIGIN} (alert ${fork.alert}, forked since ${fork.since})`,
    );
    expect(cleared.stderr).toContain(': split reviewed;');
    expect((await runCli(['witness', 'clear-fork', '--data', wDir, '--log', ORIGIN])).code).toBe(1);
  });

  it('after clear-fork the witness cosigns log A again, and the clear is recorded', async () => {
    wA = track(await startWitness(wDir, 'witness.example/a', [...wArgs, '--port', wPort]));
    const after = (await getJson<Status>(`${wA.url}/v1/witness/status`)).logs[0]!;
    expect(after.fork).toBeNull();
    expect(after.cleared).toEqual([expect.objectContaining({ alert: fork.alert, reason: 'split reviewed' })]);
    // Log A, restarted so that it pushes at once, collects witness A's cosignature for size 4.
    expect(await stop(logA)).toBe(0);
    logA = track(await startServer({ dir: join(root, 'a'), args: logArgs }));
    await eventually(
      async () => {
        const cp = await (await fetch(`${logA.url}/checkpoint`)).text();
        return cp.includes('\n4\n') && cp.includes('\u2014 witness.example/a ') ? true : undefined;
      },
      15_000,
      'size 4 cosigned by witness A after the clear',
    );
    // Gossip rounds later (the peer still serves the other branch: the same evidence, not a new
    // fork), witness A is still cosigning and holds size 4.
    await new Promise((r) => setTimeout(r, 600));
    const final = (await getJson<Status>(`${wA.url}/v1/witness/status`)).logs[0]!;
    expect([final.size, final.fork]).toEqual(['4', null]);
    expect((await getJson<{ alerts: Alert[] }>(`${wA.url}/v1/witness/alerts`)).alerts).toHaveLength(1);
  });
});
