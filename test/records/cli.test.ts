/** The retention and archive subcommands as real processes (requires a build). */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { BIN, startServer, tempDir } from '../helpers/server.js';

function cli(...args: string[]): { code: number | null; out: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8' });
  return { code: r.status, out: `${r.stdout}${r.stderr}` };
}

describe('auditlog retention / archive', () => {
  it('refuses malformed arguments with a one-line error', () => {
    const root = tempDir();
    onTestFinished(() => fs.rmSync(root, { recursive: true, force: true }));
    const dir = path.join(root, 'data');
    expect(cli('init', '--data', dir, '--origin', 'localhost/cli-records').code).toBe(0);
    expect(cli('retention').code).toBe(2);
    expect(cli('retention', 'run').out).toContain('--data is required');
    const badNow = cli('retention', 'run', '--data', dir, '--now', 'yesterday');
    expect(badNow.code).toBe(1);
    expect(badNow.out).toContain('--now must be an RFC 3339 date-time');
    expect(cli('archive').code).toBe(2);
    const noKey = cli('archive', 'verify', path.join(dir, 'none.json'));
    expect(noKey.out).toContain('--vkey is required');
    // Usage errors exit 2 (as the client commands do), a bundle or input that fails exits 1.
    expect(noKey.code).toBe(2);
    const typo = cli('archive', 'verify', path.join(dir, 'none.json'), '--vky', 'x');
    expect(typo.code).toBe(2);
    expect(typo.out).toContain('usage: auditlog archive verify');
    expect(cli('archive', 'verify').code).toBe(2);
    expect(cli('archive', 'verify', path.join(dir, 'none.json'), '--vkey', 'not-a-key').code).toBe(1);
    const vkey = /vkey (\S+)/.exec(
      cli('init', '--data', path.join(root, 'd2'), '--origin', 'localhost/x').out,
    )![1]!;
    const missing = cli('archive', 'verify', path.join(dir, 'none.json'), '--vkey', vkey);
    expect(missing.code).toBe(1);
    expect(missing.out).toContain('none.json: no such file');
  });

  it('runs on an empty log and verifies nothing bogus', () => {
    const root = tempDir();
    onTestFinished(() => fs.rmSync(root, { recursive: true, force: true }));
    const dir = path.join(root, 'data');
    const init = cli('init', '--data', dir, '--origin', 'localhost/cli-records');
    const vkey = /vkey (\S+)/.exec(init.out)![1]!;
    const run = cli('retention', 'run', '--data', dir, '--json');
    expect(run.code, run.out).toBe(0);
    expect(JSON.parse(run.out)).toMatchObject({ archived: [], deleted: [], held: [] });
    const junk = path.join(dir, 'junk.json');
    fs.writeFileSync(junk, '{"format":"auditlog.archive/v1"}');
    const v = cli('archive', 'verify', junk, '--vkey', vkey);
    expect(v.code).toBe(1);
    expect(v.out).toMatch(/^FAIL bundle: /);
  });

  it('while a server holds the data directory, points to POST /v1/retention/run, which works', async () => {
    const server = await startServer();
    try {
      const r = cli('retention', 'run', '--data', server.dir);
      expect(r.code).toBe(1);
      expect(r.out).toContain('POST /v1/retention/run');
      const res = await fetch(`${server.url}/v1/retention/run`, {
        method: 'POST',
        headers: { authorization: `Bearer ${server.adminToken}` },
      });
      expect(res.status).toBe(200);
      expect(await res.json()).toMatchObject({ archived: [], deleted: [], held: [], recovered: [] });
    } finally {
      await server.stop();
      fs.rmSync(path.dirname(server.dir), { recursive: true, force: true });
    }
  });
});
