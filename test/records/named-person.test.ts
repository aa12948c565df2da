/**
 * A person a record names besides its data subject (spec/records.md, "Named persons"): a user
 * actor working on another user's record. Their id is theirs to erase, without touching the
 * subject's data, and a hold on either side keeps both.
 */
import fs from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { decodeBase64 } from '../../src/note/encoding.js';
import { parseVerifierKey } from '../../src/note/keys.js';
import { decryptBody } from '../../src/records/body-crypto.js';
import { parseLeaf } from '../../src/records/leaf.js';
import { parseRecord } from '../../src/records/schema.js';
import type { Actor } from '../../src/records/service.js';
import { subjectPrefix } from '../../src/records/store.js';
import { verifyRecordRead } from '../../src/records/verify-read.js';
import { errorCode, filesContaining, openLayer } from './helpers.js';

const submitter: Actor = { role: 'submitter', name: 'agent-a', tenant: 'tnt_acme' };
const auditor: Actor = { role: 'auditor', name: 'auditor-alice', tenant: 'tnt_acme' };
const admin: Actor = { role: 'admin', name: 'root' };
const DOCTOR = 'dr.gregory.house@clinic.example';
const PATIENT = 'patient-7731';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

async function layer(retention?: unknown) {
  const l = await openLayer(undefined, retention);
  cleanups.push(async () => {
    await l.close().catch(() => {});
    fs.rmSync(l.dir, { recursive: true, force: true });
  });
  return l;
}

/** The doctor (a user actor) reading the patient's chart, with a note in `marker`. */
function doctorOnPatient(marker: string) {
  return parseRecord({
    tenant_id: 'tnt_acme',
    action: 'data_accessed',
    actor_id: DOCTOR,
    actor_type: 'user',
    user_id: PATIENT,
    resource_type: 'chart',
    resource_id: 'mrn-0042',
    input: { user_message: `chart note ${marker}` },
  });
}

/** A record about the doctor themselves (no user_id: the user actor is the subject). */
function doctorOwn(marker: string) {
  return parseRecord({
    tenant_id: 'tnt_acme',
    action: 'user_message_received',
    actor_id: DOCTOR,
    actor_type: 'user',
    input: { user_message: `own question ${marker}` },
  });
}

