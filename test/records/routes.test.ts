/**
 * The record routes through the real hono app (app.request, no port), on a real LevelDB log:
 * status codes, problem+json bodies naming the field, and "nothing is written" on bad input.
 */
import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../src/api/app.js';
import { recordRoutes } from '../../src/api/records.js';
import { TokenStore } from '../../src/api/tokens.js';
import { exampleRecord } from './fixtures.js';
import { openLayer } from './helpers.js';

let layer: Awaited<ReturnType<typeof openLayer>>;
let app: ReturnType<typeof createApp>;
const tok: Record<string, string> = {};

beforeAll(async () => {
  layer = await openLayer();
  const tokens = new TokenStore(layer.log.db);
  app = createApp({
    log: layer.log,
    tokens,
    config: { maxEntrySize: 65535, privateReads: false },
    mounts: [{ path: '/v1', app: recordRoutes(layer.svc, tokens) }],
  });
  tok.sub = (await tokens.create({ role: 'submitter', name: 'sub-a', tenant: 'tnt_acme' })).token;
  tok.subAny = (await tokens.create({ role: 'submitter', name: 'sub-any' })).token;
  tok.aud = (await tokens.create({ role: 'auditor', name: 'aud-a', tenant: 'tnt_acme' })).token;
  tok.admin = (await tokens.create({ role: 'admin', name: 'root' })).token;
  tok.tenantAdmin = (await tokens.create({ role: 'admin', name: 'acme-admin', tenant: 'tnt_acme' })).token;
});

afterAll(async () => {
  await layer.close();
  fs.rmSync(layer.dir, { recursive: true, force: true });
});

