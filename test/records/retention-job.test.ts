import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { decodeBase64, encodeBase64 } from '../../src/note/encoding.js';
import { parseVerifierKey } from '../../src/note/keys.js';
import { type ArchiveBundle, creationReceiptName, verifyArchive } from '../../src/records/archive.js';
import { parseLeaf } from '../../src/records/leaf.js';
import { runRetention, startRetentionSchedule } from '../../src/records/retention-job.js';
import { parseRecord } from '../../src/records/schema.js';
import type { Actor } from '../../src/records/service.js';
import { exampleRecord } from './fixtures.js';
import { archiveFiles, filesContaining, openTestLayer } from './helpers.js';

const DAY = 86_400_000;
const admin: Actor = { role: 'admin', name: 'root' };
const acme: Actor = { role: 'submitter', name: 'agent-a', tenant: 'tnt_acme' };
const beta: Actor = { role: 'submitter', name: 'agent-b', tenant: 'tnt_beta' };
const auditor: Actor = { role: 'auditor', name: 'alice' };
const CONFIG = { tenants: { tnt_acme: 'hipaa' } }; // tnt_beta: the default, soc2 (1 year)

const layer = () => openTestLayer(CONFIG);

const rec = (tenant: string, marker: string) =>
  parseRecord({ ...exampleRecord(), tenant_id: tenant, input: { user_message: `msg ${marker}` } });

function bundleBytes(dir: string, name: string): Uint8Array {
  return new Uint8Array(fs.readFileSync(path.join(dir, 'archive', name)));
}

