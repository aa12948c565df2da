import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { AuditlogError } from '../../src/errors.js';
import {
  decryptBody,
  deriveRecordKeys,
  newSubjectKey,
  subjectTag,
  unwrapSubjectKey,
  wrapSubjectKey,
} from '../../src/records/body-crypto.js';
import { canonicalJsonBytes } from '../../src/records/canonical-json.js';
import { commitField, verifyField } from '../../src/records/commitment.js';
import { newRecordId, parseLeaf, recordIdIn } from '../../src/records/leaf.js';
import { parseRecord } from '../../src/records/schema.js';
import { openRecord, sealRecord } from '../../src/records/seal.js';
import { exampleRecord } from './fixtures.js';

const LOGGED = Date.parse('2026-05-16T14:23:19.000Z');

function code(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(AuditlogError);
    return (err as AuditlogError).code;
  }
  throw new Error('expected an AuditlogError');
}

describe('commitments', () => {
  it('follow the byte layout of spec/records.md', () => {
    const salt = new Uint8Array(32).fill(7);
    const pointer = '/user_id';
    const expected = createHash('sha256')
      .update(Buffer.from('auditlog.commitment/v1\0'))
      .update(Buffer.from([0, 0, 0, pointer.length]))
      .update(Buffer.from(pointer))
      .update(salt)
      .update(Buffer.from('"patient-7731"'))
      .digest();
    expect(Buffer.from(commitField(pointer, salt, 'patient-7731'))).toEqual(expected);
  });

  it('bind the pointer, the salt and the value', () => {
    const salt = new Uint8Array(32).fill(1);
    const c = commitField('/user_id', salt, 'p-1');
    expect(verifyField('/user_id', salt, 'p-1', c)).toBe(true);
    expect(verifyField('/input/user_message', salt, 'p-1', c)).toBe(false);
    expect(verifyField('/user_id', new Uint8Array(32).fill(2), 'p-1', c)).toBe(false);
    expect(verifyField('/user_id', salt, 'p-2', c)).toBe(false);
    expect(verifyField('/user_id', salt.subarray(1), 'p-1', c)).toBe(false);
    expect(code(() => commitField('/user_id', new Uint8Array(31), 'x'))).toBe('BAD_REQUEST');
  });
});

