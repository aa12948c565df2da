/**
 * A log served with --private-reads, followed from outside: `monitor --log-token URL=FILE` and
 * `witness --log-token URL=FILE` send the token in FILE with every read of that log, so they can
 * audit and poll it; without the token the monitor's pass fails (the log answers 401), and a
 * token file others may read, or a --log-token naming no --log, is refused at start.
 */
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli, makeToken, startServer, submit, type TestServer, tempDir } from '../helpers/server.js';
import { eventually, getJson } from './http.js';

describe('--log-token: following a log served with --private-reads', () => {
  const root = tempDir('private-log-');
  let log: TestServer;
  let tokenFile: string;

  beforeAll(async () => {
    log = await startServer({ dir: join(root, 'log'), args: ['--private-reads'] });
    const submitter = await makeToken(log, 'submitter');
    for (const e of ['one', 'two', 'three']) {
      expect((await submit(log.url, submitter, new TextEncoder().encode(e))).status).toBe(200);
    }
    tokenFile = join(root, 'auditor-token');
    writeFileSync(tokenFile, `${await makeToken(log, 'auditor')}\n`, { mode: 0o600 });
  });
  afterAll(async () => {
    await log?.stop();
  });

  it('the monitor verifies the log with the token, and cannot read it without', async () => {
    const logFlag = ['--log', `${log.vkey}=${log.url}`];
    const [withToken, without] = await Promise.all([
      cli(
        'monitor',
        '--once',
        ...logFlag,
        '--log-token',
        `${log.url}/=${tokenFile}`,
        '--data',
        join(root, 'm1'),
      ),
      cli('monitor', '--once', ...logFlag, '--data', join(root, 'm2')),
    ]);
    expect(withToken.code, withToken.stderr).toBe(0);
    expect(without.code).toBe(1);
    expect(without.stderr).toMatch(/status 401/);
  });

  it('the witness polls the log with the token and cosigns its checkpoint', async () => {
    const w = await startServer({
      command: 'witness',
      dir: join(root, 'w'),
      args: [
        '--name',
        'witness.example/private',
        '--log',
        `${log.vkey}=${log.url}`,
        '--log-token',
        `${log.url}=${tokenFile}`,
        '--poll-ms',
        '200',
      ],
    });
    try {
      const origin = log.origin;
      const cosigned = await eventually(
        async () => {
          const r = await getJson<{ checkpoints: { origin: string; checkpoint: string }[] }>(
            `${w.url}/v1/witness/checkpoints`,
          );
          const cp = r.checkpoints.find((c) => c.origin === origin)?.checkpoint;
          return cp?.split('\n')[1] === '3' ? cp : undefined;
        },
        15_000,
        'a cosigned checkpoint of size 3',
      ).catch((e) => {
        throw new Error(`${(e as Error).message}\n${w.output()}`);
      });
      expect(cosigned).toContain('\u2014 witness.example/private ');
    } finally {
      await w.stop();
    }
  });

  it('a token file others may read, or a --log-token for a URL no --log gives, is refused', async () => {
    const open = join(root, 'open-token');
    writeFileSync(open, 'x\n');
    chmodSync(open, 0o644);
    const logFlag = ['--log', `${log.vkey}=${log.url}`];
    const [readable, unknown, malformed] = await Promise.all([
      cli('monitor', '--once', ...logFlag, '--log-token', `${log.url}=${open}`),
      cli('monitor', '--once', ...logFlag, '--log-token', `http://127.0.0.1:1=${tokenFile}`),
      cli('monitor', '--once', ...logFlag, '--log-token', tokenFile),
    ]);
    for (const r of [readable, unknown, malformed]) expect(r.code).not.toBe(0);
    expect(readable.stderr).toMatch(/open-token is readable by group or others; chmod 600 it/);
    expect(unknown.stderr).toMatch(/--log-token names http:\/\/127\.0\.0\.1:1, which no --log gives/);
    expect(malformed.stderr).toMatch(/--log-token wants URL=FILE/);
  });
});
