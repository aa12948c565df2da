import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { publicKeyFromSeed } from '../../src/note/ed25519.js';
import { formatVerifierKey, parseVerifierKey } from '../../src/note/keys.js';
import { parseRecord } from '../../src/records/schema.js';
import type { RecordRead } from '../../src/records/service.js';
import { type RecordReadJSON, valueAt, verifyRecordRead } from '../../src/records/verify-read.js';
import { exampleRecord } from './fixtures.js';
import { errorCode, openLayer } from './helpers.js';

let layer: Awaited<ReturnType<typeof openLayer>>;
let read: RecordRead;

beforeAll(async () => {
  layer = await openLayer();
  const rec = parseRecord({
    ...exampleRecord(),
    details: { 'a/b': { x: [1, 2] }, ticket: 'T-1' },
    public_detail_keys: ['ticket'],
  });
  const [r] = await layer.svc.submit([rec], { role: 'submitter', name: 's' });
  read = await layer.svc.read(BigInt(r!.index), { role: 'auditor', name: 'alice' });
});

afterAll(async () => {
  await layer.close();
  fs.rmSync(layer.dir, { recursive: true, force: true });
});

const copy = (): RecordReadJSON => JSON.parse(JSON.stringify(read)) as RecordReadJSON;

describe('verifyRecordRead (offline check of an audited read)', () => {
  it('refuses a checkpoint signed by another key', async () => {
    // Same origin, another key: no signature by it.
    const other = parseVerifierKey(
      formatVerifierKey(layer.log.origin, publicKeyFromSeed(new Uint8Array(32).fill(7))),
    );
    expect(await errorCode(() => verifyRecordRead(copy(), other))).toBe('UNKNOWN_KEY');
  });

  it('proves every personal field from the answer alone', () => {
    const { proven } = verifyRecordRead(copy(), parseVerifierKey(layer.log.vkey));
    expect(proven.sort()).toEqual([
      '/details/a~1b',
      '/input/retrieved_docs/0/hash',
      '/input/user_message',
      '/output/final_text',
      '/output/tool_calls/0/args_hash',
      '/user_id',
    ]);
  });

  const tamper: [string, (r: RecordReadJSON) => void, string][] = [
    ['cleartext changed', (r) => ((r.record as { user_id: string }).user_id = 'patient-1'), 'LEAF_MISMATCH'],
    [
      'nested cleartext changed',
      (r) => ((r.record as { details: Record<string, unknown> }).details['a/b'] = 1),
      'LEAF_MISMATCH',
    ],
    ['salt changed', (r) => (r.fields[0]!.salt = '00'.repeat(32)), 'LEAF_MISMATCH'],
    ['salt missing', (r) => delete r.fields[0]!.salt, 'LEAF_MISMATCH'],
    [
      'field claimed that the leaf does not commit to',
      (r) => r.fields.push({ pointer: '/agent_name', verified: true, salt: '00'.repeat(32) }),
      'LEAF_MISMATCH',
    ],
    ['entry changed', (r) => (r.entry = Buffer.from('{}').toString('base64')), 'LEAF_MISMATCH'],
    [
      'proof hash changed',
      (r) => (r.proof.inclusion_proof[0] = Buffer.alloc(32).toString('base64')),
      'ROOT_MISMATCH',
    ],
    ['index changed', (r) => (r.index += 1), 'BAD_PROOF'],
    [
      'checkpoint from elsewhere',
      (r) => (r.proof.checkpoint = r.proof.checkpoint.replace(/\n\n.*/s, '\n\n— x AAAA\n')),
      'BAD_NOTE',
    ],
  ];
  for (const [name, mutate, code] of tamper) {
    it(`fails when the ${name}`, async () => {
      const r = copy();
      mutate(r);
      expect(await errorCode(() => verifyRecordRead(r, parseVerifierKey(layer.log.vkey)))).toBe(code);
    });
  }

  it('evaluates JSON Pointers per RFC 6901', () => {
    const doc = { a: [{ 'b/c': 1, '~d': 2 }] };
    expect(valueAt(doc, '/a/0/b~1c')).toBe(1);
    expect(valueAt(doc, '/a/0/~0d')).toBe(2);
    expect(valueAt(doc, '/a/1')).toBeUndefined();
    expect(valueAt(doc, 'a')).toBeUndefined();
    expect(valueAt(doc, '/a/0/toString')).toBeUndefined();
  });
});
