/**
 * Done means (issue 3): the whole story through HTTP against a real server process.
 * Requires a build (`npm test` builds first).
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { verifyConsistency } from '../../src/merkle/verify.js';
import { openCheckpoint } from '../../src/note/checkpoint.js';
import { decodeBase64 } from '../../src/note/encoding.js';
import { parseVerifierKey } from '../../src/note/keys.js';
import type { ArchiveBundle } from '../../src/records/archive.js';
import { parseLeaf } from '../../src/records/leaf.js';
import { type RecordReadJSON, verifyRecordRead } from '../../src/records/verify-read.js';
import { BIN, makeToken, startServer, type TestServer, tempDir, callJson } from '../helpers/server.js';
import { exampleRecord } from './fixtures.js';
import { filesContaining, verifyReceiptJSON } from './helpers.js';

const DAY = 86_400_000;

interface Submitted {
  record_id: string;
  entry: string;
  index: number;
  tree_size: number;
  leaf_hash: string;
  inclusion_proof: string[];
  checkpoint: string;
  origin: string;
}

const call = (server: TestServer, method: string, route: string, token: string, body?: unknown) =>
  callJson(server.url, method, route, token, body);

function cli(...args: string[]): { code: number | null; out: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8' });
  return { code: r.status, out: `${r.stdout}${r.stderr}` };
}

const servers: TestServer[] = [];
const dirs: string[] = [];
afterAll(async () => {
  for (const s of servers) if (s.proc.exitCode === null) await s.stop();
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

describe('compliance records end to end (issue 3, done means)', () => {
  it('two tenants, audited read, hold, erasure, retention and offline archive verification', async () => {
    const root = tempDir();
    dirs.push(root);
    const dir = path.join(root, 'data');
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    // tnt_acme keeps records 6 years (HIPAA); tnt_beta has the default, SOC 2 (1 year). 90 hot days.
    fs.writeFileSync(
      path.join(dir, 'config.json'),
      JSON.stringify({ retention: { tenants: { tnt_acme: 'hipaa' } } }),
    );
    let server = await startServer({ dir });
    servers.push(server);
    const admin = server.adminToken!;
    const subA = await makeToken(server, 'submitter', { name: 'agent-acme', tenant: 'tnt_acme' });
    const subB = await makeToken(server, 'submitter', { name: 'agent-beta', tenant: 'tnt_beta' });
    const audA = await makeToken(server, 'auditor', { name: 'auditor-alice', tenant: 'tnt_acme' });
    const audB = await makeToken(server, 'auditor', { name: 'auditor-bob', tenant: 'tnt_beta' });

    const marker = `ERASE-ME-${process.pid}-${Date.now()}`;
    const betaMarker = `BETA-${process.pid}-${Date.now()}`;
    const toErase = { ...exampleRecord(), input: { user_message: `my secret ${marker}` } };
    const toKeep = { ...exampleRecord(), user_id: 'patient-1', output: { final_text: 'kept answer' } };
    const beta = {
      ...exampleRecord(),
      tenant_id: 'tnt_beta',
      user_id: 'beta-user',
      input: { user_message: `beta says ${betaMarker}` },
    };

    // Records from two tenants; each answer carries record_id, entry and the receipt.
    const a = await call(server, 'POST', '/v1/records', subA, { records: [toErase, toKeep] });
    expect(a.status).toBe(200);
    const acmeRecords = a.json.records as Submitted[];
    const b = await call(server, 'POST', '/v1/records', subB, beta);
    expect(b.status).toBe(200);
    const betaRecord = b.json as unknown as Submitted;
    const receipts: Submitted[] = [...acmeRecords, betaRecord];
    for (const r of receipts) {
      verifyReceiptJSON(r, server.vkey, r.entry);
      expect(parseLeaf(decodeBase64(r.entry)).record_id).toBe(r.record_id);
    }

    // Tenant isolation and strict validation.
    expect((await call(server, 'POST', '/v1/records', subA, beta)).status).toBe(403);
    expect((await call(server, 'GET', `/v1/records/${acmeRecords[0]!.index}`, audB)).status).toBe(403);
    expect((await call(server, 'GET', `/v1/records/${acmeRecords[0]!.index}`, subA)).status).toBe(403);
    const bad = await call(server, 'POST', '/v1/records', subA, {
      ...toKeep,
      model: { name: 'm', temperature: 1 },
    });
    expect(bad.status).toBe(400);
    expect(bad.json.detail).toBe('model.temperature: unknown field');

    // The audited read, and the access record it leaves naming the auditor's token name.
    const read = await call(server, 'GET', `/v1/records/${acmeRecords[0]!.index}`, audA);
    expect(read.status).toBe(200);
    expect((read.json.record as { input: { user_message: string } }).input.user_message).toBe(
      `my secret ${marker}`,
    );
    expect((read.json.fields as { status: string }[]).every((f) => f.status === 'verified')).toBe(true);
    verifyReceiptJSON(read.json.proof as Submitted, server.vkey, read.json.entry as string);
    // The auditor need not trust the "verified" flags: the answer proves its cleartext itself.
    const { proven } = verifyRecordRead(
      read.json as unknown as RecordReadJSON,
      parseVerifierKey(server.vkey),
    );
    expect(proven).toContain('/input/user_message');
    const access = read.json.access as Submitted;
    const accessRead = await call(server, 'GET', `/v1/records/${access.index}`, audA);
    expect(accessRead.json.record).toMatchObject({
      action: 'data_accessed',
      actor_id: 'auditor-alice',
      resource_id: acmeRecords[0]!.record_id,
    });
    expect(Buffer.from(decodeBase64(access.entry)).toString()).not.toContain(audA);
    receipts.push(access);

    // A legal hold blocks the erasure until it is lifted.
    const hold = await call(server, 'POST', '/v1/holds', admin, { subject: 'patient-7731' });
    expect(hold.status).toBe(201);
    const blocked = await call(server, 'POST', '/v1/subjects/patient-7731/erase', admin);
    expect(blocked.status).toBe(423);
    expect(blocked.json.code).toBe('LEGAL_HOLD');
    expect((await call(server, 'DELETE', `/v1/holds/${hold.json.id as string}`, admin)).status).toBe(200);

    // The erasure.
    const erased = await call(server, 'POST', '/v1/subjects/patient-7731/erase', admin);
    expect(erased.status).toBe(200);
    expect(erased.json.tenants).toMatchObject([{ tenant_id: 'tnt_acme', records_erased: 1 }]);
    expect(erased.json.scrub).toMatchObject({ found: 0, skipped: false });
    const after = await call(server, 'GET', `/v1/records/${acmeRecords[0]!.index}`, audA);
    expect(after.json.status).toBe('erased');
    expect(JSON.stringify(after.json)).not.toContain(marker);
    expect((await call(server, 'GET', `/v1/records/${acmeRecords[1]!.index}`, audA)).json.status).toBe('hot');

    expect(await server.stop()).toBe(0);
    // The marker is nowhere under the data directory, and every receipt still verifies.
    expect(filesContaining(dir, marker)).toEqual([]);
    for (const r of receipts) verifyReceiptJSON(r, server.vkey, r.entry);

    // A retention run 100 days on: records past their 90 hot days go into verified archives.
    const t0 = Date.parse(parseLeaf(decodeBase64(betaRecord.entry)).logged_at);
    const run1 = cli(
      'retention',
      'run',
      '--data',
      dir,
      '--now',
      new Date(t0 + 100 * DAY).toISOString(),
      '--json',
    );
    expect(run1.code, run1.out).toBe(0);
    const report1 = JSON.parse(run1.out) as { archived: { name: string; tenant_id: string }[] };
    expect(report1.archived.map((x) => x.tenant_id).sort()).toEqual(['tnt_acme', 'tnt_beta']);
    const archiveDir = path.join(dir, 'archive');
    const betaArchive = path.join(archiveDir, report1.archived.find((x) => x.tenant_id === 'tnt_beta')!.name);
    for (const x of report1.archived) {
      const v = cli('archive', 'verify', path.join(archiveDir, x.name), '--vkey', server.vkey);
      expect(v.code, v.out).toBe(0);
    }
    // A tampered copy fails with the index and the reason.
    const bundle = JSON.parse(fs.readFileSync(betaArchive, 'utf8')) as ArchiveBundle;
    const betaCipher = decodeBase64(bundle.records[0]!.body!);
    const tampered = structuredClone(bundle);
    tampered.records[0]!.body = Buffer.from(betaCipher.map((x, i) => (i === 20 ? x ^ 1 : x))).toString(
      'base64',
    );
    const tamperedFile = path.join(root, 'tampered.json');
    fs.writeFileSync(tamperedFile, JSON.stringify(tampered));
    const tv = cli('archive', 'verify', tamperedFile, '--vkey', server.vkey);
    expect(tv.code).toBe(1);
    expect(tv.out).toContain(`FAIL index ${betaRecord.index}: body does not match`);
    // The archived bodies are gone from the hot store's files.
    expect(filesContaining(path.join(dir, 'db'), betaCipher.subarray(13, 45))).toEqual([]);

    // Past beta's year of retention: its archive is deleted (and logged); acme's (6 years) stays.
    const run2 = cli(
      'retention',
      'run',
      '--data',
      dir,
      '--now',
      new Date(t0 + 400 * DAY).toISOString(),
      '--json',
    );
    expect(run2.code, run2.out).toBe(0);
    expect(
      (JSON.parse(run2.out) as { deleted: { tenant_id: string }[] }).deleted.map((x) => x.tenant_id),
    ).toEqual(['tnt_beta']);
    expect(fs.existsSync(betaArchive)).toBe(false);
    expect(filesContaining(dir, betaCipher.subarray(13, 45))).toEqual([]);
    expect(filesContaining(dir, betaMarker)).toEqual([]);

    // Back up: receipts still verify, and reads say plainly what happened.
    server = await startServer({ dir });
    servers.push(server);
    for (const r of receipts) verifyReceiptJSON(r, server.vkey, r.entry);
    const purged = await call(server, 'GET', `/v1/records/${betaRecord.index}`, audB);
    expect(purged.json.status).toBe('deleted');
    verifyReceiptJSON(purged.json.proof as Submitted, server.vkey, betaRecord.entry);
    // The tree was only ever appended to: the latest checkpoint is consistent with every receipt's.
    const latest = openCheckpoint(
      await (await fetch(`${server.url}/checkpoint`)).text(),
      parseVerifierKey(server.vkey),
    );
    for (const r of receipts) {
      const old = openCheckpoint(r.checkpoint, parseVerifierKey(server.vkey)).checkpoint;
      const res = await fetch(
        `${server.url}/ct/v1/get-sth-consistency?first=${old.size}&second=${latest.checkpoint.size}`,
      );
      const proof = ((await res.json()) as { consistency: string[] }).consistency.map((h) => decodeBase64(h));
      verifyConsistency(old.size, latest.checkpoint.size, proof, old.root, latest.checkpoint.root);
    }
    const archived = await call(server, 'GET', `/v1/records/${acmeRecords[1]!.index}`, audA);
    expect(archived.json.status).toBe('archived');
    expect((archived.json.record as { output: { final_text: string } }).output.final_text).toBe(
      'kept answer',
    );
    expect(await server.stop()).toBe(0);
  });
});
