/**
 * Methods a path is not served with get 405 and an Allow header (RFC 9110 section 15.5.6),
 * answered as that family of paths answers errors: plain text on C2SP paths, problem+json on
 * the API. HEAD works wherever GET does; unknown paths stay 404. Against a real server, so the
 * route table includes the groups the server mounts (records, holds).
 */
import { Hono } from 'hono';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { allowedMethods, notFoundOrMethodNotAllowed } from '../../src/api/methods.js';
import { makeToken, startServer, submit, type TestServer } from '../helpers/server.js';

let server: TestServer;
let sub: string;

beforeAll(async () => {
  server = await startServer();
  sub = await makeToken(server, 'submitter');
  expect((await submit(server.url, sub, new Uint8Array([1, 2, 3]))).status).toBe(200);
});

afterAll(async () => {
  await server?.stop();
});

const size = async () =>
  ((await (await fetch(`${server.url}/v1/log`)).json()) as { tree_size: number }).tree_size;

describe('405 Method Not Allowed', () => {
  // [method, path, Allow, C2SP (plain text) or API (problem+json)]
  const cases: [string, string, string, 'text' | 'problem'][] = [
    ['DELETE', '/checkpoint', 'GET, HEAD', 'text'],
    ['POST', '/checkpoint', 'GET, HEAD', 'text'],
    ['POST', '/tile/0/000', 'GET, HEAD', 'text'],
    ['PUT', '/tile/entries/000.p/1', 'GET, HEAD', 'text'],
    ['POST', '/ct/v1/get-sth', 'GET, HEAD', 'problem'],
    ['GET', '/v1/entries', 'POST', 'problem'],
    ['GET', '/v1/records', 'POST', 'problem'],
    ['PUT', '/v1/tokens', 'GET, HEAD, POST', 'problem'],
    ['GET', '/v1/tokens/revoke', 'POST', 'problem'],
    ['DELETE', '/v1/records/0', 'GET, HEAD', 'problem'],
    ['GET', '/v1/holds/hold_x', 'DELETE', 'problem'],
    ['PATCH', '/v1/holds', 'GET, HEAD, POST', 'problem'],
    ['DELETE', '/v1/log', 'GET, HEAD', 'problem'],
  ];
  for (const [method, path, allow, family] of cases) {
    it(`${method} ${path} → 405, Allow: ${allow}`, async () => {
      const res = await fetch(`${server.url}${path}`, {
        method,
        headers: { authorization: `Bearer ${sub}` },
      });
      expect(res.status).toBe(405);
      expect(res.headers.get('allow')).toBe(allow);
      const text = await res.text();
      if (family === 'text') {
        expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
        expect(text).toBe(`${method} is not allowed here; allowed: ${allow}\n`);
      } else {
        expect(res.headers.get('content-type')).toBe('application/problem+json');
        expect(JSON.parse(text)).toMatchObject({
          status: 405,
          code: 'METHOD_NOT_ALLOWED',
          title: 'METHOD_NOT_ALLOWED',
        });
      }
    });
  }

  it('HEAD on a path served only by POST is 405 too, without a body', async () => {
    const res = await fetch(`${server.url}/v1/entries`, { method: 'HEAD' });
    expect(res.status).toBe(405);
    expect(res.headers.get('allow')).toBe('POST');
    expect(await res.text()).toBe('');
  });

  it('a refused method changes nothing', async () => {
    const before = await size();
    const res = await fetch(`${server.url}/v1/entries`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${sub}`, 'content-type': 'application/octet-stream' },
      body: new Uint8Array([4, 5, 6]),
    });
    expect(res.status).toBe(405);
    expect(await size()).toBe(before);
  });
});

describe('HEAD and unknown paths', () => {
  it('HEAD works wherever GET does, and is listed in Allow', async () => {
    for (const path of [
      '/checkpoint',
      '/tile/0/000.p/1',
      '/tile/entries/000.p/1',
      '/ct/v1/get-sth',
      '/v1/log',
    ]) {
      const get = await fetch(`${server.url}${path}`);
      const head = await fetch(`${server.url}${path}`, { method: 'HEAD' });
      expect(head.status, path).toBe(200);
      expect(head.headers.get('content-type'), path).toBe(get.headers.get('content-type'));
      expect(await head.text(), path).toBe('');
      const del = await fetch(`${server.url}${path}`, { method: 'DELETE' });
      expect(del.status, path).toBe(405);
      expect(del.headers.get('allow'), path).toBe('GET, HEAD');
    }
  });

  it('a path the log does not serve is 404 whatever the method, without Allow', async () => {
    for (const [method, path] of [
      ['GET', '/nope'],
      ['DELETE', '/nope'],
      ['POST', '/v1/nope'],
      ['GET', '/checkpoint/'],
      ['GET', '/v1/records/0/extra'],
      ['PUT', '/ct/v1/nope'],
    ] as const) {
      const res = await fetch(`${server.url}${path}`, { method });
      expect(res.status, `${method} ${path}`).toBe(404);
      expect(res.headers.get('allow'), `${method} ${path}`).toBeNull();
    }
    const api = await fetch(`${server.url}/v1/nope`);
    expect(api.headers.get('content-type')).toBe('application/problem+json');
    expect(((await api.json()) as { code: string }).code).toBe('NOT_FOUND');
    // While the same method on a path the log serves otherwise is 405.
    expect((await fetch(`${server.url}/ct/v1/get-sth`, { method: 'PUT' })).status).toBe(405);
  });
});

describe('allowedMethods', () => {
  it('lists the methods of the routes on a path, HEAD with GET, middleware left out', () => {
    const allowed = allowedMethods([
      { method: 'ALL', path: '/v1/*' },
      { method: 'POST', path: '/v1/things' },
      { method: 'POST', path: '/v1/things' },
      { method: 'GET', path: '/v1/things' },
      { method: 'DELETE', path: '/v1/things/:id' },
      { method: 'GET', path: '/files/*' },
    ]);
    expect(allowed('/v1/things')).toEqual(['GET', 'HEAD', 'POST']);
    expect(allowed('/v1/things/7')).toEqual(['DELETE']);
    expect(allowed('/files/a/b')).toEqual(['GET', 'HEAD']);
    expect(allowed('/v1/other')).toEqual([]);
  });

  it('sees routes added after the handler was installed', async () => {
    const app = new Hono();
    app.notFound(notFoundOrMethodNotAllowed(app));
    app.get('/a', (c) => c.text('a'));
    const sub = new Hono();
    sub.post('/a', (c) => c.text('a'));
    app.route('/', sub);
    const res = await app.request('/a', { method: 'PUT' });
    expect(res.status).toBe(405);
    expect(res.headers.get('allow')).toBe('GET, HEAD, POST');
    expect((await app.request('/b', { method: 'PUT' })).status).toBe(404);
  });
});
