/**
 * Records of tenant `*` (written by the log for every tenant: a global subject hold placed or
 * lifted, and the access records of reads of such records) are not any one tenant's, so a
 * token with a tenant may not read them through the audited read (spec/records.md, "Audited
 * reads"): GET /v1/records/<index|record_id> answered a tenant auditor with the record, and
 * left a data_accessed record in `*` naming that tenant's token. Now 403 FORBIDDEN, writing
 * nothing; tokens without a tenant read them as before.
 * Requires a build (`npm test` builds first).
 */
import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeToken, startServer, type TestServer, callJson } from '../helpers/server.js';
import { exampleRecord } from './fixtures.js';

let server: TestServer;
const tok = {} as { admin: string; acmeAuditor: string; acmeAdmin: string; auditor: string; sub: string };
beforeAll(async () => {
  server = await startServer({ args: ['--origin', 'example.com/star-read'] });
  tok.admin = server.adminToken!;
  tok.acmeAuditor = await makeToken(server, 'auditor', { name: 'acme-auditor', tenant: 'tnt_acme' });
  tok.acmeAdmin = await makeToken(server, 'admin', { name: 'acme-admin', tenant: 'tnt_acme' });
  tok.auditor = await makeToken(server, 'auditor', { name: 'global-auditor' });
  tok.sub = await makeToken(server, 'submitter', { name: 'acme-agent', tenant: 'tnt_acme' });
});
afterAll(async () => {
  expect(await server.stop()).toBe(0);
  rmSync(server.dir, { recursive: true, force: true });
});

const call = (method: string, route: string, token: string, body?: unknown) =>
  callJson(server.url, method, route, token, body);

const checkpoint = () => fetch(`${server.url}/checkpoint`).then((r) => r.text());

describe('GET /v1/records/<index|record_id> of tenant *', () => {
  it('is refused to tokens with a tenant, by index and by record id, and writes nothing', async () => {
    const own = await call('POST', '/v1/records', tok.sub, exampleRecord());
    expect(own.status).toBe(200);
    // A hold on a subject in every tenant: its legal_hold_placed record is tenant *.
    const hold = await call('POST', '/v1/holds', tok.admin, { subject: 'patient-7731' });
    expect(hold.status).toBe(201);
    expect(hold.json.tenant_id).toBeNull();
    const placed = hold.json.log as { index: number; record_id: string };
    // A global token reads it (and its read is itself a record of tenant *).
    const byGlobal = await call('GET', `/v1/records/${placed.index}`, tok.auditor);
    expect(byGlobal.status).toBe(200);
    expect(byGlobal.json.tenant_id).toBe('*');
    const access = byGlobal.json.access as { index: number; record_id: string };
    expect((await call('GET', `/v1/records/${access.index}`, tok.admin)).json.tenant_id).toBe('*');

    const before = await checkpoint();
    for (const token of [tok.acmeAuditor, tok.acmeAdmin]) {
      for (const r of [placed, access]) {
        for (const ref of [String(r.index), r.record_id]) {
          const read = await call('GET', `/v1/records/${ref}`, token);
          expect(read.status).toBe(403);
          expect(read.json.code).toBe('FORBIDDEN');
        }
      }
    }
    // No data_accessed record was appended for the refused reads.
    expect(await checkpoint()).toBe(before);
    // The tenant's own records still read.
    const mine = await call('GET', `/v1/records/${(own.json as { index: number }).index}`, tok.acmeAuditor);
    expect(mine.status).toBe(200);
    expect(mine.json.tenant_id).toBe('tnt_acme');
  });
});
