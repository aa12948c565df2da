/**
 * Public subject tags (spec/records.md, "Subject tags"): the log's records and the API's answers
 * name a subject by a tag bound to the tenant, never by the store's tag. An admin of one tenant
 * can obtain the tag of a guess in its own tenant (by placing a hold), and that tag must match
 * nothing in another tenant's leaves; one person's erasures in two tenants must not be linked.
 */
import { describe, expect, it } from 'vitest';
import { decodeBase64 } from '../../src/note/encoding.js';
import { parseLeaf } from '../../src/records/leaf.js';
import { parseRecord } from '../../src/records/schema.js';
import type { Actor } from '../../src/records/service.js';
import { exampleRecord } from './fixtures.js';
import { openTestLayer } from './helpers.js';

const admin: Actor = { role: 'admin', name: 'root' };
const adminA: Actor = { role: 'admin', name: 'a-admin', tenant: 'tnt_a' };
const adminB: Actor = { role: 'admin', name: 'b-admin', tenant: 'tnt_b' };
const submitter = (tenant: string): Actor => ({ role: 'submitter', name: `agent-${tenant}`, tenant });
const about = (tenant: string, subject: string) =>
  parseRecord({ ...exampleRecord(), tenant_id: tenant, user_id: subject });

describe('public subject tags', () => {
  it("a tenant admin's hold on a guess yields a tag that matches nothing in another tenant's leaves", async () => {
    const { svc, log } = await openTestLayer();
    const alice = 'alice@example.com';
    await svc.submit([about('tnt_b', alice)], submitter('tnt_b'));
    await svc.placeHold({ subject: alice }, adminB).then(({ hold }) => svc.liftHold(hold.id, adminB));
    await svc.erase(alice, undefined, adminB);

    // Tenant A's admin tests the guess the only way it can: a hold on it in its own tenant.
    const { hold } = await svc.placeHold({ subject: alice }, adminA);
    await svc.liftHold(hold.id, adminA);
    const leaves = (await log.entries(0n, log.latest().size)).map((e) => parseLeaf(e));
    const ofB = leaves.filter((l) => l.record.tenant_id === 'tnt_b');
    expect(ofB.map((l) => l.record.action)).toEqual(
      expect.arrayContaining(['legal_hold_placed', 'legal_hold_lifted', 'subject_erased']),
    );
    expect(ofB.filter((l) => JSON.stringify(l).includes(hold.subject_tag!))).toEqual([]);
    // And the store's tag is in no leaf at all, nor in any answer.
    const storeTag = Buffer.from(svc.tagOf(alice)).toString('hex');
    expect(leaves.filter((l) => JSON.stringify(l).includes(storeTag))).toEqual([]);
    expect(hold.subject_tag).not.toBe(storeTag);
    expect(JSON.stringify(svc.listHolds(admin))).not.toContain(storeTag);
  });

  it("one person's erasures in two tenants carry different tags; each answer names its tenant's tag", async () => {
    const { svc } = await openTestLayer();
    const bob = 'bob@example.com';
    await svc.submit([about('tnt_a', bob)], submitter('tnt_a'));
    await svc.submit([about('tnt_b', bob)], submitter('tnt_b'));
    const erased = await svc.erase(bob, undefined, admin);
    expect(Object.keys(erased)).toEqual(['tenants', 'scrub']);
    const tags = erased.tenants.map((t) => {
      const leaf = parseLeaf(decodeBase64(t.log.entry));
      expect(leaf.record.resource_id).toBe(t.subject_tag);
      expect((leaf.record.details as { subject_tag: string }).subject_tag).toBe(t.subject_tag);
      return t.subject_tag;
    });
    expect(tags).toHaveLength(2);
    expect(tags[0]).not.toBe(tags[1]);
    // A hold in all tenants has a tag of its own, too.
    const { hold, log } = await svc.placeHold({ subject: bob }, admin);
    expect(hold.tenant_id).toBeNull();
    expect(tags).not.toContain(hold.subject_tag);
    expect(new TextDecoder().decode(decodeBase64(log.entry))).toContain(hold.subject_tag!);
  });
});
