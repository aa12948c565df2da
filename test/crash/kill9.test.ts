/**
 * Crash safety with real processes: a server under concurrent load is killed with SIGKILL at
 * a random moment, restarted on the same directory, and every receipt answered before the
 * kill must still verify, with its checkpoint consistent with the recovered one.
 */
import { rmSync } from 'node:fs';
import { dirname } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { verifyConsistency, verifyInclusion } from '../../src/merkle/verify.js';
import { openCheckpoint } from '../../src/note/checkpoint.js';
import { decodeBase64 } from '../../src/note/encoding.js';
import { parseVerifierKey } from '../../src/note/keys.js';
import { makeToken, startServer, submit, type TestServer } from '../helpers/server.js';

interface R {
  index: number;
  tree_size: number;
  leaf_hash: string;
  inclusion_proof: string[];
  checkpoint: string;
  entry: string;
}

const cleanup: string[] = [];
afterAll(() => {
  for (const d of cleanup) rmSync(d, { recursive: true, force: true });
});

async function load(
  server: TestServer,
  token: string,
  workers: number,
  tag: string,
  receipts: R[],
): Promise<void> {
  let n = 0;
  const worker = async (w: number) => {
    for (;;) {
      const entry = `${tag}-w${w}-${n++}`;
      let res: { status: number; body: unknown };
      try {
        res = await submit(server.url, token, new TextEncoder().encode(entry));
      } catch {
        return; // the server died
      }
      if (res.status === 200) receipts.push({ ...(res.body as Omit<R, 'entry'>), entry });
      else if (res.status !== 503) return;
    }
  };
  await Promise.all(Array.from({ length: workers }, (_, w) => worker(w)));
}

describe('kill -9 under load', () => {
  it('every receipt answered before each of three crashes verifies after restart', async () => {
    let server = await startServer({ args: ['--origin', 'example.com/crash', '--max-batch', '32'] });
    cleanup.push(dirname(server.dir));
    const admin = server.adminToken!;
    const token = await makeToken(server, 'submitter');
    const key = parseVerifierKey(server.vkey);
    const receipts: R[] = [];
    for (let round = 0; round < 3; round++) {
      const loading = load(server, token, 24, `round${round}`, receipts);
      await new Promise((r) => setTimeout(r, 400 + Math.random() * 600));
      await server.kill9();
      await loading;
      server = await startServer({ dir: server.dir });
      expect(server.adminToken).toBeUndefined();
    }
    expect(receipts.length).toBeGreaterThan(50);
    const sth = (await fetch(`${server.url}/checkpoint`).then((r) => r.text())) as string;
    const { checkpoint: now } = openCheckpoint(sth, key);
    const checked = new Set<number>();
    for (const r of receipts) {
      const { checkpoint } = openCheckpoint(r.checkpoint, key);
      verifyInclusion(
        BigInt(r.index),
        BigInt(r.tree_size),
        decodeBase64(r.leaf_hash),
        r.inclusion_proof.map((p) => decodeBase64(p)),
        checkpoint.root,
      );
      expect(now.size >= checkpoint.size).toBe(true);
      if (!checked.has(r.tree_size)) {
        checked.add(r.tree_size);
        const res = await fetch(
          `${server.url}/ct/v1/get-sth-consistency?first=${r.tree_size}&second=${now.size}`,
        );
        const proof = ((await res.json()) as { consistency: string[] }).consistency.map((p) =>
          decodeBase64(p),
        );
        verifyConsistency(checkpoint.size, now.size, proof, checkpoint.root, now.root);
      }
    }
    // The entries themselves survived at their indexes.
    for (const r of receipts.filter((_, i) => i % 25 === 0)) {
      const res = await fetch(`${server.url}/ct/v1/get-entries?start=${r.index}&end=${r.index}`);
      const body = (await res.json()) as { entries: { leaf_input: string }[] };
      expect(new TextDecoder().decode(decodeBase64(body.entries[0]!.leaf_input))).toBe(r.entry);
    }
    // And the log keeps working.
    expect(
      (
        await submit(
          server.url,
          await makeToken(server, 'submitter', { adminToken: admin }),
          new Uint8Array([1]),
        )
      ).status,
    ).toBe(200);
    expect(await server.stop()).toBe(0);
  }, 90_000);
});

describe('backpressure over HTTP', () => {
  it('a full queue answers 503 with Retry-After, and accepted entries still commit', async () => {
    const server = await startServer({
      args: ['--queue', '4', '--max-delay-ms', '300', '--max-batch', '1000'],
    });
    cleanup.push(dirname(server.dir));
    const token = await makeToken(server, 'submitter');
    const results = await Promise.all(
      Array.from({ length: 30 }, (_, i) =>
        fetch(`${server.url}/v1/entries`, {
          method: 'POST',
          headers: { authorization: `Bearer ${token}`, 'content-type': 'application/octet-stream' },
          body: new TextEncoder().encode(`e${i}`),
        }),
      ),
    );
    const statuses = results.map((r) => r.status);
    expect(statuses.filter((s) => s === 503).length).toBeGreaterThan(0);
    expect(statuses.filter((s) => s === 200).length).toBeGreaterThan(0);
    for (const r of results) {
      if (r.status === 503) {
        expect(r.headers.get('retry-after')).toBe('1');
        expect(r.headers.get('content-type')).toBe('application/problem+json');
      }
      await r.text();
    }
    expect(await server.stop()).toBe(0);
  });
});
