import fs from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { decodeBase64 } from '../../src/note/encoding.js';
import { parseLeaf, recordIdIn } from '../../src/records/leaf.js';
import { parseRecord } from '../../src/records/schema.js';
import { type Actor, RecordService } from '../../src/records/service.js';
import { parseRetentionConfig } from '../../src/records/retention-config.js';
import { RecordStore, readU64, subjectPrefix } from '../../src/records/store.js';
import { Log } from '../../src/sequencer/log.js';
import { type CommitFault, faultyStore } from '../helpers/faulty-store.js';
import { tempDir } from '../helpers/server.js';
import { exampleRecord } from './fixtures.js';
import { errorCode, filesContaining, openLayer, verifyReceiptJSON } from './helpers.js';

const submitterA: Actor = { role: 'submitter', name: 'agent-a', tenant: 'tnt_acme' };
const submitterB: Actor = { role: 'submitter', name: 'agent-b', tenant: 'tnt_beta' };
const auditorA: Actor = { role: 'auditor', name: 'auditor-alice', tenant: 'tnt_acme' };
const auditorB: Actor = { role: 'auditor', name: 'auditor-bob', tenant: 'tnt_beta' };
const admin: Actor = { role: 'admin', name: 'root' };

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

async function layer(retention?: unknown, opts: { maxCachedSubjectKeys?: number } = {}) {
  const l = await openLayer(undefined, retention, opts);
  cleanups.push(async () => {
    await l.close().catch(() => {});
    fs.rmSync(l.dir, { recursive: true, force: true });
  });
  return l;
}

function recordWith(marker: string, over: Record<string, unknown> = {}) {
  return parseRecord({
    ...exampleRecord(),
    input: { user_message: `question ${marker}` },
    output: { final_text: `answer ${marker}` },
    ...over,
  });
}

