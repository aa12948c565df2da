/**
 * The witness server's HTTP limits, against real witness processes and raw sockets, as the log
 * server's (test/api/methods.test.ts, test/api/server-limits.test.ts): a served path asked with
 * another method is 405 with Allow (plain text, the witness's error style on every path), the
 * cap on open connections (`--max-connections`), and the budget of add-checkpoint body bytes
 * being received at once (`--max-inflight-body-mib`, default 16): 503 with Retry-After beyond
 * it, nothing cosigned, and every share given back when its request is cut off; and the time a
 * request may take to arrive (`--request-timeout`): 408 and the connection closed.
 */
import { statSync } from 'node:fs';
import { type AddressInfo, createServer } from 'node:net';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_ADD_CHECKPOINT_BYTES } from '../../src/witness/wire.js';
import { expectConnectionCapOfTwo, open, until } from '../helpers/raw-http.js';
import { type TestServer, tempDir } from '../helpers/server.js';
import { FakeLog } from './fake-log.js';
import { addCheckpoint, body } from './http.js';
import { runCli, startWitness } from './procs.js';

const NAME = 'witness.example/limits';
const TEXT = /^text\/plain/;

/** A witness process of `log` that does not poll it (a poll every 10 minutes), with `flags`. */
const witnessOf = (log: FakeLog, tmp: string, ...flags: string[]) =>
  startWitness(join(tempDir(tmp), 'w'), NAME, ['--log', log.vkey, '--poll-ms', '600000', ...flags]);

const cosignedSize = async (url: string) =>
  ((await (await fetch(`${url}/v1/witness/status`)).json()) as { logs: { size: string | null }[] }).logs[0]!
    .size;

describe('witness: 405 Method Not Allowed', () => {
  const log = FakeLog.create('example.com/log-405').grow(5);
  let w: TestServer;

  beforeAll(async () => {
    w = await witnessOf(log, 'witness-405-');
  });
  afterAll(async () => {
    await w?.stop();
  });

  // [method, path, Allow]: add-checkpoint (C2SP) and the /v1 paths, all answered in plain text.
  const cases: [string, string, string][] = [
    ['GET', '/add-checkpoint', 'POST'],
    ['PUT', '/add-checkpoint', 'POST'],
    ['DELETE', '/add-checkpoint', 'POST'],
    ['POST', '/v1/witness/checkpoints', 'GET, HEAD'],
    ['PUT', '/v1/witness/alerts', 'GET, HEAD'],
    ['DELETE', '/v1/witness/status', 'GET, HEAD'],
    ['POST', '/v1/witness/status', 'GET, HEAD'],
  ];
  for (const [method, path, allow] of cases) {
    it(`${method} ${path} → 405, Allow: ${allow}, text/plain`, async () => {
      const res = await fetch(`${w.url}${path}`, { method });
      expect(res.status).toBe(405);
      expect(res.headers.get('allow')).toBe(allow);
      expect(res.headers.get('content-type')).toMatch(TEXT);
      expect(await res.text()).toBe(`${method} is not allowed here; allowed: ${allow}\n`);
    });
  }

  it('HEAD is 405 on add-checkpoint, and works wherever GET does', async () => {
    const head = await fetch(`${w.url}/add-checkpoint`, { method: 'HEAD' });
    expect(head.status).toBe(405);
    expect(head.headers.get('allow')).toBe('POST');
    for (const path of ['/v1/witness/checkpoints', '/v1/witness/alerts', '/v1/witness/status']) {
      const res = await fetch(`${w.url}${path}`, { method: 'HEAD' });
      expect(res.status, path).toBe(200);
      expect(res.headers.get('content-type'), path).toMatch(/^application\/json/);
      expect(await res.text(), path).toBe('');
    }
  });

  it('a refused method cosigns nothing; POST still cosigns', async () => {
    const b = body(0, [], await log.checkpoint(5));
    const put = await fetch(`${w.url}/add-checkpoint`, { method: 'PUT', body: b });
    expect(put.status).toBe(405);
    expect(await cosignedSize(w.url)).toBeNull();
    expect((await addCheckpoint(w.url, b)).status).toBe(200);
    expect(await cosignedSize(w.url)).toBe('5');
  });

  it('a content coding on add-checkpoint is 415 in text/plain (no coding is decoded)', async () => {
    const res = await fetch(`${w.url}/add-checkpoint`, {
      method: 'POST',
      headers: { 'content-encoding': 'gzip' },
      body: gzipSync(body(0, [], await log.checkpoint(2))),
    });
    expect(res.status).toBe(415);
    expect(res.headers.get('content-type')).toMatch(TEXT);
    expect(await res.text()).toBe('Content-Encoding gzip is not accepted\n');
  });

  it('a path the witness does not serve is 404 whatever the method, without Allow', async () => {
    for (const [method, path] of [
      ['GET', '/nope'],
      ['POST', '/nope'],
      ['POST', '/add-checkpoint/'],
      ['GET', '/v1/witness'],
      ['DELETE', '/v1/witness/nope'],
      ['GET', '/checkpoint'],
    ] as const) {
      const res = await fetch(`${w.url}${path}`, { method });
      expect(res.status, `${method} ${path}`).toBe(404);
      expect(res.headers.get('allow'), `${method} ${path}`).toBeNull();
      expect(res.headers.get('content-type'), `${method} ${path}`).toMatch(TEXT);
    }
    // While another method on a path the witness serves is 405.
    expect((await fetch(`${w.url}/v1/witness/alerts`, { method: 'DELETE' })).status).toBe(405);
  });
});