async function req(
  method: string,
  path: string,
  token: string | undefined,
  body?: string,
  contentType = 'application/json',
): Promise<{ status: number; json: Record<string, unknown> }> {
  const headers: Record<string, string> = {};
  if (token !== undefined) headers.authorization = `Bearer ${token}`;
  if (body !== undefined) headers['content-type'] = contentType;
  const res = await app.request(path, { method, headers, ...(body !== undefined ? { body } : {}) });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

describe('POST /v1/records', () => {
  it('accepts the issue example and a batch', async () => {
    const one = await req('POST', '/v1/records', tok.sub, JSON.stringify(exampleRecord()));
    expect(one.status).toBe(200);
    expect(Object.keys(one.json).sort()).toEqual(
      [
        'checkpoint',
        'entry',
        'inclusion_proof',
        'index',
        'leaf_hash',
        'origin',
        'record_id',
        'tree_size',
      ].sort(),
    );
    const many = await req(
      'POST',
      '/v1/records',
      tok.subAny,
      JSON.stringify({ records: [exampleRecord(), exampleRecord()] }),
    );
    expect(many.status).toBe(200);
    expect((many.json.records as unknown[]).length).toBe(2);
  });

  const bad: [string, string | undefined, string, string, number, string | null][] = [
    ['no token', undefined, JSON.stringify(exampleRecord()), 'application/json', 401, null],
    ['auditor token', 'aud', JSON.stringify(exampleRecord()), 'application/json', 403, null],
    ['wrong content type', 'sub', JSON.stringify(exampleRecord()), 'text/plain', 415, null],
    ['not JSON', 'sub', '{"tenant_id":', 'application/json', 400, 'body is not valid JSON'],
    [
      'duplicate member',
      'sub',
      JSON.stringify(exampleRecord()).replace('{', '{"user_id":"other",'),
      'application/json',
      400,
      '(body): duplicate member "user_id"',
    ],
    [
      'unknown field',
      'sub',
      JSON.stringify({ ...exampleRecord(), extra: 1 }),
      'application/json',
      400,
      'extra: unknown field',
    ],
    [
      'wrong type',
      'sub',
      JSON.stringify({ ...exampleRecord(), metrics: { latency_ms: 'slow' } }),
      'application/json',
      400,
      'metrics.latency_ms:',
    ],
    [
      'other tenant',
      'sub',
      JSON.stringify({ ...exampleRecord(), tenant_id: 'tnt_beta' }),
      'application/json',
      403,
      'tenant_id:',
    ],
    [
      'bad batch item',
      'sub',
      JSON.stringify({ records: [exampleRecord(), { ...exampleRecord(), actor_type: 1 }] }),
      'application/json',
      400,
      'records.1.actor_type:',
    ],
    [
      'lone surrogate',
      'sub',
      '{"tenant_id":"tnt_acme","action":"tool_invoked","actor_id":"\\ud800","actor_type":"agent"}',
      'application/json',
      400,
      'actor_id: string has a lone surrogate',
    ],
    [
      'reserved action',
      'sub',
      JSON.stringify({ ...exampleRecord(), action: 'archive_deleted' }),
      'application/json',
      400,
      'action:',
    ],
    [
      'body over 8 MiB',
      'sub',
      JSON.stringify({ ...exampleRecord(), details: { x: 'y'.repeat(9 * 1024 * 1024) } }),
      'application/json',
      413,
      null,
    ],
  ];
  for (const [name, who, body, ct, status, detail] of bad) {
    it(`refuses ${name} (${status}) and writes nothing`, async () => {
      const size = layer.log.latest().size;
      const r = await req('POST', '/v1/records', who === undefined ? undefined : tok[who], body, ct);
      expect(r.status).toBe(status);
      expect(r.json.status).toBe(status);
      if (detail !== null) expect(String(r.json.detail)).toContain(detail);
      expect(layer.log.latest().size).toBe(size);
    });
  }
});

describe('GET /v1/records/<index>', () => {
  it('reads by index or by record id, and the two agree', async () => {
    const posted = await req('POST', '/v1/records', tok.sub, JSON.stringify(exampleRecord()));
    const byId = await req('GET', `/v1/records/${posted.json.record_id as string}`, tok.aud);
    expect(byId.status).toBe(200);
    expect(byId.json.index).toBe(posted.json.index);
    expect((await req('GET', `/v1/records/rec_${'0'.repeat(32)}`, tok.aud)).status).toBe(404);
  });

  it('refuses non-canonical indexes and submitters', async () => {
    for (const p of ['01', '-1', 'x', '1.0', '99999999999999999999999']) {
      expect((await req('GET', `/v1/records/${p}`, tok.aud)).status).toBe(400);
    }
    expect((await req('GET', '/v1/records/0', tok.sub)).status).toBe(403);
    expect((await req('GET', '/v1/records/100000', tok.aud)).status).toBe(404);
  });
});

describe('holds and erasure', () => {
  it('refuses malformed hold and erase requests, writing nothing', async () => {
    const size = layer.log.latest().size;
    expect(await req('POST', '/v1/holds', tok.admin, JSON.stringify({ tenant: 'x' }))).toMatchObject({
      status: 400,
      json: { detail: 'tenant: unknown field' },
    });
    expect(await req('POST', '/v1/holds', tok.admin, '{"subject":"a","subject":"b"}')).toMatchObject({
      status: 400,
      json: { detail: '(body): duplicate member "subject"' },
    });
    expect(await req('POST', '/v1/holds', tok.admin, JSON.stringify({}))).toMatchObject({ status: 400 });
    expect((await req('POST', '/v1/holds', tok.admin, '[')).status).toBe(400);
    expect((await req('POST', '/v1/holds', tok.sub, JSON.stringify({ tenant_id: 'tnt_acme' }))).status).toBe(
      403,
    );
    expect(
      (await req('POST', '/v1/holds', tok.tenantAdmin, JSON.stringify({ tenant_id: 'tnt_beta' }))).status,
    ).toBe(403);
    expect((await req('DELETE', '/v1/holds/hold_nope', tok.admin)).status).toBe(404);
    expect((await req('POST', '/v1/subjects/nobody/erase', tok.admin)).status).toBe(404);
    expect(
      (await req('POST', '/v1/subjects/x/erase', tok.admin, JSON.stringify({ tenant: 'a' }))).status,
    ).toBe(400);
    expect((await req('POST', '/v1/subjects/x/erase', tok.admin, '{')).status).toBe(400);
    expect((await req('POST', '/v1/subjects/x/erase', tok.aud)).status).toBe(403);
    expect((await req('POST', '/v1/retention/run', tok.tenantAdmin)).status).toBe(403);
    expect(layer.log.latest().size).toBe(size);
  });

  it('takes the subject percent-decoded from the path', async () => {
    const subject = 'jane doe@example.com/x';
    const posted = await req(
      'POST',
      '/v1/records',
      tok.sub,
      JSON.stringify({ ...exampleRecord(), user_id: subject }),
    );
    expect(posted.status).toBe(200);
    const e = await req('POST', `/v1/subjects/${encodeURIComponent(subject)}/erase`, tok.admin);
    expect(e.status).toBe(200);
    expect(e.json.tenants).toMatchObject([{ tenant_id: 'tnt_acme', records_erased: 1 }]);
  });

  it('a tenant admin holds and erases only in its tenant', async () => {
    const h = await req('POST', '/v1/holds', tok.tenantAdmin, JSON.stringify({ subject: 'patient-7731' }));
    expect(h.status).toBe(201);
    expect(h.json.tenant_id).toBe('tnt_acme');
    expect((await req('POST', '/v1/subjects/patient-7731/erase', tok.tenantAdmin)).status).toBe(423);
    expect((await req('GET', '/v1/holds', tok.tenantAdmin)).json.holds).toHaveLength(1);
    expect((await req('DELETE', `/v1/holds/${h.json.id as string}`, tok.tenantAdmin)).status).toBe(200);
    const e = await req('POST', '/v1/subjects/patient-7731/erase', tok.tenantAdmin);
    expect(e.status).toBe(200);
    expect(e.json.tenants).toMatchObject([{ tenant_id: 'tnt_acme' }]);
  });
});
