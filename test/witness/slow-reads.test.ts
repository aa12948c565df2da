/**
 * Reads from logs, peers and witnesses have a deadline for the whole exchange, not only idle
 * timeouts (undici headersTimeout / bodyTimeout): without it, a server that sends a byte every few
 * seconds holds the read for days: a log or peer stalls the witness's rounds (rounds never overlap, so no peer is pulled and
 * no fork is found), a witness stalls the log's push rounds ("holds a round back at most its
 * request timeout (10 s)", spec/witness.md section 6).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { parseVerifierKey } from '../../src/note/keys.js';
import { fetchCheckpoint } from '../../src/witness/fetch.js';
import { WitnessPusher } from '../../src/witness/pusher.js';
import { Witness as FixtureWitness } from '../client/fixtures.js';
import { FakeLog } from './fake-log.js';

/** A server that answers 200 and then sends one byte every `everyMs`, for a minute. */
async function trickler(everyMs: number): Promise<{ url: string; close: () => Promise<void> }> {
  const timers = new Set<NodeJS.Timeout>();
  const server: Server = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain' });
    let n = 0;
    const t = setInterval(() => {
      if (++n > 60_000 / everyMs) {
        clearInterval(t);
        res.end();
      } else res.write('x');
    }, everyMs);
    timers.add(t);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: async () => {
      for (const t of timers) clearInterval(t);
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    },
  };
}

const within = <T>(p: Promise<T>, ms: number) =>
  Promise.race([
    p.then(
      () => 'settled',
      () => 'settled',
    ),
    new Promise<string>((r) => setTimeout(() => r('still reading'), ms)),
  ]);

describe('slow bodies', () => {
  const closers: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const c of closers.splice(0)) await c();
  });

  it('a log trickling its checkpoint does not hold a poll for more than the 10 s timeout', async () => {
    const slow = await trickler(2_000);
    closers.push(slow.close);
    expect(await within(fetchCheckpoint(slow.url), 13_000)).toBe('settled');
  }, 20_000);

  it('a witness trickling its answer holds a push round back at most 10 s', async () => {
    const slow = await trickler(2_000);
    closers.push(slow.close);
    const log = FakeLog.create('example.com/push').grow(2);
    const note = await log.checkpoint(2);
    const pusher = new WitnessPusher({
      log: {
        latest: () => ({ size: 2n, note }),
        onCommit: () => () => {},
        consistencyProof: (a, b) => log.proof(Number(a), Number(b)),
      },
      witnesses: [{ url: slow.url, key: parseVerifierKey(new FixtureWitness('w.example').vkey) }],
      stderr: { write: () => true },
    });
    closers.push(() => pusher.close());
    const deadline = Date.now() + 13_000;
    while (Date.now() < deadline && pusher.status()[0]!.lastError === undefined)
      await new Promise((r) => setTimeout(r, 200));
    expect(pusher.status()[0]!.lastError).toBeDefined();
  }, 20_000);
});