describe('sealRecord / openRecord', () => {
  const key = newSubjectKey();
  const rec = parseRecord({
    ...exampleRecord(),
    output: {
      final_text: 'Your next bill is $124.50.',
      tool_calls: [{ tool: 'lookup_billing', args: { account: 'A-99' }, ok: true }],
    },
    details: { ticket: 'T-1', diagnosis: 'flu' },
    public_detail_keys: ['ticket'],
  });
  const sealed = sealRecord(rec, { recordId: newRecordId(), loggedAtMs: LOGGED, subjectKey: key });
  const leafText = new TextDecoder().decode(sealed.leafBytes);

  it('keeps every personal value out of the leaf', () => {
    for (const secret of ['patient-7731', 'How much will my next bill be?', '124.50', 'A-99', 'flu']) {
      expect(leafText).not.toContain(secret);
    }
    expect(Object.keys(sealed.leaf.commitments).sort()).toEqual([
      '/details/diagnosis',
      '/input/retrieved_docs/0/hash',
      '/input/user_message',
      '/output/final_text',
      '/output/tool_calls/0/args',
      '/user_id',
    ]);
    expect(leafText).toContain('"ticket":"T-1"');
    expect(sealed.leaf.logged_at).toBe('2026-05-16T14:23:19.000Z');
    expect(sealed.leaf.record.client_timestamp).toBe('2026-05-16T14:23:18.421Z');
  });

  it('encodes the leaf canonically, so anyone can recompute it', () => {
    const leaf = parseLeaf(sealed.leafBytes);
    expect(Buffer.from(canonicalJsonBytes(leaf))).toEqual(Buffer.from(sealed.leafBytes));
  });

  it('opens to the original record with every field verified', () => {
    const opened = openRecord(sealed.leaf, sealed.body!, key);
    expect(opened.record).toEqual(rec);
    expect(opened.fields.every((f) => f.verified)).toBe(true);
    expect(opened.bodyDigestOk).toBe(true);
  });

  it('uses a fresh salt per field and record (same record, different commitments)', () => {
    const again = sealRecord(rec, { recordId: newRecordId(), loggedAtMs: LOGGED, subjectKey: key });
    expect(again.leaf.commitments['/user_id']).not.toBe(sealed.leaf.commitments['/user_id']);
  });

  it('refuses a body under another key or moved to another record', () => {
    expect(code(() => openRecord(sealed.leaf, sealed.body!, newSubjectKey()))).toBe('BAD_SIGNATURE');
    expect(code(() => decryptBody(key, newRecordId(), sealed.body!))).toBe('BAD_SIGNATURE');
    const flipped = new Uint8Array(sealed.body!);
    flipped[20]! ^= 1;
    expect(code(() => decryptBody(key, sealed.recordId, flipped))).toBe('BAD_SIGNATURE');
    expect(code(() => decryptBody(key, sealed.recordId, new Uint8Array(10)))).toBe('BAD_REQUEST');
  });

  it('reports a field whose commitment does not match as unverified', () => {
    const leaf = structuredClone(sealed.leaf);
    leaf.commitments['/user_id'] = '00'.repeat(32);
    const opened = openRecord(leaf, sealed.body!, key);
    expect(opened.fields.find((f) => f.pointer === '/user_id')?.verified).toBe(false);
    expect(opened.record.user_id).toBeUndefined();
    expect(opened.record.input?.user_message).toBe('How much will my next bill be?');
  });

  it("seals a named person's field under their own key: verified with it, erased without it, unverified with another", () => {
    const byDoctor = parseRecord({ ...exampleRecord(), actor_id: 'dr.a@clinic.example', actor_type: 'user' });
    const recordId = newRecordId();
    expect(code(() => sealRecord(byDoctor, { recordId, loggedAtMs: LOGGED, subjectKey: key }))).toBe(
      'INTERNAL',
    );
    const named = { tag: new Uint8Array(32).fill(7), key: newSubjectKey() };
    const s = sealRecord(byDoctor, { recordId, loggedAtMs: LOGGED, subjectKey: key, named });
    const tagHex = '07'.repeat(32);
    const status = (lookup: (t: string) => Uint8Array | undefined) => {
      const o = openRecord(s.leaf, s.body!, key, lookup);
      return { field: o.fields.find((f) => f.pointer === '/actor_id'), actor: o.record.actor_id };
    };
    expect(status((t) => (t === tagHex ? named.key : undefined))).toMatchObject({
      field: { verified: true },
      actor: 'dr.a@clinic.example',
    });
    expect(status(() => undefined)).toEqual({
      field: { pointer: '/actor_id', verified: false, erased: true },
      actor: undefined,
    });
    expect(status(() => newSubjectKey())).toEqual({
      field: { pointer: '/actor_id', verified: false },
      actor: undefined,
    });
    // The other fields open with the subject's key alone.
    expect(openRecord(s.leaf, s.body!, key).record.user_id).toBe('patient-7731');
  });

  it('writes no body for a record without personal fields', () => {
    const plain = parseRecord({
      tenant_id: 't1',
      action: 'model_changed',
      actor_id: 'ops',
      actor_type: 'agent',
    });
    const s = sealRecord(plain, { recordId: newRecordId(), loggedAtMs: LOGGED, subjectKey: null });
    expect(s.body).toBeNull();
    expect(s.leaf.body_sha256).toBeUndefined();
    expect(s.leaf.commitments).toEqual({});
  });

  it('refuses a leaf over the entry limit', () => {
    const big = parseRecord({
      ...exampleRecord(),
      details: { blob: 'x'.repeat(70_000) },
      public_detail_keys: ['blob'],
    });
    expect(
      code(() => sealRecord(big, { recordId: newRecordId(), loggedAtMs: LOGGED, subjectKey: key })),
    ).toBe('TOO_LARGE');
  });
});

