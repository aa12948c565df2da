/**
 * The HTTP contract against a real server process: the RFC 6962 vectors through the API,
 * tiles and bundles as C2SP says, and every kind of bad input answered 4xx without changing
 * the log.
 */
import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeEntryBundle, splitTile } from '../../src/merkle/tiles.js';
import { verifyConsistency, verifyInclusion } from '../../src/merkle/verify.js';
import { openCheckpoint } from '../../src/note/checkpoint.js';
import { decodeBase64 } from '../../src/note/encoding.js';
import { parseVerifierKey } from '../../src/note/keys.js';
import { verifyTreeHead, decodeDigitallySigned } from '../../src/note/sth.js';
import { makeToken, startServer, submit, type TestServer } from '../helpers/server.js';
import { RFC6962_LEAVES, RFC6962_ROOTS } from '../merkle/vectors.js';

let server: TestServer;
let submitter: string;
let auditor: string;
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const b64 = (b: Uint8Array) => Buffer.from(b).toString('base64');

beforeAll(async () => {
  server = await startServer({ args: ['--origin', 'example.com/http-test', '--max-entry', '1000'] });
  submitter = await makeToken(server, 'submitter', { name: 'agent-1' });
  auditor = await makeToken(server, 'auditor', { name: 'auditor-1' });
});
afterAll(async () => {
  expect(await server.stop()).toBe(0);
  rmSync(server.dir, { recursive: true, force: true });
});

/** A request body sent with Transfer-Encoding: chunked (no Content-Length). */
function chunked(parts: Uint8Array[]): ReadableStream<Uint8Array> {
  return new ReadableStream({
    start(controller) {
      for (const p of parts) controller.enqueue(p);
      controller.close();
    },
  });
}

/** A response's JSON body: what the assertions below check is its shape. */
// biome-ignore lint/suspicious/noExplicitAny: the tests index into bodies whose shape they are checking.
type JsonBody = any;

async function getJSON(path: string): Promise<{ status: number; body: JsonBody; headers: Headers }> {
  const res = await fetch(`${server.url}${path}`);
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined, headers: res.headers };
}

