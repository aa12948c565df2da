/**
 * Who may lift a legal hold (spec/records.md, "Legal holds"), against a real server process:
 * a hold placed by a global admin (a token without a tenant) on a tenant, or on a subject in
 * it, was lifted by that tenant's admin, undoing the global admin's hold. A tenant admin may
 * lift only holds placed by a tenant admin of its own tenant; the others answer 403 FORBIDDEN
 * and write nothing. A stored hold that does not say who placed it (a hold from before the
 * placer's tenant was kept) counts as placed by a global admin.
 * Requires a build (`npm test` builds first).
 */
import { rmSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { RecordStore, fromJson, json } from '../../src/records/store.js';
import { DB_DIR } from '../../src/storage/data-dir.js';
import { openLogDB } from '../../src/storage/level-store.js';
import { makeToken, startServer, type TestServer, tempDir, callJson } from '../helpers/server.js';
import { exampleRecord } from './fixtures.js';

const servers: TestServer[] = [];
const dirs: string[] = [];
afterAll(async () => {
  for (const s of servers) if (s.proc.exitCode === null) await s.stop();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const call = (server: TestServer, method: string, route: string, token: string, body?: unknown) =>
  callJson(server.url, method, route, token, body);

const checkpoint = (s: TestServer) => fetch(`${s.url}/checkpoint`).then((r) => r.text());
const holdIds = async (s: TestServer, token: string) =>
  ((await call(s, 'GET', '/v1/holds', token)).json.holds as { id: string }[]).map((h) => h.id).sort();

describe('DELETE /v1/holds/<id>', () => {
  it('a tenant admin cannot lift a hold a global admin placed on its tenant or on a subject in it', async () => {
    const root = tempDir();
    dirs.push(root);
    const server = await startServer({
      dir: path.join(root, 'data'),
      args: ['--origin', 'example.com/hold-lift'],
    });
    servers.push(server);
    const admin = server.adminToken!;
    const acmeAdmin = await makeToken(server, 'admin', { name: 'acme-admin', tenant: 'tnt_acme' });
    const sub = await makeToken(server, 'submitter', { name: 'acme-agent', tenant: 'tnt_acme' });
    expect((await call(server, 'POST', '/v1/records', sub, exampleRecord())).status).toBe(200);

    const onTenant = await call(server, 'POST', '/v1/holds', admin, { tenant_id: 'tnt_acme' });
    const onSubject = await call(server, 'POST', '/v1/holds', admin, {
      subject: 'patient-7731',
      tenant_id: 'tnt_acme',
    });
    expect([onTenant.status, onSubject.status]).toEqual([201, 201]);
    const global = [onTenant.json.id as string, onSubject.json.id as string];

    const before = await checkpoint(server);
    for (const id of global) {
      const lift = await call(server, 'DELETE', `/v1/holds/${id}`, acmeAdmin);
      expect(lift.status).toBe(403);
      expect(lift.json.code).toBe('FORBIDDEN');
    }
    // Nothing was written (no legal_hold_lifted record), the holds stand and still refuse erasure.
    expect(await checkpoint(server)).toBe(before);
    expect(await holdIds(server, admin)).toEqual([...global].sort());
    expect((await call(server, 'POST', '/v1/subjects/patient-7731/erase', acmeAdmin)).status).toBe(423);
    // Who placed each hold, and whether that principal had a tenant, is kept with the hold.
    expect(onTenant.json).toMatchObject({
      placed_by: 'admin',
      placed_by_tenant: null,
      tenant_id: 'tnt_acme',
    });
    expect(onSubject.json).toMatchObject({
      placed_by: 'admin',
      placed_by_tenant: null,
      tenant_id: 'tnt_acme',
    });

    // A hold the tenant admin placed itself it may lift; a global admin may lift any.
    const own = await call(server, 'POST', '/v1/holds', acmeAdmin, { subject: 'patient-7731' });
    expect(own.json).toMatchObject({ placed_by: 'acme-admin', placed_by_tenant: 'tnt_acme' });
    expect((await call(server, 'DELETE', `/v1/holds/${own.json.id as string}`, acmeAdmin)).status).toBe(200);
    for (const id of global)
      expect((await call(server, 'DELETE', `/v1/holds/${id}`, admin)).status).toBe(200);
    expect(await holdIds(server, admin)).toEqual([]);
    expect(await server.stop()).toBe(0);
  });

  it('the placer survives a restart; a stored hold without it is liftable only by a global admin', async () => {
    const root = tempDir();
    dirs.push(root);
    const dir = path.join(root, 'data');
    const first = await startServer({ dir, args: ['--origin', 'example.com/hold-lift-old'] });
    servers.push(first);
    const admin = first.adminToken!;
    const acmeAdmin = await makeToken(first, 'admin', { name: 'acme-admin', tenant: 'tnt_acme' });
    const globalHold = (await call(first, 'POST', '/v1/holds', admin, { tenant_id: 'tnt_acme' })).json
      .id as string;
    const ownHold = (await call(first, 'POST', '/v1/holds', acmeAdmin, { subject: 'patient-7731' })).json
      .id as string;
    const oldHold = (await call(first, 'POST', '/v1/holds', acmeAdmin, { subject: 'patient-9' })).json
      .id as string;
    expect(await first.stop()).toBe(0);

    // Offline, make `oldHold` look like a hold stored before the placer's tenant was kept.
    const db = await openLogDB(path.join(dir, DB_DIR));
    const store = new RecordStore(db);
    const key = new TextEncoder().encode(oldHold);
    const { placed_by_tenant: _, ...legacy } = fromJson<Record<string, unknown>>(
      (await store.holds.get(key))!,
    );
    expect(legacy).toMatchObject({ id: oldHold, placed_by: 'acme-admin', tenant_id: 'tnt_acme' });
    await store.holds.put(key, json(legacy));
    await db.close();

    const server = await startServer({ dir });
    servers.push(server);
    expect((await call(server, 'DELETE', `/v1/holds/${globalHold}`, acmeAdmin)).status).toBe(403);
    const old = await call(server, 'DELETE', `/v1/holds/${oldHold}`, acmeAdmin);
    expect(old.status).toBe(403);
    expect(old.json.code).toBe('FORBIDDEN');
    expect((await call(server, 'DELETE', `/v1/holds/${ownHold}`, acmeAdmin)).status).toBe(200);
    expect((await call(server, 'DELETE', `/v1/holds/${oldHold}`, admin)).status).toBe(200);
    expect(await holdIds(server, admin)).toEqual([globalHold]);
    expect(await server.stop()).toBe(0);
  });
});