describe('RecordService', () => {
  it('appends a record whose leaf holds no personal data and whose receipt verifies', async () => {
    const { log, svc, dir } = await layer();
    const [r] = await svc.submit([parseRecord(exampleRecord())], submitterA);
    verifyReceiptJSON(r!, log.vkey, r!.entry);
    const leaf = parseLeaf(decodeBase64(r!.entry));
    expect(leaf.record_id).toBe(r!.record_id);
    expect(leaf.logged_at).toBe('2026-05-16T14:23:19.000Z');
    // While open (the write-ahead log holds the batch) and after close.
    expect(filesContaining(dir, 'patient-7731')).toEqual([]);
    await log.close();
    // Nothing personal in clear anywhere under the data directory (tables, WAL, key files).
    for (const secret of [
      'patient-7731',
      'How much will my next bill be?',
      'Your next bill, due 2026-06-12',
    ]) {
      expect(filesContaining(dir, secret)).toEqual([]);
    }
  });

  it('refuses another tenant, reserved actions and unknown retention classes, writing nothing', async () => {
    const { svc, log } = await layer();
    const size = log.latest().size;
    expect(await errorCode(svc.submit([parseRecord(exampleRecord())], submitterB))).toBe('FORBIDDEN');
    const reserved = parseRecord({ ...exampleRecord(), action: 'subject_erased' });
    expect(await errorCode(svc.submit([reserved], submitterA))).toBe('BAD_REQUEST');
    const star = parseRecord({ ...exampleRecord(), tenant_id: '*' });
    expect(await errorCode(svc.submit([star], admin))).toBe('BAD_REQUEST');
    const domain = parseRecord({ ...exampleRecord(), compliance_domains: ['nope'] });
    expect(await errorCode(svc.submit([domain], submitterA))).toBe('BAD_REQUEST');
    expect(log.latest().size).toBe(size);
  });

  it('a request the log cannot take whole is refused before anything of it is appended, so a retry duplicates nothing', async () => {
    const { svc, log, close } = await openLayer(undefined, undefined, {
      log: { maxEntrySize: 2000, maxQueue: 16 },
    });
    try {
      const small = parseRecord(exampleRecord());
      const big = parseRecord({
        ...exampleRecord(),
        details: { blob: 'x'.repeat(3000) },
        public_detail_keys: ['blob'],
      });
      // The second leaf is over the log's entry limit (but under the leaf format's 65535).
      await expect(svc.submit([small, big], submitterA)).rejects.toMatchObject({
        code: 'TOO_LARGE',
        message: expect.stringContaining('records.1: leaf is'),
      });
      // More records than the log's queue ever holds.
      const many = Array.from({ length: 17 }, () => parseRecord(exampleRecord()));
      expect(await errorCode(svc.submit(many, submitterA))).toBe('TOO_LARGE');
      await new Promise((r) => setTimeout(r, 50));
      expect(log.latest().size).toBe(0n);
      const [r] = await svc.submit([small], submitterA);
      expect(r!.index).toBe(0);
    } finally {
      await close();
    }
  });

  it('audited read: cleartext, verified fields, fresh proof, and a data_accessed record naming the auditor', async () => {
    const { svc, log } = await layer();
    const [r] = await svc.submit([parseRecord(exampleRecord())], submitterA);
    const read = await svc.read(BigInt(r!.index), auditorA);
    expect(read.status).toBe('hot');
    expect(read.record).toEqual(exampleRecord());
    expect(read.fields.map((f) => f.status)).toEqual(Array(5).fill('verified'));
    verifyReceiptJSON({ ...read.proof }, log.vkey, read.entry);
    expect(read.proof.tree_size).toBeGreaterThan(read.access.index);
    const access = parseLeaf(decodeBase64(read.access.entry));
    expect(access.record).toMatchObject({
      action: 'data_accessed',
      actor_id: 'auditor-alice',
      tenant_id: 'tnt_acme',
      resource_id: r!.record_id,
    });
    expect(JSON.stringify(access)).not.toContain('patient-7731');
    // The access record is itself a record (without a body) that an auditor can read.
    expect((await svc.read(BigInt(read.access.index), auditorA)).status).toBe('no_personal_data');
  });

  it("reports a body altered at rest, or swapped with another record's, as mismatched", async () => {
    const { svc } = await layer();
    const [r1, r2] = await svc.submit(
      [parseRecord(exampleRecord()), parseRecord(exampleRecord())],
      submitterA,
    );
    const st = svc.store;
    expect((await svc.read(BigInt(r1!.index), auditorA)).body_verified).toBe(true);
    const other = (await st.get(st.bodies, r2!.record_id))!;
    await st.write([st.put(st.bodies, r1!.record_id, other)]);
    const swapped = await svc.read(BigInt(r1!.index), auditorA);
    expect(swapped.body_verified).toBe(false);
    expect(swapped.fields.every((f) => f.status === 'mismatch')).toBe(true);
    expect(swapped.record.user_id).toBeUndefined();
    const flipped = new Uint8Array(other);
    flipped[30]! ^= 1;
    await st.write([st.put(st.bodies, r2!.record_id, flipped)]);
    expect((await svc.read(BigInt(r2!.index), auditorA)).fields.map((f) => f.status)).toEqual(
      Array(5).fill('mismatch'),
    );
  });

  it('a refused request leaves no subject key pinned in the cache; a cache full of keys in use answers OVERLOADED without growing', async () => {
    const { svc, log } = await layer(undefined, { maxCachedSubjectKeys: 4 });
    const about = (n: number) => recordWith(`s${n}`, { user_id: `subject-${n}` });
    for (let round = 0; round < 3; round++) {
      const batch = [0, 1, 2, 3].map((i) => about(10 * round + i));
      // About one of the same subjects, with a leaf over the entry limit: the seal refuses it.
      const tooBig = recordWith('big', {
        user_id: `subject-${10 * round}`,
        details: { blob: 'x'.repeat(70_000) },
        public_detail_keys: ['blob'],
      });
      expect(await errorCode(svc.submit([...batch, tooBig], submitterA))).toBe('TOO_LARGE');
      expect(svc.keys.cached().pending).toBe(0);
    }
    expect(log.latest().size).toBe(0n);
    // New subjects are still served (before, the refused requests' keys filled the cache for good).
    const [r] = await svc.submit([about(100)], submitterA);
    expect((await svc.read(BigInt(r!.index), auditorA)).body_verified).toBe(true);
    // Four new subjects and a fifth, submitted together: whichever request reserves its keys
    // second finds the cache full of keys waiting to be committed and is refused, uncached (the
    // two requests may reach the key cache in either order).
    const together = await Promise.allSettled([
      svc.submit(
        [0, 1, 2, 3].map((i) => about(200 + i)),
        submitterA,
      ),
      svc.submit([about(300)], submitterA),
    ]);
    const refused = together.filter((r) => r.status === 'rejected');
    expect(refused).toHaveLength(1);
    expect(((refused[0] as PromiseRejectedResult).reason as { code?: string }).code).toBe('OVERLOADED');
    expect(svc.keys.cached().keys).toBeLessThanOrEqual(4);
    expect(svc.keys.cached().pending).toBe(0);
    // Once they are committed, both kinds of request are served.
    await svc.submit([about(300)], submitterA);
    await svc.submit([about(201)], submitterA);
  });

  it('isolates tenants and refuses entries that are not records', async () => {
    const { svc, log } = await layer();
    const [r] = await svc.submit([parseRecord(exampleRecord())], submitterA);
    expect(await errorCode(svc.read(BigInt(r!.index), auditorB))).toBe('FORBIDDEN');
    const raw = await log.append(decodeBase64(r!.entry)); // the same leaf bytes, as a raw entry
    expect(await errorCode(svc.read(raw.index, auditorA))).toBe('NOT_FOUND');
    expect(await errorCode(svc.read(999n, auditorA))).toBe('NOT_FOUND');
  });

  it('a user actor without a user_id is the subject: erasing their id erases their records', async () => {
    const { svc, log, dir } = await layer();
    const marker = `ACTOR-${Date.now()}`;
    const asUser = (text: string) =>
      parseRecord({
        tenant_id: 'tnt_acme',
        action: 'user_message_received',
        actor_id: 'jane.doe@example.com',
        actor_type: 'user',
        input: { user_message: text },
      });
    const mine = await svc.submit([asUser(`${marker}-1`), asUser(`${marker}-2`)], submitterA);
    for (const r of mine) {
      const leaf = parseLeaf(decodeBase64(r.entry));
      expect(leaf.record.actor_id).toBeUndefined();
      expect(new TextDecoder().decode(decodeBase64(r.entry))).not.toContain('jane.doe');
    }
    const read = await svc.read(BigInt(mine[0]!.index), auditorA);
    expect(read.record.actor_id).toBe('jane.doe@example.com');
    const result = await svc.erase('jane.doe@example.com', undefined, admin);
    expect(result.tenants).toMatchObject([{ tenant_id: 'tnt_acme', records_erased: 2 }]);
    const after = await svc.read(BigInt(mine[1]!.index), auditorA);
    expect(after.status).toBe('erased');
    expect(after.record.actor_id).toBeUndefined();
    await log.close();
    expect(filesContaining(dir, marker)).toEqual([]);
    expect(filesContaining(dir, 'jane.doe')).toEqual([]);
  });

  it('erases a subject: key and ciphertexts gone from every file, receipts still valid, reads say erased', async () => {
    const { svc, log, dir } = await layer();
    const marker = `MARKER-${Date.now()}`;
    const erased = await svc.submit([recordWith(marker), recordWith(`${marker}-2`)], submitterA);
    const [other] = await svc.submit([recordWith('keep', { user_id: 'patient-9' })], submitterA);
    const bodyBefore = await svc.store.get(svc.store.bodies, erased[0]!.record_id);
    expect(bodyBefore).toBeDefined();
    const keyRow = subjectPrefix(svc.tagOf('patient-7731'), 'tnt_acme');
    const wrappedKey = await svc.store.get(svc.store.keys, keyRow);
    expect(wrappedKey).toBeDefined();
    const result = await svc.erase('patient-7731', undefined, admin);
    expect(result.tenants).toMatchObject([{ tenant_id: 'tnt_acme', records_erased: 2 }]);
    expect(result.scrub).toMatchObject({ sampled: 3, found: 0, skipped: false });
    expect(result.scrub.files).toBeGreaterThan(0);
    const erasure = parseLeaf(decodeBase64(result.tenants[0]!.log.entry));
    expect(erasure.record.action).toBe('subject_erased');
    expect(JSON.stringify(erasure)).not.toContain('patient-7731');

    const read = await svc.read(BigInt(erased[0]!.index), auditorA);
    expect(read.status).toBe('erased');
    expect(read.record.user_id).toBeUndefined();
    expect(read.fields.every((f) => f.status === 'erased')).toBe(true);
    expect((await svc.read(BigInt(other!.index), auditorA)).record.user_id).toBe('patient-9');
    for (const r of [...erased, other!]) verifyReceiptJSON(r, log.vkey, r.entry);
    expect(await errorCode(svc.erase('patient-7731', undefined, admin))).toBe('NOT_FOUND');

    await log.close();
    expect(filesContaining(dir, marker)).toEqual([]);
    // The ciphertext itself is gone from the files too (compaction), not only unreadable.
    expect(filesContaining(dir, bodyBefore!.subarray(13, 45))).toEqual([]);
    expect(filesContaining(dir, wrappedKey!.subarray(13, 45))).toEqual([]);
  });

  it('a legal hold blocks erasure until lifted, and hold changes are logged with the subject as a tag', async () => {
    const { svc } = await layer();
    await svc.submit([recordWith('held')], submitterA);
    const { hold, log: placed } = await svc.placeHold({ subject: 'patient-7731' }, admin);
    const placedLeaf = new TextDecoder().decode(decodeBase64(placed.entry));
    expect(placedLeaf).toContain(hold.subject_tag!);
    expect(placedLeaf).not.toContain('patient-7731');
    expect(await errorCode(svc.erase('patient-7731', undefined, admin))).toBe('LEGAL_HOLD');
    const tenantAdmin: Actor = { role: 'admin', name: 'acme-admin', tenant: 'tnt_acme' };
    const { hold: tenantHold } = await svc.placeHold({}, tenantAdmin);
    expect(tenantHold.tenant_id).toBe('tnt_acme');
    await svc.liftHold(hold.id, admin);
    expect(await errorCode(svc.erase('patient-7731', undefined, tenantAdmin))).toBe('LEGAL_HOLD');
    expect(await errorCode(svc.liftHold(tenantHold.id, { ...tenantAdmin, tenant: 'tnt_beta' }))).toBe(
      'FORBIDDEN',
    );
    await svc.liftHold(tenantHold.id, tenantAdmin);
    expect(await errorCode(svc.liftHold(tenantHold.id, admin))).toBe('NOT_FOUND');
    expect((await svc.erase('patient-7731', undefined, tenantAdmin)).tenants[0]!.records_erased).toBe(1);
  });

  it('with erasure_during_retention "refuse", refuses erasure until the retention ends', async () => {
    const { svc, clock } = await layer({ erasure_during_retention: 'refuse' });
    await svc.submit([recordWith('kept')], submitterA);
    expect(await errorCode(svc.erase('patient-7731', undefined, admin))).toBe('RETENTION');
    clock.ms += 367 * 86_400_000; // past soc2's year
    expect((await svc.erase('patient-7731', undefined, admin)).tenants[0]!.records_erased).toBe(1);
  });

  it('keys subjects per tenant: erasing in one tenant leaves the other', async () => {
    const { svc } = await layer();
    const [a] = await svc.submit([recordWith('in-a')], submitterA);
    const [b] = await svc.submit([recordWith('in-b', { tenant_id: 'tnt_beta' })], submitterB);
    await svc.erase('patient-7731', undefined, { role: 'admin', name: 'beta-admin', tenant: 'tnt_beta' });
    expect((await svc.read(BigInt(a!.index), auditorA)).status).toBe('hot');
    expect((await svc.read(BigInt(b!.index), auditorB)).status).toBe('erased');
  });

  it('one request about several subjects: each record is keyed and erased with its own subject', async () => {
    const { svc } = await layer();
    const anon = recordWith('anon-in-batch');
    delete anon.user_id;
    const out = await svc.submit(
      [
        recordWith('p1-a', { user_id: 'patient-1' }),
        recordWith('p2-a', { user_id: 'patient-2' }),
        recordWith('p1-b', { user_id: 'patient-1' }),
        anon,
        recordWith('p2-b', { user_id: 'patient-2' }),
      ],
      submitterA,
    );
    const res = await svc.erase('patient-2', undefined, admin);
    expect(res.tenants[0]!.records_erased).toBe(2);
    const status = async (i: number) => (await svc.read(BigInt(out[i]!.index), auditorA)).status;
    expect([await status(0), await status(1), await status(2), await status(3), await status(4)]).toEqual([
      'hot',
      'erased',
      'hot',
      'hot',
      'erased',
    ]);
    expect(
      (await svc.erase(`record:${out[3]!.record_id}`, undefined, admin)).tenants[0]!.records_erased,
    ).toBe(1);
    expect((await svc.erase('patient-1', undefined, admin)).tenants[0]!.records_erased).toBe(2);
  });

  it('gives a record with personal fields but no user_id its own subject, record:<id>', async () => {
    const { svc } = await layer();
    const rec = recordWith('anon');
    delete rec.user_id;
    const [r] = await svc.submit([rec], submitterA);
    const res = await svc.erase(`record:${r!.record_id}`, undefined, admin);
    expect(res.tenants[0]!.records_erased).toBe(1);
  });

  it('rebuilds index rows lost in a crash from the log at start-up', async () => {
    const { svc, dir, close } = await layer();
    const [r] = await svc.submit([parseRecord(exampleRecord())], submitterA);
    await close();
    // What a crash can lose: the unsynced index row, with the reindex point still behind it.
    const log = await Log.open({ dir });
    const store = new RecordStore(log.db);
    await store.write([store.del(store.index, r!.record_id), store.del(store.state, 'reindexed')]);
    expect(await store.getIndex(r!.record_id)).toBeUndefined();
    await log.close();
    const again = await openLayer(dir);
    cleanups.push(() => again.close());
    expect((await again.svc.read(BigInt(r!.index), auditorA)).status).toBe('hot');
  });

  it('a clean close moves the reindex point to the tree size without reading the log, and refuses new records', async () => {
    const { svc, log, dir, close } = await layer();
    const out = await svc.submit(
      Array.from({ length: 20 }, (_, i) => recordWith(`c${i}`)),
      submitterA,
    );
    const size = log.latest().size;
    let reads = 0;
    const entries = log.entries.bind(log);
    log.entries = (a, b) => {
      reads++;
      return entries(a, b);
    };
    await svc.close();
    expect(reads).toBe(0);
    await expect(svc.submit([recordWith('late')], submitterA)).rejects.toMatchObject({ code: 'CLOSED' });
    expect(readU64((await svc.store.get(svc.store.state, 'reindexed'))!)).toBe(size);
    await close().catch(() => {});
    const again = await openLayer(dir);
    cleanups.push(() => again.close());
    for (const r of out) expect(await again.svc.indexOf(r.record_id)).toBe(BigInt(r.index));
  });

  it('an append whose write reported failure but landed is answered, and the record gets its row', async () => {
    const dir = tempDir();
    cleanups.push(async () => fs.rmSync(dir, { recursive: true, force: true }));
    const fault = { fail: 'none' as CommitFault };
    const log = await Log.open({ dir, origin: 'localhost/records-test', wrapStore: faultyStore(fault) });
    const svc = await RecordService.open({
      log,
      dataDir: dir,
      retention: parseRetentionConfig(undefined, dir),
    });
    await svc.submit([recordWith('before')], submitterA);
    fault.fail = 'after';
    // The write is applied, then reported failed: the log's reload finds it on the disk and
    // answers with a receipt, so the caller does not submit the record a second time.
    const [landed] = await svc.submit([recordWith('landed')], submitterA);
    fault.fail = 'none';
    expect(landed!.index).toBe(1);
    const [entry] = await log.entries(1n, 2n);
    expect(parseLeaf(entry!).record_id).toBe(landed!.record_id);
    expect(await svc.indexOf(landed!.record_id)).toBe(1n);
    const probe = await log.append(new TextEncoder().encode('after the recovery'));
    expect(probe.index).toBe(2n);
    await svc.close();
    expect(await svc.store.getIndex(landed!.record_id)).toBe(1n);
    await log.close();
  });

  it('survives a restart: keys, holds and the index come back', async () => {
    const { svc, log, dir, close } = await layer();
    const [r] = await svc.submit([parseRecord(exampleRecord())], submitterA);
    await svc.placeHold({ tenant_id: 'tnt_acme' }, admin);
    void log;
    await close();
    const again = await openLayer(dir);
    cleanups.push(() => again.close());
    expect((await again.svc.read(BigInt(r!.index), auditorA)).fields.every((f) => f.verified)).toBe(true);
    expect(again.svc.listHolds(admin)).toHaveLength(1);
  });
});

describe('recordIdIn', () => {
  it('finds the id of a record leaf by byte search, and nothing in other entries', async () => {
    const { svc } = await layer();
    const [r] = await svc.submit([parseRecord(exampleRecord())], submitterA);
    expect(recordIdIn(decodeBase64(r!.entry))).toBe(r!.record_id);
    const enc = new TextEncoder();
    expect(recordIdIn(enc.encode('plain entry'))).toBeNull();
    expect(recordIdIn(enc.encode('{"record_id":"rec_00000000000000000000000000000000"}'))).toBeNull();
    expect(recordIdIn(enc.encode('{"record_id":"rec_zz","schema":"auditlog.record/v1"}'))).toBeNull();
  });
});