describe('retention job', () => {
  it("deletes the key of a record that was its own subject with the record's archive", async () => {
    const { svc, clock } = await layer();
    const t0 = clock.ms;
    const st = svc.store;
    const keyRows = async () => {
      let n = 0;
      for await (const _ of st.keys.keys()) n++;
      return n;
    };
    // No user: each record is its own subject, with a key of its own; plus one user subject.
    const own = (m: string) =>
      parseRecord({
        tenant_id: 'tnt_beta',
        action: 'data_accessed',
        actor_id: 'bot',
        actor_type: 'agent',
        resource_id: m,
      });
    await svc.submit([own('R-1'), own('R-2'), rec('tnt_beta', 'U1')], beta);
    expect(await keyRows()).toBe(3);
    clock.ms = t0 + 91 * DAY;
    expect((await runRetention(svc, { nowMs: clock.ms })).archived).toHaveLength(1);
    expect(await keyRows()).toBe(3);
    clock.ms = t0 + 367 * DAY;
    expect((await runRetention(svc, { nowMs: clock.ms })).deleted).toHaveLength(1);
    // The two records' own keys went with their archive; the user's key stays until erasure.
    expect(await keyRows()).toBe(1);
  });

  it('a bundle that fails its read-back check is reported, and the run goes on with other tenants', async () => {
    const { svc, log, dir, clock } = await layer();
    const t0 = clock.ms;
    const [a] = await svc.submit([rec('tnt_acme', 'A1')], acme);
    const [b] = await svc.submit([rec('tnt_beta', 'B1')], beta);
    // tnt_acme's body altered at rest: its bundle no longer matches the leaf's body_sha256.
    const st = svc.store;
    const body = new Uint8Array((await st.get(st.bodies, a!.record_id))!);
    body[20]! ^= 1;
    await st.write([st.put(st.bodies, a!.record_id, body)]);

    clock.ms = t0 + 91 * DAY;
    const r1 = await runRetention(svc, { nowMs: clock.ms });
    expect(r1.failed).toMatchObject([{ tenant_id: 'tnt_acme', first_index: a!.index, last_index: a!.index }]);
    expect(r1.failed[0]!.reason).toMatch(/body_sha256/);
    expect(r1.archived.map((x) => x.tenant_id)).toEqual(['tnt_beta']);
    // Nothing of the failed bundle was kept or committed; its record is still hot.
    expect(archiveFiles(path.join(dir, 'archive')).filter((n) => n.includes('tnt_acme'))).toEqual([]);
    expect(await st.get(st.bodies, a!.record_id)).toBeDefined();
    expect((await svc.read(BigInt(b!.index), auditor)).status).toBe('archived');

    // At the end of beta's retention its archive is deleted although acme's bundle still fails.
    clock.ms = t0 + 367 * DAY;
    const r2 = await runRetention(svc, { nowMs: clock.ms });
    expect(r2.failed.map((f) => f.tenant_id)).toEqual(['tnt_acme']);
    expect(r2.deleted.map((d) => d.tenant_id)).toEqual(['tnt_beta']);
    expect(log.latest().size).toBeGreaterThan(2n);
  });

  it('a bundle that fails unexpectedly (a RangeError building it) fails alone: other tenants archive, deletions go on', async () => {
    const { svc, clock } = await layer();
    const t0 = clock.ms;
    const [a] = await svc.submit([rec('tnt_acme', 'A1')], acme);
    await svc.submit([rec('tnt_beta', 'B1')], beta);
    const faults = {
      beforeBundle: (tenant: string) => {
        if (tenant === 'tnt_acme') throw new RangeError('Invalid string length');
      },
    };
    const r1 = await runRetention(svc, { nowMs: t0 + 91 * DAY, faults });
    expect(r1.failed).toEqual([
      {
        tenant_id: 'tnt_acme',
        first_index: a!.index,
        last_index: a!.index,
        reason: 'RangeError: Invalid string length',
      },
    ]);
    expect(r1.archived.map((x) => x.tenant_id)).toEqual(['tnt_beta']);
    expect((await svc.read(BigInt(a!.index), auditor)).status).toBe('hot');
    const r2 = await runRetention(svc, { nowMs: t0 + 367 * DAY, faults });
    expect(r2.failed.map((f) => f.tenant_id)).toEqual(['tnt_acme']);
    expect(r2.deleted.map((d) => d.tenant_id)).toEqual(['tnt_beta']);
    // Without the fault, the next run archives it.
    expect((await runRetention(svc, { nowMs: t0 + 367 * DAY })).archived.map((x) => x.tenant_id)).toEqual([
      'tnt_acme',
    ]);
  });

  it('bounds a bundle by bytes as well as by count, taking at least one record', async () => {
    const { svc, dir, clock, log } = await layer();
    const big = (m: string) =>
      parseRecord({ ...exampleRecord(), tenant_id: 'tnt_beta', input: { user_message: m.repeat(3000) } });
    const st = svc.store;
    /** What a record costs of the budget: its entry and body, base64. */
    const cost = async (r: { entry: string; record_id: string }) =>
      r.entry.length + Math.ceil(((await st.get(st.bodies, r.record_id))!.length * 4) / 3);
    // A budget of one byte still archives, one record per bundle.
    await svc.submit([big('a'), big('b'), big('c')], beta);
    const ones = await runRetention(svc, { nowMs: clock.ms + 100 * DAY, maxBundleBytes: 1 });
    expect(ones.archived.map((x) => x.count)).toEqual([1, 1, 1]);
    // Room for two records, not three.
    clock.ms += 100 * DAY;
    const four = await svc.submit([big('d'), big('e'), big('f'), big('g')], beta);
    const per = Math.max(...(await Promise.all(four.map(cost))));
    const twos = await runRetention(svc, { nowMs: clock.ms + 100 * DAY, maxBundleBytes: 2 * per + per / 2 });
    expect(twos.archived.map((x) => x.count)).toEqual([2, 2]);
    const vkey = parseVerifierKey(log.vkey);
    for (const x of [...ones.archived, ...twos.archived])
      expect(verifyArchive(bundleBytes(dir, x.name), vkey).ok).toBe(true);
  });

  it('archives past the hot period, verifies offline, and deletes only at the end of retention', async () => {
    const { svc, log, dir, clock } = await layer();
    const t0 = clock.ms;
    const a = await svc.submit([rec('tnt_acme', 'A1'), rec('tnt_acme', 'A2')], acme);
    await log.append(new TextEncoder().encode('a raw entry between records'));
    const [b] = await svc.submit([rec('tnt_beta', 'B1')], beta);
    const vkey = parseVerifierKey(log.vkey);

    clock.ms = t0 + 30 * DAY;
    expect((await runRetention(svc, { nowMs: clock.ms })).archived).toEqual([]);

    clock.ms = t0 + 91 * DAY;
    const r1 = await runRetention(svc, { nowMs: clock.ms });
    expect(r1.archived.map((x) => [x.tenant_id, x.count])).toEqual([
      ['tnt_acme', 2],
      ['tnt_beta', 1],
    ]);
    for (const x of r1.archived) {
      const v = verifyArchive(bundleBytes(dir, x.name), vkey);
      expect(v).toMatchObject({ ok: true, count: x.count });
    }
    // The bodies left the hot store; reads now come from the archive, still verified.
    expect(await svc.store.get(svc.store.bodies, a[0]!.record_id)).toBeUndefined();
    const read = await svc.read(BigInt(a[0]!.index), auditor);
    expect(read.status).toBe('archived');
    expect(read.record.input?.user_message).toBe('msg A1');
    expect(read.fields.every((f) => f.verified)).toBe(true);
    // The archive holds ciphertext only, and the hot copy of that ciphertext left the database files.
    expect(filesContaining(path.join(dir, 'archive'), 'msg A1')).toEqual([]);
    const bundle = JSON.parse(
      new TextDecoder().decode(bundleBytes(dir, r1.archived[0]!.name)),
    ) as ArchiveBundle;
    const cipher = decodeBase64(bundle.records[0]!.body!).subarray(13, 45);
    expect(filesContaining(path.join(dir, 'db'), cipher)).toEqual([]);

    // A year and a day later: beta (soc2, 1 year) is deleted and the deletion is logged; acme (hipaa) stays.
    clock.ms = t0 + 367 * DAY;
    const sizeBefore = log.latest().size;
    const r2 = await runRetention(svc, { nowMs: clock.ms });
    expect(r2.deleted.map((x) => x.tenant_id)).toEqual(['tnt_beta']);
    expect(fs.existsSync(path.join(dir, 'archive', r1.archived[1]!.name))).toBe(false);
    expect(fs.existsSync(path.join(dir, 'archive', r1.archived[0]!.name))).toBe(true);
    const logged = await log.entries(sizeBefore, log.latest().size);
    const deletion = logged.map((e) => parseLeaf(e)).find((l) => l.record.action === 'archive_deleted');
    expect(deletion?.record.resource_id).toBe(r1.archived[1]!.name);
    // The tree is never rewritten: the deleted record's leaf is still there, its receipt still good.
    expect(Buffer.from((await log.entries(BigInt(b!.index), BigInt(b!.index) + 1n))[0]!)).toEqual(
      Buffer.from(decodeBase64(b!.entry)),
    );
    expect(read.status).toBe('archived');

    // A hold on acme keeps its bundle past retention; lifting it lets the next run delete it.
    const { hold } = await svc.placeHold({ tenant_id: 'tnt_acme' }, admin);
    clock.ms = t0 + 7 * 366 * DAY;
    const r3 = await runRetention(svc, { nowMs: clock.ms });
    expect(r3.held).toEqual([{ name: r1.archived[0]!.name, tenant_id: 'tnt_acme', holds: [hold.id] }]);
    expect(r3.deleted).toEqual([]);
    await svc.liftHold(hold.id, admin);
    expect((await runRetention(svc, { nowMs: clock.ms })).deleted.map((x) => x.tenant_id)).toEqual([
      'tnt_acme',
    ]);
  });

  it("runs one at a time: concurrent runs do not take each other's bundles for leftovers", async () => {
    const { svc, clock } = await layer();
    await svc.submit(
      Array.from({ length: 6 }, (_, i) => rec('tnt_beta', `c${i}`)),
      beta,
    );
    clock.ms += 100 * DAY;
    const [a, b] = await Promise.all([
      runRetention(svc, { nowMs: clock.ms, maxPerBundle: 2 }),
      runRetention(svc, { nowMs: clock.ms, maxPerBundle: 2 }),
    ]);
    expect(a!.archived).toHaveLength(3);
    expect(b!.archived).toEqual([]);
    expect(b!.recovered).toEqual([]);
    expect(await svc.archives()).toHaveLength(3);
  });

  it('a subject hold keeps the bundles holding that subject', async () => {
    const { svc, clock } = await layer();
    await svc.submit([rec('tnt_beta', 'x')], beta);
    await svc.placeHold({ subject: 'patient-7731' }, admin);
    clock.ms += 400 * DAY;
    const r = await runRetention(svc, { nowMs: clock.ms });
    expect(r.archived).toHaveLength(1);
    expect(r.held).toHaveLength(1);
    expect(r.deleted).toEqual([]);
  });

  it('a hold on a person a record names keeps its bundle; deleting the bundle drops the record from their list', async () => {
    const { svc, clock } = await layer();
    const st = svc.store;
    const namedRows = async () => {
      let n = 0;
      for await (const _ of st.named.keys()) n++;
      return n;
    };
    const byDoctor = parseRecord({
      ...exampleRecord(),
      tenant_id: 'tnt_beta',
      actor_id: 'dr.who@clinic.example',
      actor_type: 'user',
    });
    const [r] = await svc.submit([byDoctor, byDoctor], beta);
    expect(await namedRows()).toBe(2);
    const { hold } = await svc.placeHold({ subject: 'dr.who@clinic.example' }, admin);
    clock.ms += 400 * DAY;
    const held = await runRetention(svc, { nowMs: clock.ms });
    expect(held.archived).toHaveLength(1);
    expect(held.held).toHaveLength(1);
    // Archived: the named person's field opens from the bundle with their own key.
    const read = await svc.read(BigInt(r!.index), auditor);
    expect(read.status).toBe('archived');
    expect(read.record.actor_id).toBe('dr.who@clinic.example');
    expect(read.fields.every((f) => f.status === 'verified')).toBe(true);
    await svc.liftHold(hold.id, admin);
    expect((await runRetention(svc, { nowMs: clock.ms })).deleted).toHaveLength(1);
    expect(await namedRows()).toBe(0);
  });

  it('bounds bundles and runs: the next run continues', async () => {
    const { svc, clock } = await layer();
    await svc.submit(
      Array.from({ length: 5 }, (_, i) => rec('tnt_beta', `n${i}`)),
      beta,
    );
    clock.ms += 100 * DAY;
    const first = await runRetention(svc, { nowMs: clock.ms, maxPerBundle: 2, maxRecordsPerRun: 3 });
    expect(first.archived.map((a) => a.count)).toEqual([2, 1]);
    const second = await runRetention(svc, { nowMs: clock.ms, maxPerBundle: 2, maxRecordsPerRun: 3 });
    expect(second.archived.map((a) => a.count)).toEqual([2]);
    expect((await runRetention(svc, { nowMs: clock.ms })).archived).toEqual([]);
    expect(new Set([...first.archived, ...second.archived].map((a) => a.name)).size).toBe(3);
  });

  it('runs on a schedule inside the server, and stops cleanly', async () => {
    const { svc, clock } = await layer();
    await svc.submit([rec('tnt_beta', 'sched')], beta);
    clock.ms += 100 * DAY;
    const lines: string[] = [];
    const schedule = startRetentionSchedule(svc, { intervalMinutes: 0.0005, log: (l) => lines.push(l) });
    while ((await svc.archives()).length === 0) await new Promise((r) => setTimeout(r, 20));
    await schedule.stop();
    expect(lines[0]).toMatch(/^auditlog: retention: archived 1 bundle\(s\)/);
    expect(lines.join('\n')).not.toContain('patient-7731');
  });

  it('an interval longer than a Node timer holds (24.8 days) waits, instead of running every millisecond', async () => {
    const { svc, clock } = await layer();
    await svc.submit([rec('tnt_beta', 'monthly')], beta);
    clock.ms += 100 * DAY;
    const lines: string[] = [];
    const schedule = startRetentionSchedule(svc, { intervalMinutes: 43_200, log: (l) => lines.push(l) });
    await new Promise((r) => setTimeout(r, 300));
    await schedule.stop();
    expect(await svc.archives()).toEqual([]);
    expect(lines).toEqual([]);
  });

  it('finds bundles where they were written after archive_dir changes', async () => {
    const { svc, clock, dir } = await layer();
    const [r] = await svc.submit([rec('tnt_beta', 'moved')], beta);
    clock.ms += 100 * DAY;
    const [arc] = (await runRetention(svc, { nowMs: clock.ms })).archived;
    Object.assign(svc.retention, { archiveDir: path.join(dir, 'elsewhere') });
    expect((await svc.read(BigInt(r!.index), auditor)).status).toBe('archived');
    clock.ms += 400 * DAY;
    expect((await runRetention(svc, { nowMs: clock.ms })).deleted.map((d) => d.name)).toEqual([arc!.name]);
    expect(fs.existsSync(path.join(dir, 'archive', arc!.name))).toBe(false);
  });

  it('archives erased records without a body', async () => {
    const { svc, log, dir, clock } = await layer();
    const [r] = await svc.submit([rec('tnt_beta', 'gone')], beta);
    await svc.erase('patient-7731', undefined, admin);
    clock.ms += 100 * DAY;
    const rep = await runRetention(svc, { nowMs: clock.ms });
    const bundle = JSON.parse(
      new TextDecoder().decode(bundleBytes(dir, rep.archived[0]!.name)),
    ) as ArchiveBundle;
    expect(bundle.records[0]).toMatchObject({ index: r!.index, body_state: 'erased', body: null });
    expect(verifyArchive(bundleBytes(dir, rep.archived[0]!.name), parseVerifierKey(log.vkey)).ok).toBe(true);
  });

  it('a failure after the bundle is written but before the commit loses nothing', async () => {
    const { svc, clock, dir } = await layer();
    const [r] = await svc.submit([rec('tnt_beta', 'crash')], beta);
    clock.ms += 100 * DAY;
    const first = await runRetention(svc, {
      nowMs: clock.ms,
      faults: {
        afterArchiveWritten: () => {
          throw new Error('crash');
        },
      },
    });
    // (A real crash there, kill -9, is in crash.test.ts.)
    expect(first.failed.map((f) => f.reason)).toEqual(['Error: crash']);
    expect(first.archived).toEqual([]);
    // The body is still hot and readable; the uncommitted bundle is cleaned up by the next run.
    expect(await svc.store.get(svc.store.bodies, r!.record_id)).toBeDefined();
    expect((await svc.read(BigInt(r!.index), auditor)).status).toBe('hot');
    const again = await runRetention(svc, { nowMs: clock.ms });
    expect(again.recovered.some((x) => x.startsWith('removed uncommitted'))).toBe(true);
    expect(again.archived).toHaveLength(1);
    const name = again.archived[0]!.name;
    expect(archiveFiles(path.join(dir, 'archive'))).toEqual([creationReceiptName(name), name].sort());
    expect((await svc.read(BigInt(r!.index), auditor)).status).toBe('archived');
  });

  it('a crash after a deletion is logged finishes the deletion on the next run', async () => {
    const { svc, clock, dir } = await layer();
    await svc.submit([rec('tnt_beta', 'x')], beta);
    clock.ms += 100 * DAY;
    const [arc] = (await runRetention(svc, { nowMs: clock.ms })).archived;
    clock.ms += 400 * DAY;
    await expect(
      runRetention(svc, {
        nowMs: clock.ms,
        faults: {
          afterDeletionLogged: () => {
            throw new Error('crash');
          },
        },
      }),
    ).rejects.toThrow('crash');
    // The deleted rows' compaction is noted in the same batch, so a restart would run it.
    expect(await svc.store.get(svc.store.state, 'compact-pending')).toBeDefined();
    const next = await runRetention(svc, { nowMs: clock.ms });
    expect(next.recovered).toEqual([`finished deleting ${arc!.name}`]);
    expect(archiveFiles(path.join(dir, 'archive'))).toEqual([]);
    expect(await svc.archives()).toEqual([]);
  });
});

