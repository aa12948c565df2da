/**
 * Text another server chose (a witness's answer, a peer's views, a log's problem detail) reaches
 * this process's stderr only as part of one line (errors.ts oneLine): a server cannot write whole
 * lines of its choosing into an operator's log (a fake "admin token" line, a fake erasure
 * failure) or send terminal escapes.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { oneLine } from '../../src/errors.js';
import { formatVerifierKey, SIG_TYPE_COSIGNATURE_V1 } from '../../src/note/keys.js';
import { cli, startServer, type TestServer, tempDir } from '../helpers/server.js';
import { eventually } from './http.js';
import { startWitness } from './procs.js';

const FORGED =
  '\nauditlog: erasure: sampled values still in 3 file(s)\rauditlog: admin token alt_FORGED\u001b[2K\n';

/** The lines of `out` a reader of the log would take as the process's own. */
const lines = (out: string) => out.split(/\r\n|\r|\n/);
const forgedLines = (out: string) =>
  lines(out).filter((l) =>
    /^auditlog( witness)?: (admin token alt_FORGED|erasure: sampled|peer FORGED)/.test(l),
  );

/** A real HTTP server on 127.0.0.1 answering every request with `status` and `body`. */
async function fakeServer(
  status: number,
  body: string,
  type = 'text/plain',
): Promise<{ url: string; close(): Promise<void> }> {
  const server: Server = createServer((req, res) => {
    req.resume();
    res.writeHead(status, { 'content-type': type });
    res.end(body);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

describe('remote text on stderr', () => {
  const closers: (() => Promise<unknown>)[] = [];
  afterEach(async () => {
    for (const c of closers.splice(0)) await c();
  });

  it('oneLine escapes every control character and line separator, and nothing else', () => {
    expect(oneLine('a\nb\rc\td\u001b[31me\u0000f\u007fg\u0085h\u2028i\u2029j')).toBe(
      'a\\nb\\rc\\td\\u001b[31me\\u0000f\\u007fg\\u0085h\\u2028i\\u2029j',
    );
    expect(oneLine('plain text: ümlaut, \\n, "quotes" — ok')).toBe('plain text: ümlaut, \\n, "quotes" — ok');
  });

  it("a witness's add-checkpoint answer does not start lines in the log server's stderr", async () => {
    const witness = await fakeServer(500, `no${FORGED}`);
    closers.push(witness.close);
    const vkey = formatVerifierKey('w.example/w1', new Uint8Array(32).fill(9), SIG_TYPE_COSIGNATURE_V1);
    const log: TestServer = await startServer({ args: ['--witness', `${witness.url}=${vkey}`] });
    closers.push(() => log.stop());
    const out = await eventually(
      async () => (log.output().includes('add-checkpoint answered 500') ? log.output() : undefined),
      15_000,
      'the add-checkpoint failure on stderr',
    );
    expect(forgedLines(out)).toEqual([]);
    expect(out).toContain('add-checkpoint answered 500: no\\nauditlog: erasure: sampled');
    expect(out).not.toContain('\u001b');
  });

  it("a peer's views do not start lines in the witness's stderr", async () => {
    // An item with an unknown member: the witness names the problem, which quotes the name.
    const views = JSON.stringify({
      checkpoints: [{ origin: 'o', checkpoint: 'c', [`x${FORGED}auditlog witness: peer FORGED`]: 1 }],
    });
    const peer = await fakeServer(200, views, 'application/json');
    closers.push(peer.close);
    const logKey = formatVerifierKey('example.com/log', new Uint8Array(32).fill(3));
    const w = await startWitness(join(tempDir('remote-text-'), 'w'), 'witness.example/w', [
      '--log',
      logKey,
      '--peer',
      peer.url,
    ]);
    closers.push(() => w.stop());
    const out = await eventually(
      async () => (w.output().includes(`peer ${peer.url}:`) ? w.output() : undefined),
      15_000,
      'the peer problem on stderr',
    );
    expect(out).toContain('1 malformed item(s) skipped');
    expect(forgedLines(out)).toEqual([]);
    expect(out).not.toContain('\u001b');
  });

  it("a log's problem detail does not start lines in a client command's stderr", async () => {
    const detail = `broken${FORGED}`;
    const log = await fakeServer(
      500,
      JSON.stringify({ type: 'about:blank', title: 'x', status: 500, detail }),
      'application/problem+json',
    );
    closers.push(log.close);
    const r = await cli('get', '--log', log.url, '--range', '0-1');
    expect(r.code).toBe(1);
    expect(forgedLines(r.stderr)).toEqual([]);
    expect(r.stderr).toContain('broken\\nauditlog: erasure: sampled');
    expect(r.stderr).not.toContain('\u001b');
  });
});
