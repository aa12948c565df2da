/**
 * A log that does not play fair must not reach an auditor's Object.prototype through a committed
 * pointer (spec/records.md, "Audited reads"): a leaf committing to `/__proto__/polluted`, served
 * with a `record` holding an own "__proto__" member (what JSON.parse gives), is refused, and the
 * auditor's process is left as it was. Pointers the sealer writes still work, `constructor` and
 * `prototype` members of `details` included.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { AuditlogError } from '../../src/errors.js';
import { parseVerifierKey } from '../../src/note/keys.js';
import { canonicalJsonBytes } from '../../src/records/canonical-json.js';
import { commitField } from '../../src/records/commitment.js';
import { parseLeaf } from '../../src/records/leaf.js';
import { parseRecord } from '../../src/records/schema.js';
import { joinRecord } from '../../src/records/split.js';
import { type RecordReadJSON, valueAt, verifyRecordRead } from '../../src/records/verify-read.js';
import { Log } from '../../src/sequencer/log.js';
import { exampleRecord } from './fixtures.js';
import { errorCode, openTestLayer, tempDir } from './helpers.js';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const b64 = (b: Uint8Array) => Buffer.from(b).toString('base64');
const polluted = () => (({}) as { polluted?: unknown }).polluted;

afterEach(() => {
  // Only ever reached if a check below failed: keep the other tests' prototype clean.
  delete (Object.prototype as { polluted?: unknown }).polluted;
});

/** A leaf committing to `pointer` (value "yes"), as a log holding its signing key can write. */
function evilLeaf(pointer: string, salt: Uint8Array): Uint8Array {
  return canonicalJsonBytes({
    schema: 'auditlog.record/v2',
    record_id: `rec_${'ab'.repeat(16)}`,
    logged_at: '2026-01-01T00:00:00.000Z',
    record: { tenant_id: 't1', action: 'tool_invoked', actor_id: 'a', actor_type: 'agent' },
    commitments: { [pointer]: hex(commitField(pointer, salt, 'yes')) },
    body_sha256: '00'.repeat(32),
  });
}

describe('a committed pointer through __proto__', () => {
  it('is refused by verifyRecordRead, and Object.prototype stays clean', async () => {
    const log = await Log.open({ dir: tempDir(), origin: 'example.com/evil' });
    try {
      const salt = new Uint8Array(32).fill(7);
      const pointer = '/__proto__/polluted';
      const entry = evilLeaf(pointer, salt);
      const receipt = await log.append(entry);
      const answer: RecordReadJSON = {
        index: Number(receipt.index),
        // What the server sends: JSON.parse gives this object an own "__proto__" member.
        record: JSON.parse(
          '{"tenant_id":"t1","action":"tool_invoked","actor_id":"a","actor_type":"agent","__proto__":{"polluted":"yes"}}',
        ),
        fields: [{ pointer, verified: true, salt: hex(salt) }],
        entry: b64(entry),
        proof: {
          index: Number(receipt.index),
          tree_size: Number(receipt.tree_size),
          leaf_hash: b64(receipt.leaf_hash),
          inclusion_proof: receipt.inclusion_proof.map(b64),
          checkpoint: receipt.checkpoint,
        },
      };
      let err: unknown;
      try {
        verifyRecordRead(answer, parseVerifierKey(log.vkey));
      } catch (e) {
        err = e;
      }
      expect(polluted()).toBeUndefined();
      expect(err).toBeInstanceOf(AuditlogError);
      expect((err as AuditlogError).code).toBe('BAD_REQUEST');
      expect((err as AuditlogError).message).toBe('leaf.commitments: bad entry "/__proto__/polluted"');
    } finally {
      await log.close();
    }
  });

  it('is refused by parseLeaf, as is any pointer toPointer would never write', async () => {
    const salt = new Uint8Array(32).fill(1);
    for (const pointer of [
      '/__proto__/polluted',
      '/details/__proto__',
      '/details/a~2b',
      '/details/a~',
      'user_id',
    ]) {
      expect(await errorCode(() => parseLeaf(evilLeaf(pointer, salt)))).toBe('BAD_REQUEST');
    }
    expect(parseLeaf(evilLeaf('/details/a~1b~0c', salt)).commitments).toHaveProperty(['/details/a~1b~0c']);
  });

  it('is refused by joinRecord itself, which never steps into a prototype', async () => {
    const rec = parseRecord(exampleRecord());
    const value = JSON.parse('{"polluted":"yes"}');
    expect(await errorCode(() => joinRecord(rec, [{ pointer: '/__proto__/polluted', value: 'yes' }]))).toBe(
      'BAD_REQUEST',
    );
    expect(await errorCode(() => joinRecord(rec, [{ pointer: '/__proto__', value }]))).toBe('BAD_REQUEST');
    // Inherited members are not stepped into: the value lands in a fresh own member.
    const joined = joinRecord(rec, [
      { pointer: '/details/constructor/prototype/polluted', value: 'yes' },
    ]) as {
      details: Record<string, unknown>;
    };
    expect(Object.hasOwn(joined.details, 'constructor')).toBe(true);
    expect(polluted()).toBeUndefined();
    expect((Object as unknown as { prototype: { polluted?: unknown } }).prototype.polluted).toBeUndefined();
    expect(valueAt(JSON.parse('{"__proto__":{"a":1}}'), '/__proto__/a')).toBeUndefined();
  });
});

describe('pointers the sealer writes', () => {
  it('verify with details members named constructor and prototype', async () => {
    const layer = await openTestLayer();
    const rec = parseRecord({ ...exampleRecord(), details: { constructor: 'c', prototype: { p: 1 } } });
    const [r] = await layer.svc.submit([rec], { role: 'submitter', name: 's' });
    const read = await layer.svc.read(BigInt(r!.index), { role: 'auditor', name: 'alice' });
    const json = JSON.parse(JSON.stringify(read)) as RecordReadJSON;
    const { proven } = verifyRecordRead(json, parseVerifierKey(layer.log.vkey));
    expect(proven).toEqual(expect.arrayContaining(['/details/constructor', '/details/prototype']));
    expect(json.record).toMatchObject({ details: { constructor: 'c', prototype: { p: 1 } } });
    expect(polluted()).toBeUndefined();
  });
});
