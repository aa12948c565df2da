/**
 * spec/witness.md section 4 makes only a 4xx (or a malformed proof) from the log "the log
 * cannot give it -> a fork"; a redirect is neither. An honest log behind a redirect must not be
 * declared forked.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { encodeBase64 } from '../../src/note/encoding.js';
import { parseVerifierKey } from '../../src/note/keys.js';
import { Witness } from '../../src/witness/witness.js';
import { tempDir } from '../helpers/server.js';
import { FakeLog } from './fake-log.js';
import { body } from './http.js';

describe('a redirected consistency-proof request', () => {
  const log = FakeLog.create('example.com/redirect').grow(8);
  let server: Server;
  let w: Witness;
  afterAll(async () => {
    await w?.close();
    await new Promise((r) => server?.close(r));
  });

  it('is not proof of a fork: the honest log is not alerted on nor put in the forked state', async () => {
    // The log's proof endpoint moved (e.g. a trailing-slash or http->https redirect); the target
    // serves the genuine proof.
    server = createServer((req, res) => {
      const u = new URL(req.url ?? '/', 'http://x');
      if (u.pathname === '/ct/v1/get-sth-consistency') {
        res.writeHead(301, { location: `/v2${u.pathname}${u.search}` }).end();
      } else if (u.pathname === '/v2/ct/v1/get-sth-consistency') {
        void log
          .proof(Number(u.searchParams.get('first')), Number(u.searchParams.get('second')))
          .then((p) => res.end(JSON.stringify({ consistency: p.map(encodeBase64) })));
      } else res.writeHead(404).end();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    w = await Witness.open({
      dir: join(tempDir('rev-redirect-'), 'w'),
      name: 'witness.example/r',
      logs: [{ key: parseVerifierKey(log.vkey), url }],
      stderr: { write: () => true },
    });
    expect((await w.addCheckpoint(body(0, [], await log.checkpoint(3)))).status).toBe(200);
    // A peer gossips the log's genuine, consistent checkpoint of size 8.
    const outcome = await w.checkView(log.origin, await log.checkpoint(8), 'http://peer.example');
    expect(await w.alerts.list()).toEqual([]);
    expect(w.fork(log.origin)).toBeUndefined();
    expect(outcome).toBe('unknown');
  });
});
