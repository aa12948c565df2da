import { describe, expect, it } from 'vitest';
import { AuditlogError } from '../../src/errors.js';
import { parseRecord, parseRecordBatch } from '../../src/records/schema.js';
import { exampleRecord } from './fixtures.js';

function badRequest(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(AuditlogError);
    expect((err as AuditlogError).code).toBe('BAD_REQUEST');
    return (err as AuditlogError).message;
  }
  throw new Error('expected BAD_REQUEST');
}

describe('record schema v1', () => {
  it('accepts the issue example exactly as written', () => {
    const rec = parseRecord(exampleRecord());
    expect(rec).toEqual(exampleRecord());
  });

  it('accepts real instants: leap days, offsets, fractions', () => {
    for (const t of [
      '2024-02-29T23:59:59.999999Z',
      '2026-12-31T00:00:00+05:30',
      '2026-01-01T00:00:00-23:59',
    ]) {
      expect(parseRecord({ ...exampleRecord(), client_timestamp: t }).client_timestamp).toBe(t);
    }
  });

  it('accepts extension actions and public detail keys', () => {
    const rec = parseRecord({
      ...exampleRecord(),
      action: 'x-claims.triage',
      details: { ticket: 'T-1', note: { free: 'text' } },
      public_detail_keys: ['ticket'],
    });
    expect(rec.action).toBe('x-claims.triage');
  });

  const mutations: [string, (r: Record<string, unknown>) => void, string][] = [
    ['unknown top-level field', (r) => (r.colour = 'red'), 'colour: unknown field'],
    [
      'unknown nested field',
      (r) => ((r.model as Record<string, unknown>).temperature = 1),
      'model.temperature: unknown field',
    ],
    [
      'wrong type in array item',
      (r) => ((r.guardrails as Record<string, unknown>[])[0]!.score = 'high'),
      'guardrails.0.score:',
    ],
    ['missing tenant', (r) => delete r.tenant_id, 'tenant_id: required'],
    ['bad tenant id', (r) => (r.tenant_id = 'a b'), 'tenant_id:'],
    ['unknown action', (r) => (r.action = 'launched_missiles'), 'action: unknown action'],
    ['bad actor type', (r) => (r.actor_type = 'robot'), 'actor_type:'],
    ['bad classification', (r) => (r.data_classification = ['secret']), 'data_classification.0:'],
    [
      'duplicate classification',
      (r) => (r.data_classification = ['public', 'public']),
      'data_classification:',
    ],
    ['bad timestamp', (r) => (r.client_timestamp = '2026-05-16 14:23'), 'client_timestamp:'],
    ['impossible timestamp', (r) => (r.client_timestamp = '2026-13-45T99:00:00Z'), 'client_timestamp:'],
    [
      'February 30',
      (r) => (r.client_timestamp = '2026-02-30T00:00:00Z'),
      'client_timestamp: not a valid date-time',
    ],
    [
      'hour 24',
      (r) => (r.client_timestamp = '2026-02-01T24:00:00Z'),
      'client_timestamp: not a valid date-time',
    ],
    [
      'offset hour 24',
      (r) => (r.client_timestamp = '2026-02-01T10:00:00+24:00'),
      'client_timestamp: not a valid date-time',
    ],
    [
      'negative tokens',
      (r) => ((r.metrics as Record<string, unknown>).input_tokens = -1),
      'metrics.input_tokens:',
    ],
    [
      'fractional tokens',
      (r) => ((r.metrics as Record<string, unknown>).output_tokens = 1.5),
      'metrics.output_tokens:',
    ],
    [
      'tool call without ok',
      (r) => delete (r.output as { tool_calls: Record<string, unknown>[] }).tool_calls[0]!.ok,
      'output.tool_calls.0.ok: required',
    ],
    ['public key not in details', (r) => (r.public_detail_keys = ['nope']), 'public_detail_keys: "nope"'],
    [
      'the old opt-in list of personal detail keys',
      (r) => (r.personal_detail_keys = ['x']),
      'personal_detail_keys: unknown field',
    ],
    [
      'free text as a guardrail verdict',
      (r) => ((r.guardrails as Record<string, unknown>[])[0]!.verdict = 'blocked: SSN 123-45-6789 seen'),
      'guardrails.0.verdict: not a verdict token',
    ],
    ['lone surrogate', (r) => (r.agent_name = 'a\ud800'), 'agent_name: string has a lone surrogate'],
    [
      'lone surrogate in details',
      (r) => (r.details = { a: ['\udfff'] }),
      'details.a.0: string has a lone surrogate',
    ],
    ['empty id', (r) => (r.request_id = ''), 'request_id:'],
    [
      'schema version 1 (its leaves are still read; it is not submitted)',
      (r) => (r.schema_version = 1),
      'schema_version:',
    ],
    ['schema version 3', (r) => (r.schema_version = 3), 'schema_version:'],
    ['a subject no URL path can name', (r) => (r.user_id = '..'), 'user_id: ".." cannot name a data subject'],
    [
      'a user actor no URL path can name',
      (r) => Object.assign(r, { actor_type: 'user', actor_id: '.' }),
      'actor_id: "." cannot name a data subject',
    ],
    [
      "a subject named like another record's own (it would share that record's key)",
      (r) => (r.user_id = 'record:rec_0123456789abcdef0123456789abcdef'),
      `user_id: "record:..." names the log's own record subjects`,
    ],
    [
      "a user actor named like a record's own subject",
      (r) => Object.assign(r, { actor_type: 'user', actor_id: 'record:x' }),
      `actor_id: "record:..." names the log's own record subjects`,
    ],
  ];
  for (const [name, mutate, message] of mutations) {
    it(`refuses ${name}, naming the field`, () => {
      const r = exampleRecord();
      mutate(r);
      expect(badRequest(() => parseRecord(r))).toContain(message);
    });
  }

  it('refuses a "__proto__" member anywhere instead of dropping it', () => {
    const r = JSON.parse('{"details": {"__proto__": {"x": 1}, "k": 2}}');
    expect(badRequest(() => parseRecord({ ...exampleRecord(), details: r.details }))).toBe(
      'details.__proto__: reserved member name',
    );
  });

  it('refuses non-objects', () => {
    for (const v of [null, 1, 'x', [], true]) badRequest(() => parseRecord(v));
  });

  it('parses a batch, naming the index of a bad record', () => {
    const good = exampleRecord();
    expect(parseRecordBatch({ records: [good, good] }).records).toHaveLength(2);
    expect(parseRecordBatch(good).batch).toBe(false);
    const bad = { ...exampleRecord(), actor_type: 'robot' };
    expect(badRequest(() => parseRecordBatch({ records: [good, bad] }))).toMatch(/^records\.1\.actor_type:/);
    expect(badRequest(() => parseRecordBatch({ records: [] }))).toBe('records: empty');
    expect(badRequest(() => parseRecordBatch({ records: {} }))).toBe('records: expected an array');
    expect(badRequest(() => parseRecordBatch({ records: [good], more: 1 }))).toBe('more: unknown field');
    try {
      parseRecordBatch({ records: Array(1001).fill(good) });
      throw new Error('accepted 1001 records');
    } catch (err) {
      expect((err as AuditlogError).code).toBe('TOO_LARGE');
    }
  });
});