describe('witness --max-connections', () => {
  it('closes the N+1th connection unanswered, and takes one again once a connection closes', async () => {
    const log = FakeLog.create('example.com/log-conn');
    const w = await witnessOf(log, 'witness-conn-', '--max-connections', '2');
    try {
      await expectConnectionCapOfTwo(w.url, '/v1/witness/status');
    } finally {
      await w.stop();
    }
  });

  it('refuses to start with a cap or a budget out of range', async () => {
    const log = FakeLog.create('example.com/log-flags');
    const base = ['witness', '--name', NAME, '--log', log.vkey, '--port', '0'];
    for (const [flag, value, message] of [
      ['--max-connections', '0', '--max-connections must be at least 1'],
      ['--max-connections', '1.5', '--max-connections must be a non-negative integer'],
      ['--max-inflight-body-mib', '0', '--max-inflight-body-mib must be from 1 to 1048576'],
      ['--max-inflight-body-mib', '1048577', '--max-inflight-body-mib must be from 1 to 1048576'],
      ['--request-timeout', '0', '--request-timeout must be at least 1'],
    ] as const) {
      const data = join(tempDir('witness-flags-'), 'w');
      const r = await runCli([...base, '--data', data, flag, value]);
      expect(r.code, `${flag} ${value}`).toBe(1);
      expect(r.stderr, `${flag} ${value}`).toContain(message);
    }
  });
});

describe('witness --port', () => {
  it('on a port in use fails at once with what to do, and lets go of its directory', async () => {
    const busy = createServer();
    await new Promise<void>((r) => busy.listen(0, '127.0.0.1', r));
    const port = (busy.address() as AddressInfo).port;
    const log = FakeLog.create('example.com/log-port');
    const data = join(tempDir('witness-port-'), 'w');
    try {
      const r = await runCli([
        'witness',
        '--data',
        data,
        '--name',
        NAME,
        '--log',
        log.vkey,
        '--port',
        String(port),
      ]);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(
        `127.0.0.1:${port} is already in use: stop what listens there, or choose another --port`,
      );
    } finally {
      busy.close();
    }
    const w = await startWitness(data, NAME, ['--log', log.vkey]);
    await w.stop();
    for (const d of [data, join(data, 'db')]) expect(statSync(d).mode & 0o077, d).toBe(0);
  });
});

describe('witness --request-timeout', () => {
  it('answers 408 and disconnects a client whose add-checkpoint does not arrive whole in time', async () => {
    const log = FakeLog.create('example.com/log-timeout').grow(3);
    const w = await witnessOf(log, 'witness-timeout-', '--request-timeout', '1');
    try {
      const c = await open(w.url);
      const t0 = Date.now();
      // Headers, then a body that never comes.
      c.socket.write('POST /add-checkpoint HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nold 0\n');
      await c.closed;
      expect(c.answer()).toMatch(/^HTTP\/1\.1 408/);
      expect(Date.now() - t0).toBeLessThan(5_000);
      expect(await cosignedSize(w.url)).toBeNull();
    } finally {
      await w.stop();
    }
  });
});

