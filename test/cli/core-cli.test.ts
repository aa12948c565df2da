/** The core commands as an operator runs them: init, token create, serve, SIGTERM. */
import { execFile } from 'node:child_process';
import { chmodSync, existsSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { cli, startServer, submit, tempDir } from '../helpers/server.js';

const run = promisify(execFile);
const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe('auditlog init / token / serve', () => {
  it('init creates a key readable only by its owner; token create prints the token last; serve uses both', async () => {
    const base = tempDir();
    dirs.push(base);
    const dir = join(base, 'log');
    const init = await cli('init', '--data', dir, '--origin', 'example.com/cli');
    expect(init.code).toBe(0);
    expect(init.stdout).toMatch(/auditlog: vkey example\.com\/cli\+[0-9a-f]{8}\+/);
    expect(statSync(join(dir, 'log.key')).mode & 0o777).toBe(0o600);
    expect(statSync(dir).mode & 0o077).toBe(0);
    expect(readFileSync(join(dir, 'log.key'), 'utf8')).toMatch(
      /^PRIVATE\+KEY\+example\.com\/cli\+[0-9a-f]{8}\+/,
    );
    expect((await cli('init', '--data', dir, '--origin', 'example.com/cli')).code).not.toBe(0);

    const tok = await cli('token', 'create', '--data', dir, '--role', 'submitter', '--name', 'agent-7');
    expect(tok.code).toBe(0);
    const token = tok.stdout.trim().split('\n').pop()!;
    expect(token).toMatch(/^alt_[A-Za-z0-9_-]{43}$/);
    // Tokens are stored hashed: the clear token is nowhere in the database files.
    const { stdout: grep } = await run('grep', ['-rl', token, dir]).catch(() => ({ stdout: '' }));
    expect(grep).toBe('');
    expect((await cli('token', 'create', '--data', dir, '--role', 'root')).code).not.toBe(0);

    // A batch that waits to fill (--max-delay-ms) is in flight when SIGTERM arrives: every
    // entry in it is committed and answered, then the process exits 0.
    const server = await startServer({ dir, args: ['--max-delay-ms', '1500'] });
    expect(server.adminToken).toBeUndefined();
    expect(server.origin).toBe('example.com/cli');
    const inflight = Array.from({ length: 20 }, (_, i) =>
      submit(server.url, token, new TextEncoder().encode(`x${i}`)),
    );
    await new Promise((r) => setTimeout(r, 500));
    const code = await server.stop();
    const results = await Promise.all(inflight);
    expect(results.map((r) => r.status)).toEqual(Array(20).fill(200));
    expect(code).toBe(0);
    expect(server.output()).not.toContain(token);

    // A key file others can read is refused.
    chmodSync(join(dir, 'log.key'), 0o644);
    await expect(startServer({ dir })).rejects.toThrow(/readable by others/);
    chmodSync(join(dir, 'log.key'), 0o600);
    const again = await startServer({ dir });
    expect(await again.stop()).toBe(0);
  });

  it('serve on a port in use fails at once, lets go of the directory, and still shows a fresh one its admin token', async () => {
    const busy = createServer();
    await new Promise<void>((r) => busy.listen(0, '127.0.0.1', r));
    const port = (busy.address() as AddressInfo).port;
    const base = tempDir();
    dirs.push(base);
    const dir = join(base, 'data');
    try {
      const t0 = Date.now();
      const r = await cli('serve', '--data', dir, '--port', String(port));
      expect(r.code).toBe(1);
      expect(Date.now() - t0).toBeLessThan(20_000);
      expect(r.stderr).toContain(
        `127.0.0.1:${port} is already in use: stop what listens there, or choose another --port`,
      );
      const adminToken = /auditlog: admin token (\S+)/.exec(r.stdout)?.[1];
      expect(adminToken).toMatch(/^alt_/);
      // The lock was released and the token shown is the directory's.
      const server = await startServer({ dir });
      try {
        expect(server.adminToken).toBeUndefined();
        const res = await fetch(`${server.url}/v1/tokens`, {
          headers: { authorization: `Bearer ${adminToken}` },
        });
        expect(res.status).toBe(200);
      } finally {
        await server.stop();
      }
    } finally {
      busy.close();
    }
  });

  it('every command and subcommand answers --help with its usage, exit 0', async () => {
    const commands = [
      ['init'],
      ['serve'],
      ['token', 'create'],
      ['token', 'list'],
      ['token', 'revoke'],
      ['submit'],
      ['verify'],
      ['prove'],
      ['consistency'],
      ['get'],
      ['witness'],
      ['witness', 'clear-fork'],
      ['monitor'],
      ['retention', 'run'],
      ['archive', 'verify'],
    ];
    const runs = await Promise.all(commands.map((c) => cli(...c, '--help')));
    runs.forEach((r, i) => {
      expect([r.code, r.stderr], commands[i]!.join(' ')).toEqual([0, '']);
      expect(r.stdout, commands[i]!.join(' ')).toMatch(/usage/);
    });
  });

  it('unknown commands and flags fail with a clear message', async () => {
    const r = await cli('frobnicate');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('unknown command');
    const s = await cli('serve', '--bogus');
    expect(s.code).not.toBe(0);
    expect(s.stderr).toMatch(/bogus/);
    for (const [flag, value, message] of [
      ['--batches-ahead', '0', /--batches-ahead must be at least 1/],
      ['--batches-ahead', '-2', /--batches-ahead must be a non-negative integer/],
      ['--max-batch', '4k', /--max-batch must be a non-negative integer/],
    ] as const) {
      const dir = tempDir();
      dirs.push(dir);
      const bad = await cli('serve', '--data', join(dir, 'data'), '--port', '0', `${flag}=${value}`);
      expect(bad.code).not.toBe(0);
      expect(bad.stderr).toMatch(message);
      expect(existsSync(join(dir, 'data'))).toBe(false); // refused before anything was written
    }
  });
});