describe('what is personal beyond the free texts (spec/records.md, "Personal fields")', () => {
  const key = newSubjectKey();
  const rec = parseRecord({
    tenant_id: 't1',
    conversation_id: 'conv_8f2a',
    action: 'data_accessed',
    actor_id: 'jane.doe@example.com',
    actor_type: 'user',
    resource_type: 'patient_record',
    resource_id: 'MRN-448812',
    input: { retrieved_docs: [{ id: 'doc-1', hash: 'sha256:77af' }, { id: 'doc-2' }] },
    guardrails: [
      { id: 'pii', verdict: 'redact', reason: 'SSN 123-45-6789 in the prompt' },
      { id: 'tone', verdict: 'allow' },
    ],
    output: { tool_calls: [{ tool: 'ehr.lookup', args_hash: 'sha256:5e88489', ok: true }] },
    details: { diagnosis: 'E11.9', ticket: 'T-7' },
    public_detail_keys: ['ticket'],
  });
  const sealed = sealRecord(rec, { recordId: newRecordId(), loggedAtMs: LOGGED, subjectKey: key });
  const leafText = new TextDecoder().decode(sealed.leafBytes);

  it("commits a user actor's id, the resource id, guardrail reasons, argument hashes and unlisted details", () => {
    for (const secret of ['jane.doe', 'MRN-448812', '123-45-6789', 'sha256:5e88489', 'E11.9', '77af']) {
      expect(leafText).not.toContain(secret);
    }
    expect(Object.keys(sealed.leaf.commitments).sort()).toEqual([
      '/actor_id',
      '/details/diagnosis',
      '/guardrails/0/reason',
      '/input/retrieved_docs/0/hash',
      '/output/tool_calls/0/args_hash',
      '/resource_id',
    ]);
    // What stays public: the shape of the event, the verdict tokens, the listed detail.
    expect(sealed.leaf.record.actor_type).toBe('user');
    expect(sealed.leaf.record.guardrails?.map((g) => g.verdict)).toEqual(['redact', 'allow']);
    expect(sealed.leaf.record.details).toEqual({ ticket: 'T-7' });
    expect(sealed.leaf.record.conversation_id).toBe('conv_8f2a');
    expect(sealed.leaf.record.input?.retrieved_docs).toEqual([{ id: 'doc-1' }, { id: 'doc-2' }]);
    expect(parseLeaf(sealed.leafBytes).record.actor_id).toBeUndefined();
  });

  it('opens to the submitted record', () => {
    const opened = openRecord(sealed.leaf, sealed.body!, key);
    expect(canonicalJsonBytes(opened.record)).toEqual(canonicalJsonBytes(rec));
    expect(opened.fields.every((f) => f.verified)).toBe(true);
  });

  it("keeps an agent's id public, and commits every member of details unless listed", () => {
    const agent = sealRecord(
      parseRecord({
        tenant_id: 't1',
        action: 'x-run',
        actor_id: 'bot-1',
        actor_type: 'agent',
        details: { a: 1 },
      }),
      { recordId: newRecordId(), loggedAtMs: LOGGED, subjectKey: key },
    );
    expect(agent.leaf.record.actor_id).toBe('bot-1');
    expect(Object.keys(agent.leaf.commitments)).toEqual(['/details/a']);
  });

  it('refuses a leaf that names its actor twice, or not at all', () => {
    const enc = (s: string) => new TextEncoder().encode(s);
    const twice = leafText.replace('"actor_type":"user"', '"actor_id":"x","actor_type":"user"');
    expect(code(() => parseLeaf(enc(twice)))).toBe('BAD_REQUEST');
    const none = leafText.replace(/"\/actor_id":"[0-9a-f]{64}",/, '');
    expect(none).not.toBe(leafText);
    expect(code(() => parseLeaf(enc(none)))).toBe('BAD_REQUEST');
  });
});

