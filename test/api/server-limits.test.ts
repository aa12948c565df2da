/**
 * Server-wide limits against real server processes and raw sockets: the cap on open
 * connections (`--max-connections`) and the budget of request-body bytes being received at once
 * (`--max-inflight-body-mib`): 503 with Retry-After beyond it, nothing written, and every share
 * given back when its request is cut off by the client.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BodyBudget } from '../../src/api/body-budget.js';
import { expectConnectionCapOfTwo, open, until } from '../helpers/raw-http.js';
import { makeToken, startServer, type TestServer } from '../helpers/server.js';

const MiB = 1024 * 1024;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('BodyBudget', () => {
  it('grants shares up to its limit, refuses beyond, and takes each share back once', () => {
    const budget = new BodyBudget(100);
    const a = budget.share();
    const b = budget.share();
    expect(a.grow(60)).toBe(true);
    expect(b.grow(41)).toBe(false);
    expect(budget.inUse).toBe(60);
    expect(b.grow(40)).toBe(true);
    expect(budget.inUse).toBe(100);
    a.release();
    a.release();
    expect(budget.inUse).toBe(40);
    expect(a.grow(1)).toBe(false);
    b.release();
    expect(budget.inUse).toBe(0);
  });

  it('requires a positive integer limit', () => {
    for (const bad of [0, -1, 1.5, Number.NaN, 2 ** 53]) expect(() => new BodyBudget(bad)).toThrow();
  });
});

describe('--max-connections', () => {
  it('closes the N+1th connection unanswered, and takes one again once a connection closes', async () => {
    const server = await startServer({ args: ['--max-connections', '2'] });
    try {
      await expectConnectionCapOfTwo(server.url, '/checkpoint');
    } finally {
      await server.stop();
    }
  });
});

describe('--max-inflight-body-mib', () => {
  let server: TestServer;
  let sub: string;
  const size = async () =>
    ((await (await fetch(`${server.url}/v1/log`)).json()) as { tree_size: number }).tree_size;

  beforeAll(async () => {
    server = await startServer({ args: ['--max-inflight-body-mib', '8'] });
    sub = await makeToken(server, 'submitter');
  });
  afterAll(async () => {
    await server?.stop();
  });

  /** Starts POST /v1/records declaring `length` bytes and sends only `sent` of them. */
  async function holdDeclared(length: number, sent = 1) {
    const c = await open(server.url);
    c.socket.write(
      `POST /v1/records HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${sub}\r\n` +
        `Content-Type: application/json\r\nContent-Length: ${length}\r\n\r\n${' '.repeat(sent)}`,
    );
    return c;
  }

  /** Starts a chunked POST /v1/records and sends one chunk of `bytes` bytes. */
  async function holdChunked(bytes: number) {
    const c = await open(server.url);
    c.socket.write(
      `POST /v1/records HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${sub}\r\n` +
        `Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n${bytes.toString(16)}\r\n`,
    );
    c.socket.write(Buffer.alloc(bytes, 0x20));
    c.socket.write('\r\n');
    return c;
  }

  /**
   * POSTs a records body of `bytes` spaces: 503 while the budget cannot cover it, else 400
   * (read whole, and no record); 0 if the connection failed. Never writes anything.
   */
  async function probe(bytes: number): Promise<number> {
    try {
      const res = await fetch(`${server.url}/v1/records`, {
        method: 'POST',
        headers: { authorization: `Bearer ${sub}`, 'content-type': 'application/json' },
        body: ' '.repeat(bytes),
      });
      await res.arrayBuffer();
      return res.status;
    } catch {
      return 0;
    }
  }
  /** Waits until a body of `bytes` is refused: a hold has taken its share. */
  const refused = (bytes: number) => until(async () => (await probe(bytes)) === 503, 'a 503');
  /** Waits until a body of `bytes` is read: the budget has that much free again. */
  const free = (bytes: number) => until(async () => (await probe(bytes)) === 400, 'a 400');

  it('a body the budget cannot cover is refused at once with 503 and Retry-After, and not written', async () => {
    const hold = await holdDeclared(8 * MiB);
    try {
      await refused(1);
      const before = await size();
      const res = await fetch(`${server.url}/v1/entries`, {
        method: 'POST',
        headers: { authorization: `Bearer ${sub}`, 'content-type': 'application/octet-stream' },
        body: new Uint8Array([1, 2, 3]),
      });
      expect(res.status).toBe(503);
      expect(res.headers.get('retry-after')).toBe('1');
      const problem = (await res.json()) as { code: string; detail: string };
      expect(problem.code).toBe('OVERLOADED');
      expect(problem.detail).toMatch(/request bodies up to its limit of 8 MiB/);
      expect(await size()).toBe(before);
      // A body over the route's own limit is still 413: refused for good, not for now.
      const tooLarge = await fetch(`${server.url}/v1/records`, {
        method: 'POST',
        headers: { authorization: `Bearer ${sub}`, 'content-type': 'application/json' },
        body: ' '.repeat(8 * MiB + 1),
      });
      expect(tooLarge.status).toBe(413);
    } finally {
      hold.socket.destroy();
    }
    await free(8 * MiB);
  });

  it('a chunked body is refused with 503 as its bytes arrive beyond the budget', async () => {
    const hold = await holdDeclared(6 * MiB);
    try {
      await refused(2 * MiB + 1);
      // 1 MiB fits beside the 6 MiB held; 2 MiB more do not, and the body has not ended.
      const c = await holdChunked(MiB);
      await sleep(200);
      expect(c.answer()).toBe('');
      c.socket.write(`${(2 * MiB).toString(16)}\r\n`);
      c.socket.write(Buffer.alloc(2 * MiB, 0x20));
      await until(() => c.answer().includes('\r\n\r\n'), 'an answer');
      expect(c.answer()).toMatch(/^HTTP\/1\.1 503/);
      expect(c.answer()).toMatch(/\r\nretry-after: 1\r\n/i);
      c.socket.destroy();
    } finally {
      hold.socket.destroy();
    }
    await free(8 * MiB);
  });

  it('bodies cut off by their clients give their share back, and a body of the whole budget is read after them', async () => {
    const before = await size();
    const cutOff = [
      () => holdDeclared(8 * MiB, 0), // headers only
      () => holdDeclared(8 * MiB, 64 * 1024), // part of the body
      () => holdChunked(7 * MiB), // a chunked body, unfinished
    ];
    for (let round = 0; round < 2; round++) {
      for (const start of cutOff) {
        const c = await start();
        await refused(MiB + 1);
        c.socket.destroy();
        await c.closed;
        await free(MiB + 1);
      }
    }
    // The whole 8 MiB are free: a body of 8 MiB is read and answered (400: it is no record).
    const res = await fetch(`${server.url}/v1/records`, {
      method: 'POST',
      headers: { authorization: `Bearer ${sub}`, 'content-type': 'application/json' },
      body: `${' '.repeat(8 * MiB - 2)}{}`,
    });
    expect(res.status).toBe(400);
    expect(await size()).toBe(before);
    expect(server.output()).not.toMatch(/INTERNAL/);
  });
});
