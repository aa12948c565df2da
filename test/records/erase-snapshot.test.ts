/**
 * An erasure while a reader holds a LevelDB snapshot: compaction cannot drop the values the
 * snapshot still sees, so the erasure's scrub check finds them. The compaction must then stay
 * due, so that the next start-up (or retention run) removes them, rather than be marked done.
 */
import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { Actor } from '../../src/records/service.js';
import { parseRecord } from '../../src/records/schema.js';
import { subjectPrefix } from '../../src/records/store.js';
import { captureStderr } from '../helpers/stderr.js';
import { exampleRecord } from './fixtures.js';
import { filesContaining, openLayer } from './helpers.js';

const submitter: Actor = { role: 'submitter', name: 'agent-a', tenant: 'tnt_acme' };
const admin: Actor = { role: 'admin', name: 'root' };

describe('erasure with a reader open', () => {
  it('keeps the compaction due, and the next start-up removes what the reader kept alive', async () => {
    const first = await openLayer();
    const { dir, svc } = first;
    const records = [];
    for (let i = 0; i < 20; i++) {
      records.push(
        ...(await svc.submit(
          [parseRecord({ ...exampleRecord(), input: { user_message: `message ${i}` } })],
          submitter,
        )),
      );
    }
    const st = svc.store;
    const bodies = await Promise.all(records.map((r) => st.get(st.bodies, r.record_id)));
    const wrapped = await st.get(st.keys, subjectPrefix(svc.tagOf('patient-7731'), 'tnt_acme'));
    const onDisk = () =>
      [...bodies.map((b) => b!.subarray(13, 45)), wrapped!.subarray(13, 45)].filter(
        (needle) => filesContaining(dir, needle).length > 0,
      ).length;

    const reader = st.bodies.iterator();
    await reader.next();
    const { value: result, written } = await captureStderr(() => svc.erase('patient-7731', undefined, admin));
    expect(result.tenants).toMatchObject([{ tenant_id: 'tnt_acme', records_erased: 20 }]);
    expect(result.scrub.found).toBeGreaterThan(0);
    expect(written).toContain('the compaction is due again at start-up');
    expect(await st.isCompactionDue()).toBe(true);
    await reader.close();
    await first.close();
    expect(onDisk()).toBeGreaterThan(0);

    const second = await openLayer(dir);
    expect(await second.svc.store.isCompactionDue()).toBe(false);
    await second.close();
    expect(onDisk()).toBe(0);
    fs.rmSync(dir, { recursive: true, force: true });
  });
});
