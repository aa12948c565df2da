/** Sealing on worker threads gives records that open and verify exactly like in-thread ones. */
import { afterAll, describe, expect, it } from 'vitest';
import { AuditlogError } from '../../src/errors.js';
import { newSubjectKey } from '../../src/records/body-crypto.js';
import { newRecordId, parseLeaf } from '../../src/records/leaf.js';
import { parseRecord } from '../../src/records/schema.js';
import { openRecord } from '../../src/records/seal.js';
import { SealPool } from '../../src/records/seal-pool.js';
import { exampleRecord } from './fixtures.js';

const pool = new SealPool(2);
afterAll(() => pool.close());
const LOGGED = Date.parse('2026-05-16T14:23:19.000Z');

describe('SealPool', () => {
  it('seals on a worker: every leaf parses and every body opens with all fields verified', async () => {
    const key = newSubjectKey();
    const records = Array.from({ length: 20 }, (_, i) =>
      parseRecord({ ...exampleRecord(), request_id: `req_${i}` }),
    );
    const jobs = records.map((record) => ({
      record,
      recordId: newRecordId(),
      loggedAtMs: LOGGED,
      subjectKey: key,
    }));
    const sealed = await pool.seal(jobs);
    expect(pool.threads).toBe(2); // sealed on the workers, not by the in-thread fallback
    expect(sealed).toHaveLength(20);
    sealed.forEach((s, i) => {
      const leaf = parseLeaf(s.leafBytes);
      expect(leaf.record_id).toBe(jobs[i]!.recordId);
      expect(leaf.record.request_id).toBe(`req_${i}`);
      const opened = openRecord(leaf, s.body!, key);
      expect(opened.fields.length).toBeGreaterThan(0);
      expect(opened.fields.every((f) => f.verified)).toBe(true);
      expect(opened.bodyDigestOk).toBe(true);
      expect(opened.record).toEqual(records[i]);
    });
  });

  it("a record the worker refuses (leaf over the entry limit) fails the call with the worker's code", async () => {
    const big = parseRecord({
      ...exampleRecord(),
      details: { blob: 'x'.repeat(70_000) },
      public_detail_keys: ['blob'],
    });
    const err = await pool
      .seal([{ record: big, recordId: newRecordId(), loggedAtMs: LOGGED, subjectKey: newSubjectKey() }])
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AuditlogError);
    expect((err as AuditlogError).code).toBe('TOO_LARGE');
  });

  it('after close it still seals, in the calling thread', async () => {
    const other = new SealPool(1);
    await other.close();
    const key = newSubjectKey();
    const record = parseRecord(exampleRecord());
    const [s] = await other.seal([{ record, recordId: newRecordId(), loggedAtMs: LOGGED, subjectKey: key }]);
    expect(openRecord(parseLeaf(s!.leafBytes), s!.body!, key).record).toEqual(record);
  });
});
