/**
 * verifyRecordRead vouches for the whole cleartext record: any change to it, or to which fields
 * are marked verified, is detected (spec/records.md, "Audited reads").
 */
import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseVerifierKey } from '../../src/note/keys.js';
import { parseRecord } from '../../src/records/schema.js';
import type { RecordRead } from '../../src/records/service.js';
import { type RecordReadJSON, verifyRecordRead } from '../../src/records/verify-read.js';
import { exampleRecord } from './fixtures.js';
import { openLayer } from './helpers.js';

let layer: Awaited<ReturnType<typeof openLayer>>;
let read: RecordRead;

beforeAll(async () => {
  layer = await openLayer();
  const [r] = await layer.svc.submit([parseRecord(exampleRecord())], { role: 'submitter', name: 's' });
  read = await layer.svc.read(BigInt(r!.index), { role: 'auditor', name: 'alice' });
});
afterAll(async () => {
  await layer.close();
  fs.rmSync(layer.dir, { recursive: true, force: true });
});

const copy = (): RecordReadJSON => JSON.parse(JSON.stringify(read)) as RecordReadJSON;
const check = (r: RecordReadJSON) => () => verifyRecordRead(r, parseVerifierKey(layer.log.vkey));

describe('verifyRecordRead: "Tampering with any cleartext ... is detected"', () => {
  it('detects a changed public field of the record (action, actor)', () => {
    const r = copy();
    const rec = r.record as { action: string; actor_id: string };
    rec.action = 'data_deleted';
    rec.actor_id = 'someone-else';
    expect(check(r)).toThrow();
  });

  it('detects a personal value shown in the record for a field whose flag was flipped to unverified', () => {
    const r = copy();
    (r.record as { user_id: string }).user_id = 'patient-1';
    r.fields.find((f) => f.pointer === '/user_id')!.verified = false;
    expect(check(r)).toThrow();
  });
});
