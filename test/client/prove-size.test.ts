/**
 * `auditlog prove --size N` below the checkpoint's size: the root of tree N comes from unsigned
 * tiles, so it must be bound to the signed checkpoint by a consistency proof. Against a real
 * server, and against a real HTTP proxy in front of it that alters one hash of a tile.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyConsistency, verifyInclusion } from '../../src/merkle/verify.js';
import { openCheckpoint } from '../../src/note/checkpoint.js';
import { decodeBase64 } from '../../src/note/encoding.js';
import { parseVerifierKey } from '../../src/note/keys.js';
import { cli, makeToken, startServer, submit, type TestServer } from '../helpers/server.js';

let server: TestServer;
let proxy: Server;
let proxyUrl: string;

beforeAll(async () => {
  server = await startServer();
  const token = await makeToken(server, 'submitter');
  for (let i = 0; i < 5; i++) {
    const r = await submit(server.url, token, new TextEncoder().encode(`entry ${i}`));
    expect(r.status).toBe(200);
  }
  // Forwards everything; in level-0 tile 000 (full or partial), flips a bit of leaf hash 0.
  proxy = createServer(async (req, res) => {
    const upstream = await fetch(`${server.url}${req.url}`);
    const body = new Uint8Array(await upstream.arrayBuffer());
    if (upstream.status === 200 && /^\/tile\/0\/000(\.p\/\d+)?$/.test(req.url ?? '')) body[0] = body[0]! ^ 1;
    res.writeHead(upstream.status, { 'content-type': upstream.headers.get('content-type') ?? 'text/plain' });
    res.end(body);
  });
  await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
  proxyUrl = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise((r) => proxy?.close(r));
  await server?.stop();
});

describe('auditlog prove --size N', () => {
  it('prints the inclusion proof in tree N, its root, the checkpoint and a consistency proof that all check', async () => {
    const r = await cli('prove', '--log', server.url, '--index', '1', '--size', '3', '--vkey', server.vkey);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout) as {
      index: number;
      tree_size: number;
      leaf_hash: string;
      inclusion_proof: string[];
      root: string;
      checkpoint: string;
      consistency_proof: string[];
    };
    expect(out.tree_size).toBe(3);
    const { checkpoint } = openCheckpoint(out.checkpoint, parseVerifierKey(server.vkey));
    expect(checkpoint.size).toBe(5n);
    const root = decodeBase64(out.root);
    verifyInclusion(
      1n,
      3n,
      decodeBase64(out.leaf_hash),
      out.inclusion_proof.map((s) => decodeBase64(s)),
      root,
    );
    verifyConsistency(
      3n,
      checkpoint.size,
      out.consistency_proof.map((s) => decodeBase64(s)),
      root,
      checkpoint.root,
    );
    expect(out.consistency_proof.length).toBeGreaterThan(0);
  });

  it('fails when a tile lies, although the lie is consistent with itself in tree N', async () => {
    // At the checkpoint's size the signed root catches the altered leaf directly...
    const atCheckpoint = await cli('prove', '--log', proxyUrl, '--index', '0', '--vkey', server.vkey);
    expect(atCheckpoint.code).toBe(1);
    expect(atCheckpoint.stderr).toMatch(/ROOT_MISMATCH/);
    // ...below it, leaf, proof and root of tree 2 all come from the altered tile and agree with
    // each other; only the consistency proof to the signed checkpoint shows the lie.
    const below = await cli('prove', '--log', proxyUrl, '--index', '0', '--size', '2', '--vkey', server.vkey);
    expect(below.stdout).toBe('');
    expect(below.code).toBe(1);
    expect(below.stderr).toMatch(/ROOT_MISMATCH/);
    // The same question through the honest server is answered.
    const honest = await cli(
      'prove',
      '--log',
      server.url,
      '--index',
      '0',
      '--size',
      '2',
      '--vkey',
      server.vkey,
    );
    expect(honest.code).toBe(0);
  });
});