describe('witness --max-inflight-body-mib', () => {
  const MAX = MAX_ADD_CHECKPOINT_BYTES;

  /** Starts POST /add-checkpoint declaring `length` bytes and sends only `sent` of them. */
  async function holdDeclared(url: string, length: number, sent = 1) {
    const c = await open(url);
    c.socket.write(
      `POST /add-checkpoint HTTP/1.1\r\nHost: x\r\nContent-Length: ${length}\r\n\r\n${'o'.repeat(sent)}`,
    );
    return c;
  }

  /** Starts a chunked POST /add-checkpoint and sends one chunk of `bytes` bytes. */
  async function holdChunked(url: string, bytes: number) {
    const c = await open(url);
    c.socket.write(
      `POST /add-checkpoint HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n${bytes.toString(16)}\r\n`,
    );
    c.socket.write(Buffer.alloc(bytes, 0x6f));
    c.socket.write('\r\n');
    return c;
  }

  /** A malformed add-checkpoint body of `bytes`: 503 while the budget cannot cover it, else 400. */
  async function probe(url: string, bytes: number): Promise<number> {
    try {
      const res = await fetch(`${url}/add-checkpoint`, { method: 'POST', body: 'x'.repeat(bytes) });
      await res.arrayBuffer();
      return res.status;
    } catch {
      return 0;
    }
  }

  describe('with a budget of 1 MiB (eight bodies of the largest size)', () => {
    const log = FakeLog.create('example.com/log-budget').grow(7);
    let w: TestServer;
    beforeAll(async () => {
      w = await witnessOf(log, 'witness-budget-', '--max-inflight-body-mib', '1');
    });
    afterAll(async () => {
      await w?.stop();
    });
    const refused = (bytes: number) => until(async () => (await probe(w.url, bytes)) === 503, 'a 503');
    const free = (bytes: number) => until(async () => (await probe(w.url, bytes)) === 400, 'a 400');

    it('a body the budget cannot cover is refused at once: 503, Retry-After, text/plain, nothing cosigned', async () => {
      const holds = [];
      for (let i = 0; i < 8; i++) holds.push(await holdDeclared(w.url, MAX));
      try {
        await refused(1);
        const r = await fetch(`${w.url}/add-checkpoint`, {
          method: 'POST',
          body: body(0, [], await log.checkpoint(3)),
        });
        expect(r.status).toBe(503);
        expect(r.headers.get('retry-after')).toBe('1');
        expect(r.headers.get('content-type')).toMatch(TEXT);
        expect(await r.text()).toMatch(/request bodies up to its limit of 1 MiB at once; retry later\n$/);
        expect(await cosignedSize(w.url)).toBeNull();
        // A chunked body is refused as its bytes arrive.
        const chunked = await holdChunked(w.url, 1024);
        await until(() => chunked.answer().includes('\r\n\r\n'), 'an answer');
        expect(chunked.answer()).toMatch(/^HTTP\/1\.1 503/);
        expect(chunked.answer()).toMatch(/\r\nretry-after: 1\r\n/i);
        chunked.socket.destroy();
        // A body over the route's own limit is still 413: refused for good, not for now.
        const tooLarge = await fetch(`${w.url}/add-checkpoint`, {
          method: 'POST',
          body: 'x'.repeat(MAX + 1),
        });
        expect(tooLarge.status).toBe(413);
        expect(tooLarge.headers.get('content-type')).toMatch(TEXT);
      } finally {
        for (const h of holds) h.socket.destroy();
      }
      await free(MAX);
      const ok = await addCheckpoint(w.url, body(0, [], await log.checkpoint(3)));
      expect(ok.status).toBe(200);
      expect(await cosignedSize(w.url)).toBe('3');
    });

    it('bodies cut off by their clients give their share back', async () => {
      for (let round = 0; round < 2; round++) {
        for (const start of [
          () => holdDeclared(w.url, MAX, 0), // headers only
          () => holdDeclared(w.url, MAX, 64 * 1024), // part of the body
          () => holdChunked(w.url, 100 * 1024), // a chunked body, unfinished
        ]) {
          const holds = [];
          for (let i = 0; i < 7; i++) holds.push(await holdDeclared(w.url, MAX));
          const c = await start();
          await refused(MAX - 100 * 1024 + 1);
          c.socket.destroy();
          await c.closed;
          await free(MAX - 100 * 1024 + 1);
          for (const h of holds) h.socket.destroy();
          await Promise.all(holds.map((h) => h.closed));
        }
      }
      await free(MAX);
      expect(w.output()).not.toMatch(/internal error/);
    });
  });

  it('by default (16 MiB) takes 128 bodies of the largest size at once, and refuses the next', async () => {
    const log = FakeLog.create('example.com/log-default').grow(2);
    const w = await witnessOf(log, 'witness-budget-default-');
    const holds = [];
    try {
      for (let i = 0; i < 128; i++) holds.push(await holdDeclared(w.url, MAX));
      // 128 x 128 KiB held: not one byte more fits.
      await until(async () => (await probe(w.url, 1)) === 503, 'a 503');
      // 127 held: a body of the largest size fits again (read whole: 400, it is no add-checkpoint).
      holds[0]!.socket.destroy();
      await holds[0]!.closed;
      await until(async () => (await probe(w.url, MAX)) === 400, 'a 400');
      expect(await probe(w.url, 1)).toBe(400);
    } finally {
      for (const h of holds) h.socket.destroy();
      await w.stop();
    }
  });
});
