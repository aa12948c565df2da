/**
 * --private-reads covers every read of tree data (spec/http-api.md). With witnesses configured, GET /v1/witnesses serves the newest witnessed checkpoint (origin, size, root and
 * signatures), so it must need a token as /checkpoint does.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeToken, startServer, submit, type TestServer, tempDir } from '../helpers/server.js';
import { eventually } from '../witness/http.js';
import { initLog, startWitness } from '../witness/procs.js';

describe('--private-reads with a witness', () => {
  const root = tempDir('private-witnessed-');
  let log: TestServer;
  let w: TestServer;
  let adminToken: string;

  beforeAll(async () => {
    let vkey: string;
    ({ vkey, adminToken } = await initLog(join(root, 'log'), 'example.com/private-witnessed'));
    w = await startWitness(join(root, 'w'), 'witness.example/one', ['--log', vkey]);
    log = await startServer({
      dir: join(root, 'log'),
      args: ['--private-reads', '--witness', `${w.url}=${w.vkey}`],
    });
  });
  afterAll(async () => {
    await Promise.all([log?.stop(), w?.stop()]);
  });

  it('the witnessed checkpoint is not served without a token', async () => {
    const token = await makeToken({ url: log.url, adminToken }, 'submitter');
    expect((await submit(log.url, token, new TextEncoder().encode('secret-ish entry'))).status).toBe(200);
    // With a token, the cosigned checkpoint of size 1 shows up.
    await eventually(
      async () => {
        const r = await fetch(`${log.url}/v1/witnesses`, { headers: { authorization: `Bearer ${token}` } });
        const b = (await r.json()) as { witnessed: { size: string } | null };
        return b.witnessed?.size === '1' ? true : undefined;
      },
      15_000,
      'a witnessed checkpoint of size 1',
    );
    expect((await fetch(`${log.url}/checkpoint`)).status).toBe(401);
    const anon = await fetch(`${log.url}/v1/witnesses`);
    const text = await anon.text();
    expect(text).not.toContain('example.com/private-witnessed\\n1\\n');
    expect(anon.status).toBe(401);
    // The tree size too; any role's token reads both.
    expect((await fetch(`${log.url}/v1/log`)).status).toBe(401);
    const auth = { headers: { authorization: `Bearer ${token}` } };
    expect((await fetch(`${log.url}/v1/log`, auth)).status).toBe(200);
    expect((await fetch(`${log.url}/v1/witnesses`, auth)).status).toBe(200);
  });

  it('answers to a token are private: no shared cache may serve them to a request without one', async () => {
    const auth = { headers: { authorization: `Bearer ${adminToken}` } };
    for (const [path, want] of [
      ['/checkpoint', 'private, max-age=2'],
      ['/tile/0/000.p/1', 'private, max-age=31536000, immutable'],
      ['/tile/entries/000.p/1', 'private, max-age=31536000, immutable'],
    ] as const) {
      const r = await fetch(`${log.url}${path}`, auth);
      expect(r.status, path).toBe(200);
      expect(r.headers.get('cache-control'), path).toBe(want);
    }
  });
});