describe('acceptance: RFC 6962 vectors through the HTTP API', () => {
  it('a new log already serves a signed checkpoint of size 0', async () => {
    const res = await fetch(`${server.url}/checkpoint`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/plain; charset=utf-8');
    expect(res.headers.get('cache-control')).toBe('public, max-age=2');
    const { checkpoint } = openCheckpoint(await res.text(), parseVerifierKey(server.vkey));
    expect(checkpoint.size).toBe(0n);
    expect(checkpoint.origin).toBe('example.com/http-test');
  });

  it('each of the eight leaves yields the RFC root, a verifying receipt and a verifying STH', async () => {
    const key = parseVerifierKey(server.vkey);
    const receipts = [];
    for (let i = 0; i < 8; i++) {
      const { status, body } = (await submit(server.url, submitter, RFC6962_LEAVES[i]!)) as {
        status: number;
        body: JsonBody;
      };
      expect(status).toBe(200);
      expect(body.index).toBe(i);
      expect(body.tree_size).toBe(i + 1);
      const { checkpoint } = openCheckpoint(body.checkpoint, key);
      expect(hex(checkpoint.root)).toBe(RFC6962_ROOTS[i]);
      verifyInclusion(
        BigInt(body.index),
        BigInt(body.tree_size),
        decodeBase64(body.leaf_hash),
        body.inclusion_proof.map((p: string) => decodeBase64(p)),
        checkpoint.root,
      );
      const sth = await getJSON('/ct/v1/get-sth');
      expect(sth.body.tree_size).toBe(i + 1);
      expect(hex(decodeBase64(sth.body.sha256_root_hash))).toBe(RFC6962_ROOTS[i]);
      const sig = decodeBase64(sth.body.tree_head_signature);
      expect([sig[0], sig[1]]).toEqual([0x08, 0x07]);
      verifyTreeHead(key.publicKey, BigInt(sth.body.timestamp), BigInt(i + 1), checkpoint.root, sig);
      expect(decodeDigitallySigned(sig).length).toBe(64);
      receipts.push(body);
    }
    const roots = RFC6962_ROOTS.map((r) => new Uint8Array(Buffer.from(r, 'hex')));
    for (let m = 1; m <= 8; m++) {
      for (let n = m; n <= 8; n++) {
        const { status, body } = await getJSON(`/ct/v1/get-sth-consistency?first=${m}&second=${n}`);
        expect(status).toBe(200);
        verifyConsistency(
          BigInt(m),
          BigInt(n),
          body.consistency.map((p: string) => decodeBase64(p)),
          roots[m - 1]!,
          roots[n - 1]!,
        );
      }
    }
    for (let i = 0; i < 8; i++) {
      const lh = decodeBase64(receipts[i].leaf_hash);
      const byHash = await getJSON(
        `/ct/v1/get-proof-by-hash?hash=${encodeURIComponent(b64(lh))}&tree_size=8`,
      );
      expect(byHash.status).toBe(200);
      expect(byHash.body.leaf_index).toBe(i);
      verifyInclusion(
        BigInt(i),
        8n,
        lh,
        byHash.body.audit_path.map((p: string) => decodeBase64(p)),
        roots[7]!,
      );
      const eap = await getJSON(`/ct/v1/get-entry-and-proof?leaf_index=${i}&tree_size=8`);
      expect(hex(decodeBase64(eap.body.leaf_input))).toBe(hex(RFC6962_LEAVES[i]!));
    }
    const entries = await getJSON('/ct/v1/get-entries?start=0&end=100');
    expect(entries.body.entries.map((e: JsonBody) => hex(decodeBase64(e.leaf_input)))).toEqual(
      RFC6962_LEAVES.map(hex),
    );
  });

  it('serves tiles and entry bundles as C2SP tlog-tiles', async () => {
    const tile = await fetch(`${server.url}/tile/0/000.p/8`);
    expect(tile.status).toBe(200);
    expect(tile.headers.get('content-type')).toBe('application/octet-stream');
    expect(tile.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    const hashes = splitTile(new Uint8Array(await tile.arrayBuffer()));
    expect(hashes.length).toBe(8);
    const narrower = await fetch(`${server.url}/tile/0/000.p/3`);
    expect(hex(new Uint8Array(await narrower.arrayBuffer()))).toBe(hex(Buffer.concat(hashes.slice(0, 3))));
    const bundle = await fetch(`${server.url}/tile/entries/000.p/8`);
    expect(decodeEntryBundle(new Uint8Array(await bundle.arrayBuffer())).map(hex)).toEqual(
      RFC6962_LEAVES.map(hex),
    );
    for (const p of [
      '/tile/0/000',
      '/tile/0/000.p/9',
      '/tile/0/001.p/1',
      '/tile/1/000.p/1',
      '/tile/entries/000',
      '/tile/entries/000.p/9',
    ]) {
      const r = await fetch(`${server.url}${p}`);
      expect(r.status, p).toBe(404);
    }
    expect(((await fetch(`${server.url}/v1/log`).then((r) => r.json())) as JsonBody).tree_size).toBe(8);
  });
});

describe('bad input gets a 4xx problem and never changes the log', () => {
  const auth = () => ({ authorization: `Bearer ${submitter}` });
  const cases: [string, () => Promise<Response>, number][] = [
    [
      'no token',
      () =>
        fetch(`${server.url}/v1/entries`, {
          method: 'POST',
          headers: { 'content-type': 'application/octet-stream' },
          body: 'x',
        }),
      401,
    ],
    [
      'wrong token',
      () =>
        fetch(`${server.url}/v1/entries`, {
          method: 'POST',
          headers: { authorization: 'Bearer alt_nope', 'content-type': 'application/octet-stream' },
          body: 'x',
        }),
      401,
    ],
    [
      'malformed auth header',
      () =>
        fetch(`${server.url}/v1/entries`, {
          method: 'POST',
          headers: { authorization: 'Basic abc', 'content-type': 'application/octet-stream' },
          body: 'x',
        }),
      401,
    ],
    [
      'auditor may not submit',
      () =>
        fetch(`${server.url}/v1/entries`, {
          method: 'POST',
          headers: { authorization: `Bearer ${auditor}`, 'content-type': 'application/octet-stream' },
          body: 'x',
        }),
      403,
    ],
    [
      'submitter may not make tokens',
      () =>
        fetch(`${server.url}/v1/tokens`, {
          method: 'POST',
          headers: { ...auth(), 'content-type': 'application/json' },
          body: '{"role":"admin"}',
        }),
      403,
    ],
    [
      'wrong content type',
      () =>
        fetch(`${server.url}/v1/entries`, {
          method: 'POST',
          headers: { ...auth(), 'content-type': 'text/plain' },
          body: 'x',
        }),
      415,
    ],
    [
      'missing content type',
      () => fetch(`${server.url}/v1/entries`, { method: 'POST', headers: auth(), body: new Uint8Array([1]) }),
      415,
    ],
    [
      'oversized body',
      () =>
        fetch(`${server.url}/v1/entries`, {
          method: 'POST',
          headers: { ...auth(), 'content-type': 'application/octet-stream' },
          body: new Uint8Array(1001),
        }),
      413,
    ],
    [
      'oversized chunked body (no Content-Length)',
      () =>
        fetch(`${server.url}/v1/entries`, {
          method: 'POST',
          headers: { ...auth(), 'content-type': 'application/octet-stream' },
          body: chunked([new Uint8Array(600), new Uint8Array(600)]),
          duplex: 'half',
        } as RequestInit),
      413,
    ],
    [
      'consistency first > second',
      () => fetch(`${server.url}/ct/v1/get-sth-consistency?first=5&second=3`),
      400,
    ],
    ['consistency beyond tree', () => fetch(`${server.url}/ct/v1/get-sth-consistency?first=1&second=9`), 400],
    [
      'consistency leading zero',
      () => fetch(`${server.url}/ct/v1/get-sth-consistency?first=01&second=3`),
      400,
    ],
    ['consistency hex', () => fetch(`${server.url}/ct/v1/get-sth-consistency?first=0x1&second=3`), 400],
    ['consistency negative', () => fetch(`${server.url}/ct/v1/get-sth-consistency?first=-1&second=3`), 400],
    ['consistency missing', () => fetch(`${server.url}/ct/v1/get-sth-consistency?first=1`), 400],
    [
      'consistency huge',
      () => fetch(`${server.url}/ct/v1/get-sth-consistency?first=1&second=99999999999999999999999`),
      400,
    ],
    [
      'proof-by-hash bad base64',
      () => fetch(`${server.url}/ct/v1/get-proof-by-hash?hash=%%%&tree_size=1`),
      400,
    ],
    [
      'proof-by-hash short hash',
      () => fetch(`${server.url}/ct/v1/get-proof-by-hash?hash=AAAA&tree_size=1`),
      400,
    ],
    [
      'proof-by-hash unknown',
      () =>
        fetch(
          `${server.url}/ct/v1/get-proof-by-hash?hash=${encodeURIComponent(b64(new Uint8Array(32)))}&tree_size=8`,
        ),
      404,
    ],
    [
      'proof-by-hash size beyond',
      () =>
        fetch(
          `${server.url}/ct/v1/get-proof-by-hash?hash=${encodeURIComponent(b64(new Uint8Array(32)))}&tree_size=80`,
        ),
      400,
    ],
    ['entries start > end', () => fetch(`${server.url}/ct/v1/get-entries?start=5&end=3`), 400],
    ['entries beyond', () => fetch(`${server.url}/ct/v1/get-entries?start=8&end=9`), 400],
    [
      'entry-and-proof index >= size',
      () => fetch(`${server.url}/ct/v1/get-entry-and-proof?leaf_index=3&tree_size=3`),
      400,
    ],
    ['tile odd path', () => fetch(`${server.url}/tile/0/1`), 400],
    ['tile level too high', () => fetch(`${server.url}/tile/64/000`), 400],
    ['tile width 0', () => fetch(`${server.url}/tile/0/000.p/0`), 400],
    ['unknown path', () => fetch(`${server.url}/v1/nothing`), 404],
    [
      'token bad role',
      () =>
        fetch(`${server.url}/v1/tokens`, {
          method: 'POST',
          headers: { authorization: `Bearer ${server.adminToken}`, 'content-type': 'application/json' },
          body: '{"role":"root"}',
        }),
      400,
    ],
    [
      'token unknown field',
      () =>
        fetch(`${server.url}/v1/tokens`, {
          method: 'POST',
          headers: { authorization: `Bearer ${server.adminToken}`, 'content-type': 'application/json' },
          body: '{"role":"admin","x":1}',
        }),
      400,
    ],
    [
      'token not json',
      () =>
        fetch(`${server.url}/v1/tokens`, {
          method: 'POST',
          headers: { authorization: `Bearer ${server.adminToken}`, 'content-type': 'application/json' },
          body: '{',
        }),
      400,
    ],
  ];
  for (const [name, req, status] of cases) {
    it(`${name} → ${status}`, async () => {
      const before = await fetch(`${server.url}/checkpoint`).then((r) => r.text());
      const res = await req();
      expect(res.status).toBe(status);
      const isC2SP = new URL(res.url).pathname.startsWith('/tile/');
      if (!isC2SP) {
        expect(res.headers.get('content-type')).toBe('application/problem+json');
        const p = (await res.json()) as JsonBody;
        expect(p.status).toBe(status);
        expect(typeof p.detail).toBe('string');
      } else {
        await res.text();
      }
      const after = await fetch(`${server.url}/checkpoint`).then((r) => r.text());
      expect(after).toBe(before);
    });
  }
});

// Runs after the table above, which expects the tree to hold the eight vector leaves only.
describe('JSON responses', () => {
  it('a receipt is served as UTF-8 JSON with its exact byte length (a signed note has a "—")', async () => {
    const res = await fetch(`${server.url}/v1/entries`, {
      method: 'POST',
      headers: { authorization: `Bearer ${submitter}`, 'content-type': 'application/octet-stream' },
      body: new TextEncoder().encode('content-type check'),
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/json');
    const bytes = new Uint8Array(await res.arrayBuffer());
    expect(Number(res.headers.get('content-length'))).toBe(bytes.length);
    const body = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
    expect(body.checkpoint).toContain('\n\u2014 example.com/http-test ');
    openCheckpoint(body.checkpoint, parseVerifierKey(server.vkey));
  });
});

describe('request bodies without Content-Length', () => {
  it('a chunked body within the limit is accepted like a sized one', async () => {
    const entry = new TextEncoder().encode('sent in two chunks');
    const res = await fetch(`${server.url}/v1/entries`, {
      method: 'POST',
      headers: { authorization: `Bearer ${submitter}`, 'content-type': 'application/octet-stream' },
      body: chunked([entry.subarray(0, 7), entry.subarray(7)]),
      duplex: 'half',
    } as RequestInit);
    expect(res.status).toBe(200);
    const r = (await res.json()) as { index: number };
    const got = await getJSON(`/ct/v1/get-entries?start=${r.index}&end=${r.index}`);
    expect(got.status).toBe(200);
    expect(Buffer.from(got.body.entries[0].leaf_input, 'base64').includes(Buffer.from(entry))).toBe(true);
  });
});
