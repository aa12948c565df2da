/**
 * Error responses: a server fault's message reaches the operator's log, never the client, on
 * C2SP paths (plain text) as on the API (problem+json); client errors keep their message.
 */
import { Hono } from 'hono';
import { describe, expect, it } from 'vitest';
import { errorResponse } from '../../src/api/problem.js';
import { AuditlogError } from '../../src/errors.js';
import { captureStderr } from '../helpers/stderr.js';

const FAULT = 'IO error: /var/lib/auditlog/db/000123.ldb: Input/output error';

function app(err: () => unknown): Hono {
  const a = new Hono();
  a.onError((e, c) => errorResponse(c, e));
  a.get('*', () => {
    throw err();
  });
  return a;
}

describe('errorResponse', () => {
  for (const path of ['/checkpoint', '/tile/0/000', '/tile/entries/000', '/add-checkpoint']) {
    it(`a storage fault on ${path} answers 500 "internal error" and logs the message`, async () => {
      const { value: res, written: logged } = await captureStderr(() =>
        app(() => new AuditlogError('STORAGE', FAULT)).request(path),
      );
      expect(res.status).toBe(500);
      expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
      expect(await res.text()).toBe('internal error\n');
      expect(logged).toContain(FAULT);
    });
  }

  it('the same fault on an API path answers problem+json without the message', async () => {
    const { value: res } = await captureStderr(() =>
      app(() => new AuditlogError('STORAGE', FAULT)).request('/v1/proof'),
    );
    expect(res.status).toBe(500);
    const body = await res.json();
    expect(body).toMatchObject({ code: 'STORAGE', detail: 'internal error', status: 500 });
    expect(JSON.stringify(body)).not.toContain('/var/lib');
  });

  it('an unknown throw is INTERNAL, its message hidden from the client', async () => {
    const { value: res, written: logged } = await captureStderr(() =>
      app(() => new Error(FAULT)).request('/tile/0/000'),
    );
    expect(res.status).toBe(500);
    expect(await res.text()).toBe('internal error\n');
    expect(logged).toContain('INTERNAL');
  });

  it('client errors and 503s on C2SP paths keep their message', async () => {
    const notFound = await app(() => new AuditlogError('NOT_FOUND', 'tile 0/000 is not in the tree')).request(
      '/tile/0/000',
    );
    expect(notFound.status).toBe(404);
    expect(await notFound.text()).toBe('tile 0/000 is not in the tree\n');
    const busy = await app(() => new AuditlogError('OVERLOADED', 'too many requests')).request('/checkpoint');
    expect(busy.status).toBe(503);
    expect(busy.headers.get('retry-after')).toBe('1');
    expect(await busy.text()).toBe('too many requests\n');
  });
});
