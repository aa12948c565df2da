/**
 * The log side with real processes: a log pushing to two witnesses serves at /checkpoint a
 * checkpoint carrying both cosignatures, and receipts asked with ?witnessed=1 verify offline
 * against a tlog-policy file requiring both.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parsePolicy } from '../../src/client/policy.js';
import { verifyCheckpoint, verifyReceipt } from '../../src/client/verify.js';
import { parseReceipt } from '../../src/client/receipt.js';
import { cli, makeToken, startServer, submit, type TestServer, tempDir } from '../helpers/server.js';
import { eventually } from './http.js';
import { initLog, startWitness } from './procs.js';

describe('a log with two witnesses', () => {
  const root = tempDir('witnessed-log-');
  let log: TestServer;
  let w1: TestServer;
  let w2: TestServer;
  let logVkey: string;
  let adminToken: string;
  let policy: string;

  beforeAll(async () => {
    ({ vkey: logVkey, adminToken } = await initLog(join(root, 'log'), 'example.com/witnessed'));
    [w1, w2] = await Promise.all([
      startWitness(join(root, 'w1'), 'witness.example/one', ['--log', logVkey]),
      startWitness(join(root, 'w2'), 'witness.example/two', ['--log', logVkey]),
    ]);
    policy = `log ${logVkey}\nwitness one ${w1.vkey}\nwitness two ${w2.vkey}\ngroup both all one two\nquorum both\n`;
    const policyFile = join(root, 'policy.txt');
    writeFileSync(policyFile, policy);
    log = await startServer({
      dir: join(root, 'log'),
      args: [
        '--witness',
        `${w1.url}=${w1.vkey}`,
        '--witness',
        `${w2.url}=${w2.vkey}`,
        '--policy',
        policyFile,
      ],
    });
  });
  afterAll(async () => {
    await Promise.all([log?.stop(), w1?.stop(), w2?.stop()]);
  });

  it('/checkpoint carries both cosignatures', async () => {
    const token = await makeToken({ url: log.url, adminToken }, 'submitter');
    for (let i = 0; i < 3; i++)
      expect((await submit(log.url, token, new TextEncoder().encode(`entry ${i}`))).status).toBe(200);
    const note = await eventually(
      async () => {
        const text = await (await fetch(`${log.url}/checkpoint`)).text();
        return text.includes('\n3\n') &&
          text.includes('witness.example/one') &&
          text.includes('witness.example/two')
          ? text
          : undefined;
      },
      15_000,
      'a checkpoint of size 3 with both cosignatures',
    );
    const v = verifyCheckpoint(note, logVkey, { policy: parsePolicy(policy) });
    expect(v.checkpoint.size).toBe(3n);
    expect(v.cosigners.sort()).toEqual(['one', 'two']);
    const status = (await (await fetch(`${log.url}/v1/witnesses`)).json()) as {
      witnesses: { name: string; size: string | null; last_error: string | null }[];
      witnessed: { size: string; checkpoint: string } | null;
    };
    expect(status.witnesses.map((x) => [x.name, x.size, x.last_error])).toEqual([
      ['witness.example/one', '3', null],
      ['witness.example/two', '3', null],
    ]);
    expect(status.witnessed?.size).toBe('3');
  });

  it('?witnessed=1 answers a receipt that meets the policy', async () => {
    const token = await makeToken({ url: log.url, adminToken }, 'submitter');
    const res = await fetch(`${log.url}/v1/entries?witnessed=1`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/octet-stream' },
      body: new TextEncoder().encode('witnessed entry'),
    });
    expect(res.status).toBe(200);
    const receipt = parseReceipt(await res.json());
    const v = verifyReceipt(receipt, logVkey, { policy: parsePolicy(policy) });
    expect(v.latest.cosigners.sort()).toEqual(['one', 'two']);
    // Without witnesses the same policy refuses the plain receipt.
    const plain = await submit(log.url, token, new TextEncoder().encode('plain entry'));
    expect(() => verifyReceipt(parseReceipt(plain.body), logVkey, { policy: parsePolicy(policy) })).toThrow(
      expect.objectContaining({ code: 'QUORUM_NOT_MET' }),
    );
  });

  it('auditlog verify --policy --log --out upgrades receipts cosigned by nobody to a checkpoint that meets the policy', async () => {
    const token = await makeToken({ url: log.url, adminToken }, 'submitter');
    const plain = [0, 1].map(
      async (i) => (await submit(log.url, token, new TextEncoder().encode(`old ${i}`))).body,
    );
    const lines = (await Promise.all(plain)).map((r) => `${JSON.stringify(r)}\n`).join('');
    const file = join(root, 'old-receipts.jsonl');
    writeFileSync(file, lines);
    // Offline, the policy refuses them: nobody cosigned their checkpoints.
    const offline = await cli('verify', file, '--vkey', logVkey, '--policy', join(root, 'policy.txt'));
    expect(offline.code).toBe(1);
    expect(offline.stderr).toContain('QUORUM_NOT_MET');
    const out = join(root, 'upgraded.jsonl');
    const up = await eventually(
      async () => {
        const r = await cli(
          'verify',
          file,
          '--vkey',
          logVkey,
          '--policy',
          join(root, 'policy.txt'),
          '--log',
          log.url,
          '--out',
          out,
        );
        return r.code === 0 ? r : undefined;
      },
      15_000,
      'an upgrade to a checkpoint cosigned by both witnesses',
    );
    expect(up.stdout).toMatch(
      /^OK: 2 receipts .*consistent with the log's current checkpoint .*witnesses: (one, two|two, one)\n$/,
    );
    const again = await cli('verify', out, '--vkey', logVkey, '--policy', join(root, 'policy.txt'));
    expect(again.code).toBe(0);
  });

  it('POST /v1/records?witnessed=1 answers record receipts that meet the policy', async () => {
    const token = await makeToken({ url: log.url, adminToken }, 'submitter');
    const record = {
      tenant_id: 'tnt_acme',
      request_id: 'req_witnessed',
      action: 'tool_invoked',
      actor_id: 'billing-assistant',
      actor_type: 'agent',
      client_timestamp: '2026-05-16T14:23:18.421Z',
    };
    const res = await fetch(`${log.url}/v1/records?witnessed=1`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ records: [record, { ...record, request_id: 'req_witnessed_2' }] }),
    });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { records: Record<string, unknown>[] };
    expect(body.records.length).toBe(2);
    for (const r of body.records) {
      expect(typeof r.record_id).toBe('string');
      const v = verifyReceipt(parseReceipt(r), logVkey, { policy: parsePolicy(policy) });
      expect(v.latest.cosigners.sort()).toEqual(['one', 'two']);
    }
    const bad = await fetch(`${log.url}/v1/records?witnessed=yes`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify(record),
    });
    expect(bad.status).toBe(400);
  });

  it('after a log restart the pusher learns each witness size from a 409 and resends', async () => {
    expect(await log.stop()).toBe(0);
    log = await startServer({
      dir: join(root, 'log'),
      args: [
        '--witness',
        `${w1.url}=${w1.vkey}`,
        '--witness',
        `${w2.url}=${w2.vkey}`,
        '--policy',
        join(root, 'policy.txt'),
      ],
    });
    const token = await makeToken({ url: log.url, adminToken }, 'submitter');
    expect((await submit(log.url, token, new TextEncoder().encode('after restart'))).status).toBe(200);
    const size = verifyCheckpoint(await (await fetch(`${log.url}/checkpoint`)).text(), logVkey).checkpoint
      .size;
    const note = await eventually(
      async () => {
        const text = await (await fetch(`${log.url}/checkpoint`)).text();
        const v = verifyCheckpoint(text, logVkey, { policy: parsePolicy(policy) });
        return v.checkpoint.size === size ? v : undefined;
      },
      15_000,
      'a fully cosigned checkpoint after the restart',
    );
    expect(note.cosigners.sort()).toEqual(['one', 'two']);
  });

  it('rejects a malformed witnessed parameter', async () => {
    const token = await makeToken({ url: log.url, adminToken }, 'submitter');
    const res = await fetch(`${log.url}/v1/entries?witnessed=yes`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/octet-stream' },
      body: new TextEncoder().encode('x'),
    });
    expect(res.status).toBe(400);
  });
});

describe('a witness that is down when the log starts', () => {
  const stops: (() => Promise<unknown>)[] = [];
  afterAll(async () => {
    for (const s of stops) await s();
  });

  it('is pushed to once it comes up', async () => {
    const root = tempDir('late-witness-');
    // Create the witness key (to know its vkey), then take the witness down and keep its port.
    const first = await startWitness(join(root, 'w'), 'witness.example/late', []);
    const port = new URL(first.url).port;
    const vkey = first.vkey;
    expect(await first.stop()).toBe(0);
    const { vkey: logVkey, adminToken } = await initLog(join(root, 'log'), 'example.com/late');
    const log = await startServer({
      dir: join(root, 'log'),
      args: ['--witness', `http://127.0.0.1:${port}=${vkey}`],
    });
    stops.push(() => log.stop());
    const token = await makeToken({ url: log.url, adminToken }, 'submitter');
    expect((await submit(log.url, token, new TextEncoder().encode('x'))).status).toBe(200);
    const w = await startWitness(join(root, 'w'), 'witness.example/late', ['--port', port, '--log', logVkey]);
    stops.push(() => w.stop());
    const v = await eventually(
      async () => {
        const text = await (await fetch(`${log.url}/checkpoint`)).text();
        return text.includes('witness.example/late')
          ? verifyCheckpoint(text, logVkey, { policy: parsePolicy(`witness w ${vkey}\nquorum w\n`) })
          : undefined;
      },
      20_000,
      'a cosignature from the late witness',
    );
    expect(v.checkpoint.size).toBe(1n);
    expect(log.output()).toMatch(/auditlog: witness http:\/\/127\.0\.0\.1:\d+: /);
  });

  it('?witnessed=1 with the witness down answers 202 with the receipt, not witnessed, and no Retry-After', async () => {
    const root = tempDir('down-witness-');
    const first = await startWitness(join(root, 'w'), 'witness.example/down', []);
    const vkey = first.vkey;
    expect(await first.stop()).toBe(0);
    const { vkey: logVkey, adminToken } = await initLog(join(root, 'log'), 'example.com/down');
    const log = await startServer({
      dir: join(root, 'log'),
      args: ['--witness', `${first.url}=${vkey}`, '--witness-wait-ms', '300'],
    });
    stops.push(() => log.stop());
    const token = await makeToken({ url: log.url, adminToken }, 'submitter');
    const post = (path: string, type: string, body: string) =>
      fetch(`${log.url}${path}?witnessed=1`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': type },
        body,
      });
    const res = await post('/v1/entries', 'application/octet-stream', 'kept once');
    expect(res.status).toBe(202);
    expect(res.headers.get('retry-after')).toBeNull();
    const body = (await res.json()) as { receipt: unknown; detail: string };
    expect(body).toMatchObject({ witnessed: false, code: 'QUORUM_NOT_MET', receipt: { index: 0 } });
    expect(body.detail).toMatch(/appended to the log.*do not submit it again/);
    // The receipt is valid, only not witnessed: it verifies with the log key alone.
    expect(verifyReceipt(parseReceipt(body.receipt), logVkey).index).toBe(0n);
    const record = { tenant_id: 't1', action: 'tool_invoked', actor_id: 'bot', actor_type: 'agent' };
    const one = await post('/v1/records', 'application/json', JSON.stringify(record));
    expect(one.status).toBe(202);
    expect(((await one.json()) as { record: { index: number } }).record.index).toBe(1);
    const rec = await post('/v1/records', 'application/json', JSON.stringify({ records: [record, record] }));
    expect(rec.status).toBe(202);
    const recBody = (await rec.json()) as { records: Record<string, unknown>[]; witnessed: boolean };
    expect(recBody.witnessed).toBe(false);
    expect(recBody.records.map((r) => r.index)).toEqual([2, 3]);
    for (const r of recBody.records) verifyReceipt(parseReceipt(r), logVkey);
    expect((await (await fetch(`${log.url}/v1/log`)).json()) as { tree_size: number }).toMatchObject({
      tree_size: 4,
    });
  });
  it('record answers waiting for witnesses are bounded in bytes: past the budget, 202 OVERLOADED at once', async () => {
    const root = tempDir('wait-budget-');
    const first = await startWitness(join(root, 'w'), 'witness.example/gone', []);
    const vkey = first.vkey;
    expect(await first.stop()).toBe(0);
    const { adminToken } = await initLog(join(root, 'log'), 'example.com/wait-budget');
    // The waiting answers may hold as many bytes as bodies in flight: 8 MiB here.
    const log = await startServer({
      dir: join(root, 'log'),
      args: [
        '--witness',
        `${first.url}=${vkey}`,
        '--witness-wait-ms',
        '60000',
        '--max-inflight-body-mib',
        '8',
      ],
    });
    stops.push(() => log.stop());
    const token = await makeToken({ url: log.url, adminToken }, 'submitter');
    const record = { tenant_id: 't1', action: 'tool_invoked', actor_id: 'bot', actor_type: 'agent' };
    const body = JSON.stringify({ records: Array.from({ length: 1000 }, () => record) });
    const started = Date.now();
    // ~1.3 MB of answer each: a few fit the budget and wait the full minute; the rest do not.
    const answers = Array.from({ length: 12 }, () =>
      fetch(`${log.url}/v1/records?witnessed=1`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body,
      }).then(
        async (res) => ({
          status: res.status,
          body: (await res.json()) as { code?: string; records?: unknown[] },
        }),
        () => undefined,
      ),
    );
    const fast = await Promise.race([
      Promise.all(answers).then(() => 'all'),
      new Promise((r) => setTimeout(r, 10_000, 'some')),
    ]);
    expect(fast).toBe('some');
    const settled = (await Promise.all(answers.map((a) => Promise.race([a, Promise.resolve(null)])))).filter(
      (a) => a !== null && a !== undefined,
    );
    expect(settled.length).toBeGreaterThan(0);
    for (const a of settled) {
      expect(a).toMatchObject({ status: 202, body: { code: 'OVERLOADED' } });
      expect(a!.body.records).toHaveLength(1000);
    }
    expect(settled.length).toBeLessThan(12);
    expect(Date.now() - started).toBeLessThan(60_000);
  });
});
