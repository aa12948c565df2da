/**
 * Token management against a real server process (spec/http-api.md "Tokens and roles"):
 * listing without secrets, revocation seen by the very next request, who may revoke what,
 * malformed requests changing nothing, the last admin token, and durability across kill -9.
 */
import { rmSync } from 'node:fs';
import { dirname } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TokenInfo } from '../../src/api/tokens.js';
import { makeToken, startServer, submit, type TestServer } from '../helpers/server.js';

/** A parsed JSON answer: token listings, revocations and problem bodies. */
interface Answer {
  tokens: TokenInfo[];
  name?: string;
  token?: string;
  tenant?: string;
  code?: string;
  status?: number;
}

let server: TestServer;
let admin: string;
const cleanup: string[] = [];
const entry = (s: string) => new TextEncoder().encode(s);

beforeAll(async () => {
  server = await startServer({ args: ['--origin', 'example.com/token-test'] });
  cleanup.push(dirname(server.dir));
  admin = server.adminToken!;
});
afterAll(async () => {
  await server.stop();
  for (const d of cleanup) rmSync(d, { recursive: true, force: true });
});

async function call(
  method: string,
  path: string,
  token: string | undefined,
  body?: string,
  contentType = 'application/json',
  url = server.url,
): Promise<{ status: number; json: Answer; type: string | null }> {
  const res = await fetch(`${url}${path}`, {
    method,
    headers: {
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...(body !== undefined ? { 'content-type': contentType } : {}),
    },
    ...(body !== undefined ? { body } : {}),
  });
  const text = await res.text();
  return {
    status: res.status,
    json: text ? JSON.parse(text) : undefined,
    type: res.headers.get('content-type'),
  };
}

const revoke = (token: string | undefined, name: string, url = server.url) =>
  call('POST', '/v1/tokens/revoke', token, JSON.stringify({ name }), 'application/json', url);
const list = async (token = admin) => (await call('GET', '/v1/tokens', token)).json.tokens;

describe('GET /v1/tokens', () => {
  it('lists every token with role, name, tenant and creation, never a secret or hash', async () => {
    const tok = await makeToken(server, 'submitter', { name: 'list-sub', tenant: 'tnt_list' });
    const res = await call('GET', '/v1/tokens', admin);
    expect(res.status).toBe(200);
    const row = res.json.tokens.find((t) => t.name === 'list-sub');
    expect(row).toMatchObject({ role: 'submitter', tenant: 'tnt_list', created_by: 'admin' });
    expect(Date.parse(row!.created)).not.toBeNaN();
    expect(res.json.tokens.find((t) => t.name === 'admin')).toMatchObject({ role: 'admin' });
    const text = JSON.stringify(res.json);
    expect(text).not.toContain(tok);
    expect(text).not.toContain(admin);
    expect(text).not.toMatch(/hash|[0-9a-f]{64}/);
  });

  it('is for admins only (403 for a submitter, 401 without a token)', async () => {
    const sub = await makeToken(server, 'submitter');
    expect((await call('GET', '/v1/tokens', sub)).status).toBe(403);
    expect((await call('GET', '/v1/tokens', undefined)).status).toBe(401);
  });
});

describe('POST /v1/tokens', () => {
  it('answers the new secret with Cache-Control: no-store, and the scheme is case-insensitive (RFC 7235)', async () => {
    const res = await fetch(`${server.url}/v1/tokens`, {
      method: 'POST',
      headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' },
      body: JSON.stringify({ role: 'submitter' }),
    });
    expect(res.status).toBe(201);
    expect(res.headers.get('cache-control')).toBe('no-store');
    const { token } = (await res.json()) as { token: string };
    const lower = await fetch(`${server.url}/v1/entries`, {
      method: 'POST',
      headers: { authorization: `bearer ${token}`, 'content-type': 'application/octet-stream' },
      body: entry('lower-case scheme'),
    });
    expect(lower.status).toBe(200);
  });
});

