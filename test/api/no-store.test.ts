/**
 * Answers carrying personal data (records, erasures, holds, retention reports) or secrets
 * (tokens) are `Cache-Control: no-store`, errors included (spec/http-api.md): a shared or browser
 * cache must not keep a decrypted record or a token list. Tree data keeps its own caching.
 */
import { describe, expect, it } from 'vitest';
import { createApp } from '../../src/api/app.js';
import { recordRoutes } from '../../src/api/records.js';
import { TokenStore } from '../../src/api/tokens.js';
import { exampleRecord } from '../records/fixtures.js';
import { openTestLayer } from '../records/helpers.js';

describe('Cache-Control: no-store', () => {
  it('is on every answer of /v1/records, /v1/subjects, /v1/holds, /v1/tokens and /v1/retention', async () => {
    const layer = await openTestLayer();
    const tokens = new TokenStore(layer.log.db);
    const app = createApp({
      log: layer.log,
      tokens,
      // With a body budget: its middleware runs after the one that marks the answer.
      config: { maxEntrySize: 65535, privateReads: false, maxBodyBytesInFlight: 16 << 20 },
      mounts: [{ path: '/v1', app: recordRoutes(layer.svc, tokens) }],
    });
    const sub = (await tokens.create({ role: 'submitter', name: 'sub' })).token;
    const aud = (await tokens.create({ role: 'auditor', name: 'aud' })).token;
    const admin = (await tokens.create({ role: 'admin', name: 'root' })).token;
    const tenantAdmin = (await tokens.create({ role: 'admin', name: 'acme', tenant: 'tnt_acme' })).token;

    const call = async (method: string, path: string, token?: string, body?: unknown) => {
      const headers: Record<string, string> = {};
      if (token !== undefined) headers.authorization = `Bearer ${token}`;
      if (body !== undefined) headers['content-type'] = 'application/json';
      const res = await app.request(path, {
        method,
        headers,
        ...(body !== undefined ? { body: typeof body === 'string' ? body : JSON.stringify(body) } : {}),
      });
      const json = (await res.json().catch(() => undefined)) as Record<string, unknown> | undefined;
      return { what: `${method} ${path} -> ${res.status}`, cache: res.headers.get('cache-control'), json };
    };

    const posted = await call('POST', '/v1/records', sub, exampleRecord());
    const index = posted.json?.index as number;
    const hold = await call('POST', '/v1/holds', admin, { subject: 'someone-else' });
    const answers = [
      posted,
      await call('POST', '/v1/records', sub, '{"tenant_id":'),
      await call('POST', '/v1/records'),
      await call('PUT', '/v1/records'),
      await call('GET', `/v1/records/${index}`, aud),
      await call('GET', '/v1/records/999', aud),
      await call('GET', `/v1/records/${index}`),
      await call('GET', '/v1/records/1/2'),
      hold,
      await call('GET', '/v1/holds', admin),
      await call('DELETE', `/v1/holds/${hold.json?.id as string}`, admin),
      await call('DELETE', '/v1/holds/hold_nope', admin),
      await call('POST', '/v1/holds', admin, {}),
      await call('POST', `/v1/subjects/${exampleRecord().user_id}/erase`, admin),
      await call('POST', '/v1/subjects/nobody/erase', admin),
      await call('POST', '/v1/subjects/nobody/erase', sub),
      await call('POST', '/v1/retention/run', admin),
      await call('POST', '/v1/retention/run', tenantAdmin),
      await call('GET', '/v1/tokens', admin),
      await call('POST', '/v1/tokens', admin, { role: 'auditor', name: 'new-one' }),
      await call('POST', '/v1/tokens/revoke', admin, { name: 'new-one' }),
      await call('POST', '/v1/tokens/revoke', admin, { name: 'no-such' }),
      await call('GET', '/v1/tokens'),
    ];
    // Successes and refusals alike (the statuses show which is which).
    expect(answers.map((a) => a.what)).toEqual([
      'POST /v1/records -> 200',
      'POST /v1/records -> 400',
      'POST /v1/records -> 401',
      'PUT /v1/records -> 405',
      `GET /v1/records/${index} -> 200`,
      'GET /v1/records/999 -> 404',
      `GET /v1/records/${index} -> 401`,
      'GET /v1/records/1/2 -> 404',
      'POST /v1/holds -> 201',
      'GET /v1/holds -> 200',
      `DELETE /v1/holds/${hold.json?.id as string} -> 200`,
      'DELETE /v1/holds/hold_nope -> 404',
      'POST /v1/holds -> 400',
      `POST /v1/subjects/${exampleRecord().user_id}/erase -> 200`,
      'POST /v1/subjects/nobody/erase -> 404',
      'POST /v1/subjects/nobody/erase -> 403',
      'POST /v1/retention/run -> 200',
      'POST /v1/retention/run -> 403',
      'GET /v1/tokens -> 200',
      'POST /v1/tokens -> 201',
      'POST /v1/tokens/revoke -> 200',
      'POST /v1/tokens/revoke -> 404',
      'GET /v1/tokens -> 401',
    ]);
    expect(answers.filter((a) => a.cache !== 'no-store').map((a) => a.what)).toEqual([]);

    // Tree data and the other /v1 routes are not marked.
    expect((await app.request('/checkpoint')).headers.get('cache-control')).toBe('public, max-age=2');
    expect((await app.request('/v1/log')).headers.get('cache-control')).toBeNull();
    expect((await app.request('/v1/recordsx')).headers.get('cache-control')).toBeNull();
  });
});
