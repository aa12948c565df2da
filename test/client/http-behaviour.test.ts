/**
 * LogClient's HTTP behaviour against small real HTTP servers on 127.0.0.1 that answer the way an
 * overloaded or misbehaving log would: 503 with Retry-After, oversized bodies, a receipt for
 * another entry, a partial tile that is gone.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, test } from 'vitest';
import { LogClient, parseRetryAfter } from '../../src/client/log-client.js';
import { receiptToJSON } from '../../src/client/receipt.js';
import { MemoryLog, te } from './fixtures.js';

let server: Server | undefined;

afterEach(async () => {
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  server = undefined;
});

async function serve(
  handler: (req: IncomingMessage, res: ServerResponse, n: number) => void,
): Promise<string> {
  let n = 0;
  server = createServer((req, res) => {
    req.resume();
    req.on('end', () => handler(req, res, n++));
  });
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server!.address() as AddressInfo).port}`;
}

describe('LogClient HTTP behaviour', () => {
  test('retries a GET after 503 with Retry-After, then succeeds', async () => {
    const log = new MemoryLog();
    log.append(te.encode('a'));
    const note = await log.checkpoint(1n);
    const seen: number[] = [];
    const url = await serve((_req, res, n) => {
      seen.push(n);
      if (n < 2) {
        res.writeHead(503, { 'retry-after': '0' }).end('busy');
      } else res.writeHead(200, { 'content-type': 'text/plain' }).end(note);
    });
    const client = new LogClient(url, { vkey: log.vkey });
    expect((await client.checkpoint()).checkpoint.size).toBe(1n);
    expect(seen).toEqual([0, 1, 2]);
    await client.close();
  });

  test('a POST is retried after 503 (not accepted) and gives up with OVERLOADED', async () => {
    const log = new MemoryLog();
    log.append(te.encode('entry'));
    const receipt = await log.receipt(0n, 1n);
    let posts = 0;
    const url = await serve((req, res, n) => {
      if (req.method === 'POST') posts++;
      if (n === 0) res.writeHead(503, { 'retry-after': '0' }).end();
      else
        res
          .writeHead(200, { 'content-type': 'application/json' })
          .end(JSON.stringify(receiptToJSON(receipt)));
    });
    const client = new LogClient(url, { token: 't', vkey: log.vkey });
    const r = await client.submitEntry(te.encode('entry'));
    expect(r.index).toBe(0n);
    expect(posts).toBe(2);
    await client.close();

    const url2 = await (async () => {
      await new Promise<void>((resolve) => server!.close(() => resolve()));
      return serve((_req, res) => res.writeHead(503, { 'retry-after': '0' }).end());
    })();
    const busy = new LogClient(url2, { token: 't', maxRetries: 2 });
    await expect(busy.submitEntry(te.encode('x'))).rejects.toMatchObject({ code: 'OVERLOADED' });
    await busy.close();
  });

  test('a receipt for another entry is refused', async () => {
    const log = new MemoryLog();
    log.append(te.encode('other'));
    const receipt = await log.receipt(0n, 1n);
    const url = await serve((_req, res) =>
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(receiptToJSON(receipt))),
    );
    const client = new LogClient(url, { token: 't', vkey: log.vkey });
    await expect(client.submitEntry(te.encode('mine'))).rejects.toMatchObject({ code: 'LEAF_MISMATCH' });
    await client.close();
  });

  test('response bodies are bounded', async () => {
    const url = await serve((_req, res) => res.writeHead(200).end(Buffer.alloc(64 * 1024, 0x41)));
    const client = new LogClient(url, { maxResponseBytes: 1024 });
    await expect(client.checkpointNote()).rejects.toMatchObject({ code: 'TOO_LARGE' });
    await client.close();
  });

  test('a partial tile that is gone is cut from the full tile', async () => {
    const full = new Uint8Array(256 * 32).map((_, i) => i & 0xff);
    const paths: string[] = [];
    const url = await serve((req, res) => {
      paths.push(req.url!);
      if (req.url === '/tile/0/000') res.writeHead(200).end(full);
      else res.writeHead(404).end('not found');
    });
    const client = new LogClient(url);
    const t = await client.tile(0, 0n, 3);
    expect(Buffer.from(t)).toEqual(Buffer.from(full.subarray(0, 96)));
    expect(paths).toEqual(['/tile/0/000.p/3', '/tile/0/000']);
    await client.close();
  });

  test('a plain-text 405 (a C2SP path asked with the wrong method) is METHOD_NOT_ALLOWED', async () => {
    const url = await serve((_req, res) =>
      res.writeHead(405, { allow: 'POST', 'content-type': 'text/plain' }).end('method not allowed\n'),
    );
    const client = new LogClient(url);
    await expect(client.checkpointNote()).rejects.toMatchObject({ code: 'METHOD_NOT_ALLOWED' });
    await client.close();
  });

  test('Retry-After parsing', () => {
    expect(parseRetryAfter('3')).toBe(3000);
    expect(parseRetryAfter(undefined)).toBeNull();
    expect(parseRetryAfter('soon')).toBeNull();
    expect(parseRetryAfter(new Date(10_000).toUTCString(), 4_000)).toBe(6000);
  });
});
