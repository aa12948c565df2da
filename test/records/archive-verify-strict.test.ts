/**
 * Offline archive verification refuses what spec/retention.md says it must: missing members,
 * records that are not objects, dates that are not RFC 3339, an erasure of a leaf with no body.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseVerifierKey } from '../../src/note/keys.js';
import { type ArchiveBundle, verifyArchive } from '../../src/records/archive.js';
import { runRetention } from '../../src/records/retention-job.js';
import { parseRecord } from '../../src/records/schema.js';
import type { Actor } from '../../src/records/service.js';
import { exampleRecord } from './fixtures.js';
import { openTestLayer } from './helpers.js';

const DAY = 86_400_000;
const beta: Actor = { role: 'submitter', name: 'agent-b', tenant: 'tnt_beta' };
/** A verified bundle of tnt_beta: records with bodies, plus one without personal fields. */
async function bundle() {
  const l = await openTestLayer();
  const { user_id: _u, input: _i, output: _o, ...nonPersonal } = exampleRecord();
  await l.svc.submit(
    [
      parseRecord({ ...exampleRecord(), tenant_id: 'tnt_beta' }),
      parseRecord({ ...nonPersonal, tenant_id: 'tnt_beta' }),
    ],
    beta,
  );
  l.clock.ms += 100 * DAY;
  const [arc] = (await runRetention(l.svc, { nowMs: l.clock.ms })).archived;
  const bytes = new Uint8Array(fs.readFileSync(path.join(l.dir, 'archive', arc!.name)));
  const vkey = parseVerifierKey(l.log.vkey);
  expect(verifyArchive(bytes, vkey).ok).toBe(true);
  const original = () => JSON.parse(new TextDecoder().decode(bytes)) as ArchiveBundle;
  const verify = (b: unknown) => verifyArchive(new TextEncoder().encode(JSON.stringify(b)), vkey);
  return { original, verify };
}

describe('verifyArchive', () => {
  it('refuses a bundle missing a top-level member ("exactly the members above")', async () => {
    const { original, verify } = await bundle();
    const b = original() as Partial<ArchiveBundle>;
    delete b.created_at;
    expect(verify(b).ok).toBe(false);
  });

  it('never throws on a bundle whose first record is null: FAIL, not an exception', async () => {
    const { original, verify } = await bundle();
    const b = original() as unknown as { records: unknown[]; count: number };
    b.records = [null];
    b.count = 1;
    expect(() => verify(b)).not.toThrow();
  });

  it('refuses a retain_until that is not an RFC 3339 date-time', async () => {
    const { original, verify } = await bundle();
    const b = original();
    b.retain_until = 'December 31, 9999';
    expect(verify(b).ok).toBe(false);
  });

  it('refuses "erased" for a record whose leaf has no body to erase', async () => {
    const { original, verify } = await bundle();
    const b = original();
    const r = b.records.find((x) => x.body_state === 'none')!;
    r.body_state = 'erased';
    expect(verify(b).ok).toBe(false);
  });
});
