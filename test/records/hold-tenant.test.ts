/**
 * POST /v1/holds {"tenant_id": "*"}: `*` is reserved for the log (spec/records.md), no record of
 * any tenant has it, so such a "tenant hold" covers nothing, yet it is answered 201 and logged
 * as a legal_hold_placed record with tenant_id "*" (which reads like a hold on every tenant).
 * It must be refused with 400 and write nothing.
 */
import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type TestServer } from '../helpers/server.js';

let server: TestServer;
beforeAll(async () => {
  server = await startServer({ args: ['--origin', 'example.com/hold-star'] });
});
afterAll(async () => {
  expect(await server.stop()).toBe(0);
  rmSync(server.dir, { recursive: true, force: true });
});

describe('POST /v1/holds', () => {
  for (const body of ['{"tenant_id":"*"}', '{"subject":"alice@example.com","tenant_id":"*"}']) {
    it(`${body} → 400, nothing written`, async () => {
      const before = await fetch(`${server.url}/checkpoint`).then((r) => r.text());
      const res = await fetch(`${server.url}/v1/holds`, {
        method: 'POST',
        headers: { authorization: `Bearer ${server.adminToken}`, 'content-type': 'application/json' },
        body,
      });
      expect(res.status).toBe(400);
      expect(await fetch(`${server.url}/checkpoint`).then((r) => r.text())).toBe(before);
      const holds = await fetch(`${server.url}/v1/holds`, {
        headers: { authorization: `Bearer ${server.adminToken}` },
      }).then((r) => r.json() as Promise<{ holds: unknown[] }>);
      expect(holds.holds).toEqual([]);
    });
  }
});