describe('archive verification refuses tampered bundles, naming index and reason', () => {
  it('each tampering fails', async () => {
    const { svc, log, dir, clock } = await layer();
    await svc.submit([rec('tnt_beta', '1'), rec('tnt_beta', '2'), rec('tnt_beta', '3')], beta);
    clock.ms += 100 * DAY;
    const [arc] = (await runRetention(svc, { nowMs: clock.ms })).archived;
    const bytes = bundleBytes(dir, arc!.name);
    const vkey = parseVerifierKey(log.vkey);
    const original = () => JSON.parse(new TextDecoder().decode(bytes)) as ArchiveBundle;
    const second = original().records[1]!.index;
    const flip = (b64: string) => {
      const raw = decodeBase64(b64);
      raw[raw.length - 1]! ^= 1;
      return encodeBase64(raw);
    };
    const cases: [string, (b: ArchiveBundle) => void, number | null, string][] = [
      [
        'entry bit flipped',
        (b) => (b.records[1]!.entry = flip(b.records[1]!.entry)),
        second,
        'inclusion proof',
      ],
      [
        'proof hash flipped',
        (b) => (b.records[1]!.inclusion_proof[0] = flip(b.records[1]!.inclusion_proof[0]!)),
        second,
        'inclusion proof',
      ],
      ['proof truncated', (b) => b.records[1]!.inclusion_proof.pop(), second, 'inclusion proof'],
      ['body bit flipped', (b) => (b.records[1]!.body = flip(b.records[1]!.body!)), second, 'body_sha256'],
      [
        'body dropped',
        (b) => Object.assign(b.records[1]!, { body_state: 'none', body: null }),
        second,
        'body: missing',
      ],
      ['records reordered', (b) => b.records.reverse(), null, 'first_index'],
      ['record removed', (b) => b.records.splice(1, 1), null, 'count'],
      ['index changed', (b) => (b.records[1]!.index += 1), second + 1, ''],
      [
        'checkpoint signature',
        // A different first base64 character of the signature line (never the same one).
        (b) =>
          (b.checkpoint = b.checkpoint.replace(
            /— (\S+) (\S)/,
            (_, k, c) => `— ${k} ${c === 'A' ? 'B' : 'A'}`,
          )),
        null,
        'checkpoint',
      ],
      ['tenant changed', (b) => (b.tenant_id = 'tnt_acme'), original().records[0]!.index, 'another tenant'],
      [
        'retention shortened',
        (b) => (b.retain_until = '2000-01-01T00:00:00.000Z'),
        original().records[0]!.index,
        'retain_until',
      ],
      ['unknown field', (b) => Object.assign(b, { extra: 1 }), null, 'unknown field'],
    ];
    for (const [name, mutate, index, reason] of cases) {
      const b = original();
      mutate(b);
      const v = verifyArchive(new TextEncoder().encode(JSON.stringify(b)), vkey);
      expect(v.ok, name).toBe(false);
      if (!v.ok) {
        expect(v.index, name).toBe(index);
        expect(v.reason, name).toContain(reason);
      }
    }
    expect(verifyArchive(new TextEncoder().encode('{'), vkey)).toEqual({
      ok: false,
      index: null,
      reason: 'not UTF-8 JSON',
    });
    expect(verifyArchive(bytes, vkey).ok).toBe(true);
  });

  it('a tenant hold placed while a retention run deletes bundles stops the later deletions', async () => {
    const { svc, clock } = await layer();
    const t0 = clock.ms;
    await svc.submit([rec('tnt_beta', 'B1')], beta);
    await svc.submit([rec('tnt_beta', 'B2')], beta);
    clock.ms = t0 + 400 * DAY;
    let placing: Promise<{ hold: { id: string } }> | undefined;
    const report = await runRetention(svc, {
      nowMs: clock.ms,
      maxPerBundle: 1,
      faults: {
        // An admin's POST /v1/holds arrives while the first bundle is being deleted.
        afterDeletionLogged: () => {
          placing ??= svc.placeHold({ tenant_id: 'tnt_beta' }, admin);
        },
      },
    });
    const { hold } = await placing!;
    expect(report.archived).toHaveLength(2);
    // The hold committed before the second bundle's deletion: that bundle is kept.
    expect(report.deleted).toHaveLength(1);
    expect(report.held.map((h) => h.holds)).toEqual([[hold.id]]);
    expect((await svc.archives()).filter((a) => a.state === 'active')).toHaveLength(1);
  });

  it('an audited read racing an archive run reports the record archived or hot, never erased', async () => {
    const { svc, clock } = await layer();
    const t0 = clock.ms;
    const [r] = await svc.submit([rec('tnt_beta', 'B1')], beta);
    clock.ms = t0 + 100 * DAY; // past the hot period, within retention
    const getMeta = svc.store.getMeta.bind(svc.store);
    let retention: Promise<unknown> | undefined;
    svc.store.getMeta = async (id: string) => {
      const m = await getMeta(id);
      if (retention === undefined && id === r!.record_id) {
        // The retention schedule archives the record right after read() looked at its meta
        // (or, since the read holds the gate, right after the read).
        retention = runRetention(svc, { nowMs: clock.ms });
        await Promise.race([retention, new Promise((res) => setTimeout(res, 300))]);
      }
      return m;
    };
    const out = await svc.read(BigInt(r!.index), auditor);
    expect(out.status).toBe('hot');
    expect(out.fields.every((f) => f.status === 'verified')).toBe(true);
    await retention;
    svc.store.getMeta = getMeta;
    expect((await svc.read(BigInt(r!.index), auditor)).status).toBe('archived');
  });

  it('a temporary bundle file left by a crash before its rename is removed by the next run', async () => {
    const { svc, clock } = await layer();
    await svc.submit([rec('tnt_beta', 'B1')], beta);
    const dir = svc.retention.archiveDir;
    fs.mkdirSync(dir, { recursive: true });
    const tmp = '.arc-tnt_beta-0000000000000000-0000000000000000.json.tmp';
    fs.writeFileSync(path.join(dir, tmp), 'half-written bundle');
    const report = await runRetention(svc, { nowMs: clock.ms });
    expect(fs.existsSync(path.join(dir, tmp))).toBe(false);
    expect(report.recovered).toContain(`removed uncommitted ${tmp}`);
  });
});
