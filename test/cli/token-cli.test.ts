/**
 * `auditlog token revoke|list` on a data directory, with real processes: a revocation made on
 * a stopped log holds when the server starts again; while a server holds the log the command
 * fails without changing anything (LevelDB has one writer) and names the HTTP route.
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { TokenInfo } from '../../src/api/tokens.js';
import { cli, makeToken, startServer, submit, tempDir } from '../helpers/server.js';

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

async function newLog(): Promise<{ dir: string; admin: string }> {
  const base = tempDir();
  dirs.push(base);
  const dir = join(base, 'log');
  const init = await cli('init', '--data', dir, '--origin', 'example.com/token-cli');
  expect(init.code).toBe(0);
  return { dir, admin: /auditlog: admin token (\S+)/.exec(init.stdout)![1]! };
}

const lastLine = (s: string) => s.trim().split('\n').pop()!;
const entry = (s: string) => new TextEncoder().encode(s);

describe('auditlog token revoke', () => {
  it('revokes on a stopped log; the restarted server refuses the token (401)', async () => {
    const { dir } = await newLog();
    const tok = lastLine(
      (await cli('token', 'create', '--data', dir, '--role', 'submitter', '--name', 'bot-1')).stdout,
    );
    let server = await startServer({ dir });
    expect((await submit(server.url, tok, entry('before'))).status).toBe(200);
    expect(await server.stop()).toBe(0);

    const res = await cli('token', 'revoke', 'bot-1', '--data', dir);
    expect(res.code).toBe(0);
    expect(res.stdout).toBe('auditlog: revoked submitter token bot-1\n');
    const listed: { tokens: TokenInfo[] } = JSON.parse(
      (await cli('token', 'list', '--data', dir, '--json')).stdout,
    );
    expect(listed.tokens.find((t) => t.name === 'bot-1')).toMatchObject({ revoked_by: '(cli)' });
    expect(JSON.stringify(listed)).not.toContain(tok);

    server = await startServer({ dir });
    try {
      const after = await submit(server.url, tok, entry('after'));
      expect(after.status).toBe(401);
      expect((after.body as { code: string }).code).toBe('UNAUTHORIZED');
    } finally {
      expect(await server.stop()).toBe(0);
    }
  });

  it('while the server runs it fails, changes nothing and names POST /v1/tokens/revoke', async () => {
    const { dir, admin } = await newLog();
    const server = await startServer({ dir });
    try {
      const tok = await makeToken(server, 'submitter', { name: 'bot-2', adminToken: admin });
      expect((await submit(server.url, tok, entry('cached'))).status).toBe(200);
      const res = await cli('token', 'revoke', 'bot-2', '--data', dir);
      expect(res.code).not.toBe(0);
      expect(res.stderr).toMatch(
        /in use by another process: stop the server first.*POST \/v1\/tokens\/revoke/,
      );
      expect((await submit(server.url, tok, entry('unchanged'))).status).toBe(200);
      // The route the message names does it on the running server, effective at once.
      const r = await fetch(`${server.url}/v1/tokens/revoke`, {
        method: 'POST',
        headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' },
        body: '{"name":"bot-2"}',
      });
      expect(r.status).toBe(200);
      expect((await submit(server.url, tok, entry('refused'))).status).toBe(401);
    } finally {
      expect(await server.stop()).toBe(0);
    }
  });

  it('refuses the last admin token, an unknown name and a malformed call, writing nothing', async () => {
    const { dir, admin } = await newLog();
    const before = (await cli('token', 'list', '--data', dir, '--json')).stdout;
    const last = await cli('token', 'revoke', 'admin', '--data', dir);
    expect(last.code).not.toBe(0);
    expect(last.stderr).toMatch(/last admin token/);
    expect((await cli('token', 'revoke', 'nobody', '--data', dir)).stderr).toMatch(
      /no active token named nobody/,
    );
    expect((await cli('token', 'revoke', 'a/b', '--data', dir)).code).not.toBe(0);
    expect((await cli('token', 'revoke', '--data', dir)).code).not.toBe(0);
    expect((await cli('token', 'revoke', 'x', 'y', '--data', dir)).code).not.toBe(0);
    expect((await cli('token', 'revoke', 'admin')).stderr).toMatch(/--data is required/);
    expect((await cli('token', 'list', '--data', dir, '--json')).stdout).toBe(before);

    // With a second admin the first can go; the server then refuses it.
    expect((await cli('token', 'create', '--data', dir, '--role', 'admin', '--name', 'ops')).code).toBe(0);
    expect((await cli('token', 'revoke', 'admin', '--data', dir)).code).toBe(0);
    const server = await startServer({ dir });
    try {
      const res = await fetch(`${server.url}/v1/tokens`, { headers: { authorization: `Bearer ${admin}` } });
      expect(res.status).toBe(401);
    } finally {
      expect(await server.stop()).toBe(0);
    }
  });
});
