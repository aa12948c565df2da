/**
 * Request bodies against a real server: repeated JSON members, bytes that are not UTF-8,
 * content codings, content types, deep nesting, and get-entries answers bounded in bytes.
 * Each refusal is a 4xx and leaves the log as it was.
 */
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_GET_ENTRIES_BYTES } from '../../src/api/ct-routes.js';
import { makeToken, startServer, submit, type TestServer } from '../helpers/server.js';
import { exampleRecord } from '../records/fixtures.js';

let server: TestServer;
let sub: string;

beforeAll(async () => {
  server = await startServer();
  sub = await makeToken(server, 'submitter');
});

afterAll(async () => {
  await server?.stop();
});

const size = async () =>
  ((await (await fetch(`${server.url}/v1/log`)).json()) as { tree_size: number }).tree_size;

async function post(
  path: string,
  token: string,
  body: string | Uint8Array,
  headers: Record<string, string> = { 'content-type': 'application/json' },
): Promise<{ status: number; text: string }> {
  const res = await fetch(`${server.url}${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, ...headers },
    body,
  });
  return { status: res.status, text: await res.text() };
}

describe('request bodies', () => {
  it('a token request that repeats a member is refused, not read as its last value', async () => {
    const r = await post('/v1/tokens', server.adminToken!, '{"role":"auditor","name":"dup1","role":"admin"}');
    expect(r.status).toBe(400);
    expect(JSON.parse(r.text).detail).toMatch(/duplicate member "role"/);
    // No such token was made: revoking it finds nothing.
    const revoke = await post('/v1/tokens/revoke', server.adminToken!, '{"name":"dup1"}');
    expect(revoke.status).toBe(404);
  });

  it('a record whose bytes are not UTF-8 is refused and nothing is written', async () => {
    const before = await size();
    const good = new TextEncoder().encode(JSON.stringify({ ...exampleRecord(), user_id: 'uXX1' }));
    const at = Buffer.from(good).indexOf('uXX1') + 1;
    const bad = good.slice();
    bad[at] = 0xff;
    bad[at + 1] = 0xfe;
    const r = await post('/v1/records', sub, bad);
    expect(r.status).toBe(400);
    expect(JSON.parse(r.text).detail).toBe('body is not well-formed UTF-8');
    expect(await size()).toBe(before);
    // The same record, well formed, is taken.
    expect((await post('/v1/records', sub, good)).status).toBe(200);
  });

  it('a body with a content coding is refused (415) rather than logged as its coded bytes', async () => {
    const before = await size();
    const r = await post('/v1/entries', sub, new Uint8Array([0x1f, 0x8b, 8, 0, 0, 0, 0, 0]), {
      'content-type': 'application/octet-stream',
      'content-encoding': 'gzip',
    });
    expect(r.status).toBe(415);
    expect(JSON.parse(r.text).detail).toBe('Content-Encoding gzip is not accepted');
    expect(await size()).toBe(before);
    const identity = await post('/v1/entries', sub, new Uint8Array([1, 2, 3]), {
      'content-type': 'application/octet-stream',
      'content-encoding': 'identity',
    });
    expect(identity.status).toBe(200);
  });

  it('an erasure with a body that is not JSON by its type is refused (415)', async () => {
    const r = await post('/v1/subjects/patient-1/erase', server.adminToken!, '{"tenant_id":"tnt_acme"}', {
      'content-type': 'text/plain',
    });
    expect(r.status).toBe(415);
  });

  it('a large body nested deeper than 64 levels is refused before it is parsed', async () => {
    const before = await size();
    const n = 100_000;
    const r = await post('/v1/records', sub, `${'['.repeat(n)}${']'.repeat(n)}`);
    expect(r.status).toBe(400);
    expect(JSON.parse(r.text).detail).toBe('body is nested deeper than 64 levels');
    expect(await size()).toBe(before);
  });
});

describe('a body cut off by its client', () => {
  it('is not logged as a server fault', async () => {
    const url = new URL(server.url);
    for (let i = 0; i < 3; i++) {
      const socket = connect(Number(url.port), '127.0.0.1');
      await new Promise((r) => socket.once('connect', r));
      socket.write(
        `POST /v1/tokens HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${server.adminToken}\r\n` +
          'Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"role":',
      );
      await new Promise((r) => setTimeout(r, 100));
      socket.destroy();
    }
    // The server has read the cut bodies once a later request is answered.
    await new Promise((r) => setTimeout(r, 200));
    expect((await fetch(`${server.url}/checkpoint`)).status).toBe(200);
    expect(server.output()).not.toMatch(/INTERNAL/);
  });
});

describe('tile paths', () => {
  it('a percent-encoded spelling of a tile path is refused (400), the canonical one served', async () => {
    expect((await fetch(`${server.url}/tile/0/000.p/1`)).status).toBe(200);
    for (const path of [
      '/tile/0/%30%30%30.p/1',
      '/tile/0/000%2ep/1',
      '/tile/%30/000.p/1',
      '/tile/0/000.p/%31',
    ]) {
      const res = await fetch(`${server.url}${path}`);
      expect(res.status, path).toBe(400);
    }
  });
});

describe('get-entries', () => {
  it('answers no more than 1 MiB of entries (at least one), which are the entries appended', async () => {
    const big = (i: number) => new Uint8Array(60 * 1024).fill(i);
    const first = BigInt(await size());
    for (let i = 0; i < 20; i++) expect((await submit(server.url, sub, big(i))).status).toBe(200);
    const res = await fetch(`${server.url}/ct/v1/get-entries?start=${first}&end=${first + 19n}`);
    expect(res.status).toBe(200);
    const { entries } = (await res.json()) as { entries: { leaf_input: string }[] };
    expect(entries.length).toBe(Math.floor(MAX_GET_ENTRIES_BYTES / (60 * 1024)));
    entries.forEach((e, i) => {
      expect(Buffer.from(e.leaf_input, 'base64').equals(Buffer.from(big(i)))).toBe(true);
    });
    // The client goes on from where the answer stopped.
    const rest = await fetch(
      `${server.url}/ct/v1/get-entries?start=${first + BigInt(entries.length)}&end=${first + 19n}`,
    );
    expect(((await rest.json()) as { entries: unknown[] }).entries.length).toBe(20 - entries.length);
  });
});

describe('request timeout', () => {
  it('a client that does not finish its request within --request-timeout gets 408 and is disconnected', async () => {
    const slow = await startServer({ args: ['--request-timeout', '1'] });
    try {
      const url = new URL(slow.url);
      const token = await makeToken(slow, 'submitter');
      const socket = connect(Number(url.port), '127.0.0.1');
      let answer = '';
      socket.on('data', (d) => {
        answer += d;
      });
      const closed = new Promise<number>((r) => socket.once('close', () => r(Date.now())));
      await new Promise((r) => socket.once('connect', r));
      const t0 = Date.now();
      // Headers, then a body that never comes: the request is never complete.
      socket.write(
        `POST /v1/entries HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${token}\r\n` +
          'Content-Type: application/octet-stream\r\nContent-Length: 100\r\n\r\nab',
      );
      const t1 = await closed;
      expect(answer).toMatch(/^HTTP\/1\.1 408/);
      expect(t1 - t0).toBeLessThan(5_000);
    } finally {
      await slow.stop();
    }
  });
});