describe('POST /v1/tokens/revoke', () => {
  it('a revoked token is refused (401) on the very next request, though the server has it cached', async () => {
    const tok = await makeToken(server, 'submitter', { name: 'agent-revoked' });
    // Two requests: the second is answered from the server's token cache.
    expect((await submit(server.url, tok, entry('a'))).status).toBe(200);
    expect((await submit(server.url, tok, entry('b'))).status).toBe(200);
    const res = await revoke(admin, 'agent-revoked');
    expect(res.status).toBe(200);
    expect(res.json.name).toBe('agent-revoked');
    expect(res.json.tokens).toHaveLength(1);
    expect(res.json.tokens[0]).toMatchObject({
      name: 'agent-revoked',
      role: 'submitter',
      revoked_by: 'admin',
    });
    const after = await submit(server.url, tok, entry('c'));
    expect(after.status).toBe(401);
    expect((after.body as Answer).code).toBe('UNAUTHORIZED');
    const row = (await list()).find((t) => t.name === 'agent-revoked');
    expect(row!.revoked).toBe(res.json.tokens[0]!.revoked);
  });

  it('a non-admin may not revoke (403), and the token stays valid', async () => {
    const victim = await makeToken(server, 'submitter', { name: 'victim-1' });
    const sub = await makeToken(server, 'submitter');
    const aud = await makeToken(server, 'auditor');
    for (const t of [sub, aud, victim]) {
      const res = await revoke(t, 'victim-1');
      expect(res.status).toBe(403);
      expect(res.json.code).toBe('FORBIDDEN');
    }
    expect((await revoke(undefined, 'victim-1')).status).toBe(401);
    expect((await submit(server.url, victim, entry('still'))).status).toBe(200);
  });

  it('an unknown name is 404, and so is a name already revoked', async () => {
    const res = await revoke(admin, 'no-such-token');
    expect(res.status).toBe(404);
    expect(res.type).toBe('application/problem+json');
    expect(res.json.code).toBe('NOT_FOUND');
    await makeToken(server, 'auditor', { name: 'twice' });
    expect((await revoke(admin, 'twice')).status).toBe(200);
    expect((await revoke(admin, 'twice')).status).toBe(404);
  });

  const malformed: [string, string, string, number][] = [
    ['not JSON', '{', 'application/json', 400],
    ['no name', '{}', 'application/json', 400],
    ['unknown field', '{"name":"victim-2","x":1}', 'application/json', 400],
    ['name not a string', '{"name":7}', 'application/json', 400],
    ['name with a slash', '{"name":"victim-2/x"}', 'application/json', 400],
    ['name of 65 characters', JSON.stringify({ name: 'v'.repeat(65) }), 'application/json', 400],
    ['empty name', '{"name":""}', 'application/json', 400],
    ['an array', '["victim-2"]', 'application/json', 400],
    ['wrong content type', '{"name":"victim-2"}', 'text/plain', 415],
    ['oversized body', JSON.stringify({ name: 'victim-2', pad: 'x'.repeat(5000) }), 'application/json', 413],
  ];
  for (const [what, body, type, status] of malformed) {
    it(`malformed: ${what} → ${status}, nothing written`, async () => {
      const victim = (await list()).some((t) => t.name === 'victim-2')
        ? undefined
        : await makeToken(server, 'submitter', { name: 'victim-2' });
      const before = await list();
      const res = await call('POST', '/v1/tokens/revoke', admin, body, type);
      expect(res.status).toBe(status);
      expect(res.type).toBe('application/problem+json');
      expect(res.json.status).toBe(status);
      expect(await list()).toEqual(before);
      expect(before.find((t) => t.name === 'victim-2')!.revoked).toBeUndefined();
      if (victim) expect((await submit(server.url, victim, entry(what))).status).toBe(200);
    });
  }

  it('an active name is unique (409 on create), and a revoked name may be reused', async () => {
    await makeToken(server, 'submitter', { name: 'reused' });
    const dup = await call('POST', '/v1/tokens', admin, '{"role":"auditor","name":"reused"}');
    expect(dup.status).toBe(409);
    expect(dup.json.code).toBe('CONFLICT');
    expect((await revoke(admin, 'reused')).status).toBe(200);
    const again = await makeToken(server, 'auditor', { name: 'reused' });
    expect((await call('GET', '/v1/tokens', again)).status).toBe(403); // valid, as an auditor
    expect((await list()).filter((t) => t.name === 'reused').map((t) => t.revoked === undefined)).toEqual([
      false,
      true,
    ]);
  });

  it('a tenant admin lists, creates and revokes only its own tenant’s tokens', async () => {
    const tadmin = await makeToken(server, 'admin', { name: 'acme-admin', tenant: 'tnt_acme' });
    await makeToken(server, 'submitter', { name: 'beta-sub', tenant: 'tnt_beta' });
    const own = await call('POST', '/v1/tokens', tadmin, '{"role":"submitter","name":"acme-sub"}');
    expect(own.status).toBe(201);
    expect(own.json.tenant).toBe('tnt_acme'); // its own tenant by default
    const other = await call('POST', '/v1/tokens', tadmin, '{"role":"admin","tenant":"tnt_beta"}');
    expect(other.status).toBe(403);
    const seen = (await list(tadmin)).map((t) => t.name);
    expect(seen.sort()).toEqual(['acme-admin', 'acme-sub']);
    expect((await revoke(tadmin, 'beta-sub')).status).toBe(403);
    expect((await revoke(tadmin, 'admin')).status).toBe(403);
    expect((await revoke(tadmin, 'acme-sub')).status).toBe(200);
    expect((await submit(server.url, own.json.token!, entry('acme'))).status).toBe(401);
  });
});

describe('the last admin token', () => {
  it('cannot be revoked (409); once another exists it can, and is then refused', async () => {
    const s = await startServer({ args: ['--origin', 'example.com/last-admin'] });
    cleanup.push(dirname(s.dir));
    try {
      const first = s.adminToken!;
      // A tenant admin does not count: it cannot manage other tenants' tokens.
      await makeToken(s, 'admin', { name: 'tenant-admin', tenant: 'tnt_x' });
      const res = await revoke(first, 'admin', s.url);
      expect(res.status).toBe(409);
      expect(res.json.code).toBe('CONFLICT');
      expect((await call('GET', '/v1/tokens', first, undefined, undefined, s.url)).status).toBe(200);
      const second = await makeToken(s, 'admin', { name: 'admin-2' });
      expect((await revoke(second, 'admin', s.url)).status).toBe(200);
      expect((await call('GET', '/v1/tokens', first, undefined, undefined, s.url)).status).toBe(401);
      // The one left is now the last: revoking itself is refused as well.
      expect((await revoke(second, 'admin-2', s.url)).status).toBe(409);
    } finally {
      await s.stop();
    }
  });
});

describe('durability', () => {
  it('a revocation acknowledged just before kill -9 holds after restart', async () => {
    const s = await startServer({ args: ['--origin', 'example.com/revoke-crash'] });
    cleanup.push(dirname(s.dir));
    const tok = await makeToken(s, 'submitter', { name: 'crash-sub' });
    expect((await submit(s.url, tok, entry('x'))).status).toBe(200);
    expect((await revoke(s.adminToken, 'crash-sub', s.url)).status).toBe(200);
    await s.kill9();
    const again = await startServer({ dir: s.dir });
    try {
      expect((await submit(again.url, tok, entry('y'))).status).toBe(401);
    } finally {
      await again.stop();
    }
  });
});