describe('a person named in a record besides its subject', () => {
  it('an admin actor is a person too: their id is committed, never in clear, and erased by it', async () => {
    const { svc, dir, log } = await layer();
    const ADMIN = 'jane.admin@bank.example';
    const byAdmin = (user_id?: string) =>
      parseRecord({
        tenant_id: 'tnt_acme',
        action: 'data_modified',
        actor_id: ADMIN,
        actor_type: 'admin',
        ...(user_id === undefined ? {} : { user_id }),
        resource_type: 'account',
      });
    // On a patient's record the admin is a named person; alone, the record's subject.
    const [onPatient, alone] = await svc.submit([byAdmin(PATIENT), byAdmin()], submitter);
    for (const r of [onPatient!, alone!]) {
      const leaf = parseLeaf(decodeBase64(r.entry));
      expect(leaf.record.actor_id).toBeUndefined();
      expect(leaf.commitments['/actor_id']).toMatch(/^[0-9a-f]{64}$/);
    }
    expect((await svc.read(BigInt(onPatient!.index), auditor)).record.actor_id).toBe(ADMIN);
    const erased = await svc.erase(ADMIN, undefined, admin);
    expect(erased.tenants).toMatchObject([{ tenant_id: 'tnt_acme', records_erased: 1, records_named: 1 }]);
    const after = await svc.read(BigInt(onPatient!.index), auditor);
    expect(after.record.actor_id).toBeUndefined();
    expect(after.record.user_id).toBe(PATIENT);
    expect((await svc.read(BigInt(alone!.index), auditor)).status).toBe('erased');
    await log.close();
    expect(filesContaining(dir, 'jane.admin')).toEqual([]);
  });

  it('is erased by their own id: their field goes, the subject’s fields and every proof stay', async () => {
    const { svc, log, dir } = await layer();
    const marker = `NAMED-${Date.now()}`;
    const [onPatient, own] = await svc.submit([doctorOnPatient(marker), doctorOwn(marker)], submitter);
    const leafText = new TextDecoder().decode(decodeBase64(onPatient!.entry));
    expect(leafText).not.toContain('gregory');
    expect(parseLeaf(decodeBase64(onPatient!.entry)).commitments['/actor_id']).toMatch(/^[0-9a-f]{64}$/);

    // The patient's key alone does not show the doctor's id: it is sealed again, under theirs.
    const patientKey = await svc.keys.find(svc.tagOf(PATIENT), 'tnt_acme');
    const body = await svc.store.get(svc.store.bodies, onPatient!.record_id);
    const fields = decryptBody(patientKey!, onPatient!.record_id, body!);
    expect(fields.map((f) => f.pointer)).toContain('/actor_id');
    expect(
      JSON.stringify(fields, (_k, v) => (v instanceof Uint8Array ? Buffer.from(v).toString() : v)),
    ).not.toContain('gregory');

    const before = await svc.read(BigInt(onPatient!.index), auditor);
    expect(before.record.actor_id).toBe(DOCTOR);
    expect(before.fields.every((f) => f.status === 'verified')).toBe(true);

    const doctorKeyRow = subjectPrefix(svc.tagOf(DOCTOR), 'tnt_acme');
    const wrapped = (await svc.store.get(svc.store.keys, doctorKeyRow))!;
    const result = await svc.erase(DOCTOR, undefined, admin);
    expect(result.tenants).toMatchObject([{ tenant_id: 'tnt_acme', records_erased: 1, records_named: 1 }]);
    expect(result.scrub.found).toBe(0);
    const erasure = parseLeaf(decodeBase64(result.tenants[0]!.log.entry));
    expect(erasure.record.details).toMatchObject({
      records_erased: 1,
      record_ids: [own!.record_id],
      records_named: 1,
      named_record_ids: [onPatient!.record_id],
    });

    const after = await svc.read(BigInt(onPatient!.index), auditor);
    expect(after.status).toBe('hot');
    expect(after.record.actor_id).toBeUndefined();
    expect(after.record.user_id).toBe(PATIENT);
    expect(after.record.input?.user_message).toBe(`chart note ${marker}`);
    expect(after.body_verified).toBe(true);
    const status = Object.fromEntries(after.fields.map((f) => [f.pointer, f.status]));
    expect(status).toEqual({
      '/user_id': 'verified',
      '/actor_id': 'erased',
      '/resource_id': 'verified',
      '/input/user_message': 'verified',
    });
    // What is left still proves itself offline.
    const { proven } = verifyRecordRead(JSON.parse(JSON.stringify(after)), parseVerifierKey(log.vkey));
    expect(proven.sort()).toEqual(['/input/user_message', '/resource_id', '/user_id']);
    expect((await svc.read(BigInt(own!.index), auditor)).status).toBe('erased');
    expect(await errorCode(svc.erase(DOCTOR, undefined, admin))).toBe('NOT_FOUND');

    await log.close();
    expect(filesContaining(dir, wrapped.subarray(13, 45))).toEqual([]);
    expect(filesContaining(dir, 'gregory')).toEqual([]);
  });

  it('erasing the subject takes the named person’s field with the body, and drops the record from their list', async () => {
    const { svc } = await layer();
    const [onPatient] = await svc.submit([doctorOnPatient('p')], submitter);
    const res = await svc.erase(PATIENT, undefined, admin);
    expect(res.tenants[0]).toMatchObject({ records_erased: 1, records_named: 0 });
    const read = await svc.read(BigInt(onPatient!.index), auditor);
    expect(read.status).toBe('erased');
    expect(read.record.actor_id).toBeUndefined();
    // The doctor still has a key (they are a person), but no record names them any more.
    const doc = await svc.erase(DOCTOR, undefined, admin);
    expect(doc.tenants[0]).toMatchObject({ records_erased: 0, records_named: 0 });
  });

  it('a hold on either person blocks erasing the other from their shared record', async () => {
    const { svc } = await layer();
    await svc.submit([doctorOnPatient('held')], submitter);
    const onPatient = await svc.placeHold({ subject: PATIENT }, admin);
    expect(await errorCode(svc.erase(DOCTOR, undefined, admin))).toBe('LEGAL_HOLD');
    await svc.liftHold(onPatient.hold.id, admin);
    const onDoctor = await svc.placeHold({ subject: DOCTOR }, admin);
    expect(await errorCode(svc.erase(PATIENT, undefined, admin))).toBe('LEGAL_HOLD');
    expect(await errorCode(svc.erase(DOCTOR, undefined, admin))).toBe('LEGAL_HOLD');
    await svc.liftHold(onDoctor.hold.id, admin);
    expect((await svc.erase(DOCTOR, undefined, admin)).tenants[0]!.records_named).toBe(1);
  });

  it('with erasure_during_retention "refuse", the shared record’s retention keeps the named person too', async () => {
    const { svc, clock } = await layer({ erasure_during_retention: 'refuse' });
    await svc.submit([doctorOnPatient('kept')], submitter);
    expect(await errorCode(svc.erase(DOCTOR, undefined, admin))).toBe('RETENTION');
    clock.ms += 367 * 86_400_000; // past soc2's year
    expect((await svc.erase(DOCTOR, undefined, admin)).tenants[0]!.records_named).toBe(1);
  });

  it('a person with 1000 records of their own, named in 700 more, is erased: the log record lists 1000 ids in all', async () => {
    const { svc } = await layer();
    const own = Array.from({ length: 1000 }, (_, i) => doctorOwn(`own-${i}`));
    const named = Array.from({ length: 700 }, (_, i) => ({
      ...doctorOnPatient(`named-${i}`),
      user_id: `patient-${i}`,
    }));
    await svc.submit(own, submitter);
    await svc.submit(named, submitter);
    const res = await svc.erase(DOCTOR, undefined, admin);
    expect(res.tenants[0]).toMatchObject({ records_erased: 1000, records_named: 700 });
    const details = parseLeaf(decodeBase64(res.tenants[0]!.log.entry)).record.details as {
      record_ids: string[];
      named_record_ids: string[];
    };
    expect([details.record_ids.length, details.named_record_ids.length]).toEqual([1000, 0]);
  }, 60_000);

  it('a user actor who is the record’s own user is its one subject, with no second key', async () => {
    const { svc } = await layer();
    const rec = doctorOnPatient('self');
    rec.user_id = DOCTOR;
    const [r] = await svc.submit([rec], submitter);
    const res = await svc.erase(DOCTOR, undefined, admin);
    expect(res.tenants[0]).toMatchObject({ records_erased: 1, records_named: 0 });
    expect((await svc.read(BigInt(r!.index), auditor)).status).toBe('erased');
  });
});