describe('parseLeaf refuses malformed leaves', () => {
  const sealed = sealRecord(parseRecord(exampleRecord()), {
    recordId: newRecordId(),
    loggedAtMs: LOGGED,
    subjectKey: newSubjectKey(),
  });
  const text = new TextDecoder().decode(sealed.leafBytes);
  const enc = (s: string) => new TextEncoder().encode(s);
  const cases: [string, Uint8Array][] = [
    ['not utf-8', new Uint8Array([0xff, 0xfe])],
    ['not json', enc('{')],
    ['an array', enc('[]')],
    ['non-canonical whitespace', enc(text.replace('{', '{ '))],
    ['unknown member', enc(text.replace('{', '{"aaa":1,'))],
    ['wrong schema', enc(text.replace('auditlog.record/v2', 'auditlog.record/v3'))],
    ['bad record id', enc(text.replace(/rec_[0-9a-f]{32}/, 'rec_1'))],
    ['bad commitment', enc(text.replace(/"\/user_id":"[0-9a-f]{64}"/, '"/user_id":"zz"'))],
    ['record with unknown field', enc(text.replace('"record":{', '"record":{"aaa":1,'))],
    ['missing body digest', enc(text.replace(/"body_sha256":"[0-9a-f]{64}",/, ''))],
    // Date.parse rolls these over to real instants; a leaf names only real ones.
    [
      'a day the month does not have',
      enc(text.replace('2026-05-16T14:23:19.000Z', '2026-02-30T00:00:00.000Z')),
    ],
    ['hour 24', enc(text.replace('2026-05-16T14:23:19.000Z', '2026-04-30T24:00:00.000Z'))],
  ];
  for (const [name, bytes] of cases) {
    it(name, () => {
      expect(code(() => parseLeaf(bytes))).toBe('BAD_REQUEST');
    });
  }
  it('accepts the original', () => {
    expect(parseLeaf(sealed.leafBytes).record_id).toBe(sealed.recordId);
  });
});

describe('recordIdIn', () => {
  it("finds a leaf's own record id, not one inside its record (a public details member)", () => {
    const other = newRecordId();
    const rec = parseRecord({
      ...exampleRecord(),
      details: { record_id: other, note: `"record_id":"${other}"` },
      public_detail_keys: ['record_id', 'note'],
    });
    const own = newRecordId();
    const sealed = sealRecord(rec, { recordId: own, loggedAtMs: LOGGED, subjectKey: newSubjectKey() });
    expect(new TextDecoder().decode(sealed.leafBytes)).toContain(other);
    expect(recordIdIn(sealed.leafBytes)).toBe(own);
  });

  it('names nothing in an entry that is not a record leaf', () => {
    const enc = (s: string) => new TextEncoder().encode(s);
    const id = newRecordId();
    expect(recordIdIn(enc('hello'))).toBeNull();
    expect(recordIdIn(enc(`{"record_id":"${id}"}`))).toBeNull();
    expect(recordIdIn(enc(`{"record_id":"${id}","schema":"auditlog.record/v2"}`))).toBe(id);
  });
});

describe('subject keys', () => {
  const keys = deriveRecordKeys(new Uint8Array(32).fill(9));
  it('tags subjects with a keyed hash', () => {
    const t = subjectTag(keys.tagKey, 'patient-7731');
    expect(t).toHaveLength(32);
    expect(Buffer.from(t)).toEqual(Buffer.from(subjectTag(keys.tagKey, 'patient-7731')));
    expect(Buffer.from(subjectTag(deriveRecordKeys(new Uint8Array(32)).tagKey, 'patient-7731'))).not.toEqual(
      Buffer.from(t),
    );
  });
  it('wraps keys bound to tag and tenant', () => {
    const k = newSubjectKey();
    const tag = subjectTag(keys.tagKey, 's');
    const w = wrapSubjectKey(keys.wrapKey, tag, 't1', k);
    expect(Buffer.from(unwrapSubjectKey(keys.wrapKey, tag, 't1', w))).toEqual(Buffer.from(k));
    expect(code(() => unwrapSubjectKey(keys.wrapKey, tag, 't2', w))).toBe('BAD_SIGNATURE');
    expect(code(() => deriveRecordKeys(new Uint8Array(16)))).toBe('BAD_KEY');
  });
});
