/**
 * Fixed vectors (also in spec/records.md), computed independently with Python's hashlib and
 * json (sort_keys, compact separators: equal to RFC 8785 for ASCII names), plus properties.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { hashLeaf } from '../../src/merkle/rfc6962.js';
import { canonicalJson, findJsonProblem } from '../../src/records/canonical-json.js';
import { commitField } from '../../src/records/commitment.js';
import { encodeLeaf, LEAF_SCHEMA, parseLeaf } from '../../src/records/leaf.js';
import { parseRecord } from '../../src/records/schema.js';
import { joinRecord, splitRecord } from '../../src/records/split.js';
import { exampleRecord } from './fixtures.js';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

describe('vectors', () => {
  it('commitment of /user_id = "u-1" under salt 0x01 x 32', () => {
    expect(hex(commitField('/user_id', new Uint8Array(32).fill(1), 'u-1'))).toBe(
      'cde7d92bdab56f911deb12ce2d09c92447a63214f79ae9e5e4aac45c0c6fd829',
    );
  });

  it('a leaf without personal fields, byte for byte, and its RFC 6962 leaf hash', () => {
    const leaf = encodeLeaf({
      schema: LEAF_SCHEMA,
      record_id: `rec_${'0'.repeat(32)}`,
      logged_at: '2026-01-01T00:00:00.000Z',
      record: parseRecord({
        tenant_id: 't1',
        action: 'tool_invoked',
        actor_id: 'a',
        actor_type: 'agent',
        metrics: { latency_ms: 1287, cost_usd: 0.0061 },
      }),
      commitments: {},
    });
    expect(new TextDecoder().decode(leaf)).toBe(
      '{"commitments":{},"logged_at":"2026-01-01T00:00:00.000Z","record":{"action":"tool_invoked","actor_id":"a",' +
        '"actor_type":"agent","metrics":{"cost_usd":0.0061,"latency_ms":1287},"tenant_id":"t1"},' +
        '"record_id":"rec_00000000000000000000000000000000","schema":"auditlog.record/v2"}',
    );
    expect(hex(hashLeaf(leaf))).toBe('16ffed9bfda2986203ad9b7600b4d7ff941b437ad20501489f2bfc441aed8c7b');
    expect(parseLeaf(leaf).record_id).toBe(`rec_${'0'.repeat(32)}`);
  });

  it('a leaf written before schema v2 still parses, byte for byte, with its historic fields', () => {
    // As the v1 sealer wrote it: a user actor's id and resource_id in clear, a free-text verdict,
    // personal_detail_keys kept in the public record (spec/records.md, "Versions").
    const text =
      '{"body_sha256":"2d711642b726b04401627ca9fbac32f5c8530fb1903cc4db02258717921a4881",' +
      '"commitments":{"/details/note":"2d711642b726b04401627ca9fbac32f5c8530fb1903cc4db02258717921a4881"},' +
      '"logged_at":"2026-05-16T14:23:19.000Z","record":{"action":"guardrail_decision",' +
      '"actor_id":"alice@example.com","actor_type":"user","details":{"ticket":"T-1"},' +
      '"guardrails":[{"id":"pii","verdict":"blocked: free text"}],"personal_detail_keys":["note"],' +
      '"resource_id":"MRN-1","tenant_id":"t1"},"record_id":"rec_11111111111111111111111111111111",' +
      '"schema":"auditlog.record/v1"}';
    const bytes = new TextEncoder().encode(text);
    const leaf = parseLeaf(bytes);
    expect(leaf.schema).toBe('auditlog.record/v1');
    expect(leaf.record.actor_id).toBe('alice@example.com');
    expect(hex(hashLeaf(encodeLeaf(leaf)))).toBe(
      '5f875ea60d8c0e741557442d2da24124dbdbd92b8e89c1eab299a3401c955513',
    );
    // The v1 rules hold for v1 leaves only: v2's fields are not accepted in them, nor v1's in v2.
    const bad = (t: string) => () => parseLeaf(new TextEncoder().encode(t));
    expect(bad(text.replace('"personal_detail_keys"', '"public_detail_keys"'))).toThrow(/public_detail_keys/);
    expect(bad(text.replace('record/v1', 'record/v2'))).toThrow();
  });
});

describe('properties', () => {
  it('canonical JSON is idempotent and ignores member order', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (v) => {
        fc.pre(findJsonProblem(v) === null); // e.g. a "__proto__" member, refused on purpose
        const once = canonicalJson(v);
        expect(canonicalJson(JSON.parse(once))).toBe(once);
        if (typeof v === 'object' && v !== null && !Array.isArray(v)) {
          const reversed = Object.fromEntries(Object.entries(v).reverse());
          expect(canonicalJson(reversed)).toBe(once);
        }
      }),
    );
  });

  it('splitting a record and joining it back gives the record', () => {
    fc.assert(
      fc.property(
        fc.option(fc.string({ minLength: 1, maxLength: 20 }), { nil: undefined }),
        fc.dictionary(fc.string({ minLength: 1, maxLength: 8 }), fc.jsonValue({ maxDepth: 3 }), {
          maxKeys: 5,
        }),
        fc.array(fc.boolean(), { maxLength: 5 }),
        (userId, details, personalFlags) => {
          fc.pre(findJsonProblem(details) === null);
          // refused as subjects (schema.test.ts)
          fc.pre(userId !== '.' && userId !== '..' && !userId?.startsWith('record:'));
          const keys = Object.keys(details);
          const shown = keys.filter((_, i) => personalFlags[i] !== true);
          const raw = JSON.parse(
            JSON.stringify({
              ...exampleRecord(),
              user_id: userId,
              details,
              public_detail_keys: shown.length > 0 ? shown : undefined,
            }),
          );
          const rec = parseRecord(raw);
          const { publicRecord, personal: fields } = splitRecord(rec);
          expect(canonicalJson(publicRecord)).not.toContain('How much will my next bill be?');
          expect(canonicalJson(joinRecord(publicRecord, fields))).toBe(canonicalJson(rec));
        },
      ),
    );
  });
});
