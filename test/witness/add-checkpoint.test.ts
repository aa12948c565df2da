/**
 * C2SP tlog-witness v1 add-checkpoint against a real witness process: every status code of the
 * spec, the 409 size body, cosignature verification, the compare-and-swap under concurrency, and
 * persistence across a restart.
 */
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseNote } from '../../src/note/note.js';
import { parseVerifierKey } from '../../src/note/keys.js';
import { verifyCosignature } from '../../src/note/cosignature.js';
import { ed25519Signer } from '../../src/note/signer.js';
import { readCosignature } from '../../src/witness/wire.js';
import { startServer, type TestServer, tempDir } from '../helpers/server.js';
import { FakeLog } from './fake-log.js';
import { addCheckpoint, body } from './http.js';

const NAME = 'witness.example/w1';

describe('add-checkpoint (real witness process)', () => {
  const log = FakeLog.create('example.com/log-a').grow(12);
  // The same log under a second trusted key (a rotation): same leaves, another signer.
  const rotated = new FakeLog(ed25519Signer('example.com/log-a', new Uint8Array(32).fill(42)));
  rotated.leaves.push(...log.leaves);
  const other = FakeLog.create('example.com/log-b').grow(3);
  let w: TestServer;
  const dir = `${tempDir('witness-')}/w`;

  const start = () =>
    startServer({
      command: 'witness',
      dir,
      args: ['--name', NAME, '--log', log.vkey, '--log', rotated.vkey, '--poll-ms', '600000'],
    });

  beforeAll(async () => {
    w = await start();
  });
  afterAll(async () => {
    await w?.stop();
  });

  it('prints a type 0x04 verifier key and keeps its key file 0600', () => {
    const key = parseVerifierKey(w.vkey);
    expect(key.type).toBe(0x04);
    expect(key.name).toBe(NAME);
    expect(statSync(join(dir, 'witness.key')).mode & 0o777).toBe(0o600);
    expect(w.output()).not.toContain('PRIVATE+KEY');
  });

  it('404 for an unknown origin', async () => {
    const r = await addCheckpoint(w.url, body(0, [], await other.checkpoint(3)));
    expect(r.status).toBe(404);
  });

  it('403 when no signature verifies against the log key', async () => {
    const impostor = FakeLog.create('example.com/log-a').grow(3);
    expect((await addCheckpoint(w.url, body(0, [], await impostor.checkpoint(3)))).status).toBe(403);
    // The right key name and key ID, but the signature does not verify (text altered).
    const genuine = await log.checkpoint(3);
    const altered = genuine.replace('\n3\n', '\n4\n');
    expect((await addCheckpoint(w.url, body(0, [], altered))).status).toBe(403);
  });

  it('400 for malformed bodies and for old > new', async () => {
    const cp = await log.checkpoint(3);
    const cases: Record<string, string | Uint8Array> = {
      'no-blank-line': `old 0\n${cp.replace('\n\n', '\n')}`,
      'leading-zero': `old 00\n\n${cp}`,
      'no-old-line': `\n${cp}`,
      'old-uppercase': `OLD 0\n\n${cp}`,
      'old-negative': `old -1\n\n${cp}`,
      'old-two-spaces': `old  0\n\n${cp}`,
      'old-over-uint64': `old 18446744073709551616\n\n${cp}`,
      'proof-not-base64': `old 0\nnot*base64\n\n${cp}`,
      'proof-short-hash': `old 0\nAAAA\n\n${cp}`,
      'proof-64-lines': body(
        0,
        Array.from({ length: 64 }, () => new Uint8Array(32)),
        cp,
      ),
      'note-unsigned': `old 0\n\n${parseNote(cp).text}`,
      'not-utf8': new Uint8Array([0x6f, 0x6c, 0x64, 0x20, 0x30, 0x0a, 0x0a, 0xff, 0xfe]),
      'byte-order-mark': `\ufeffold 0\n\n${cp}`,
      // The log's own signature line twice: a note this witness does not read (spec/signed-note.md).
      'log-signature-twice': `old 0\n\n${cp}${cp.slice(cp.lastIndexOf('\n\u2014 ') + 1)}`,
      'old-greater-than-new': body(5, [], cp),
    };
    for (const [name, b] of Object.entries(cases)) {
      const r = await addCheckpoint(w.url, b);
      expect(r.status, name).toBe(400);
    }
  });

  it('413 for a body over the limit', async () => {
    const cp = await log.checkpoint(3);
    expect((await addCheckpoint(w.url, `old 0\n\n${cp}${'x'.repeat(140_000)}`)).status).toBe(413);
  });

  it('200 with a valid cosignature for the first checkpoint (old 0)', async () => {
    const cp = await log.checkpoint(3);
    const r = await addCheckpoint(w.url, body(0, [], cp));
    expect(r.status).toBe(200);
    expect(r.text).toMatch(/^\u2014 witness\.example\/w1 [A-Za-z0-9+/=]+\n$/);
    const sig = readCosignature(cp, r.text, parseVerifierKey(w.vkey));
    const { timestamp } = verifyCosignature(parseNote(cp).text, sig, parseVerifierKey(w.vkey));
    expect(Math.abs(Number(timestamp) - Date.now() / 1000)).toBeLessThan(600);
  });

  it('409 text/x.tlog.size with the stored size when old is stale', async () => {
    const cp = await log.checkpoint(5);
    const r = await addCheckpoint(w.url, body(0, [], cp));
    expect(r.status).toBe(409);
    expect(r.type).toBe('text/x.tlog.size');
    expect(r.text).toBe('3\n');
    const r2 = await addCheckpoint(w.url, body(4, await log.proof(4, 5), cp));
    expect(r2.status).toBe(409);
    expect(r2.text).toBe('3\n');
  });

  it('422 when the consistency proof does not verify', async () => {
    const cp = await log.checkpoint(5);
    const proof = await log.proof(3, 5);
    const flipped = proof.map((h) => h.slice());
    flipped[0]![7]! ^= 0x01;
    expect((await addCheckpoint(w.url, body(3, flipped, cp))).status).toBe(422);
    expect((await addCheckpoint(w.url, body(3, proof.slice(1), cp))).status).toBe(422);
    expect((await addCheckpoint(w.url, body(3, [...proof, proof[0]!], cp))).status).toBe(422);
  });

  it('200 for a consistent extension, and again for the same checkpoint', async () => {
    const cp5 = await log.checkpoint(5);
    expect((await addCheckpoint(w.url, body(3, await log.proof(3, 5), cp5))).status).toBe(200);
    // Same size, same root: cosigned again.
    expect((await addCheckpoint(w.url, body(5, [], cp5))).status).toBe(200);
  });

  it('422 for proof lines between equal sizes (the proof is empty), 200 once they are gone', async () => {
    const cp5 = await log.checkpoint(5);
    const stray = await log.proof(3, 5);
    expect((await addCheckpoint(w.url, body(5, stray.slice(0, 1), cp5))).status).toBe(422);
    expect((await addCheckpoint(w.url, body(5, [], cp5))).status).toBe(200);
  });

  it('concurrent requests from one old size: exactly one wins, the state never rolls back', async () => {
    const sizes = [6, 7, 8, 9, 10];
    const results = await Promise.all(
      sizes.map(async (n) => addCheckpoint(w.url, body(5, await log.proof(5, n), await log.checkpoint(n)))),
    );
    const ok = results.filter((r) => r.status === 200);
    expect(ok).toHaveLength(1);
    const winner = sizes[results.indexOf(ok[0]!)]!;
    for (const r of results.filter((x) => x.status !== 200)) {
      expect(r.status).toBe(409);
      expect(r.text).toBe(`${winner}\n`);
    }
    const views = (await (await fetch(`${w.url}/v1/witness/checkpoints`)).json()) as {
      checkpoints: { origin: string; checkpoint: string }[];
    };
    expect(views.checkpoints).toHaveLength(1);
    expect(views.checkpoints[0]!.checkpoint).toContain(`\n${winner}\n`);
  });

  it('accepts a checkpoint signed by a second trusted key of the origin', async () => {
    const r = await addCheckpoint(w.url, body(0, [], await log.checkpoint(3)));
    const size = Number(r.text.trim());
    const next = await addCheckpoint(
      w.url,
      body(size, await rotated.proof(size, 12), await rotated.checkpoint(12)),
    );
    expect(next.status).toBe(200);
  });

  it('409 (not a size) for the same size with another root: an alert, and the log is forked (403)', async () => {
    const cp12 = await log.checkpoint(12);
    expect((await addCheckpoint(w.url, body(12, [], cp12))).status).toBe(200);
    const forked = await log.fork(11).grow(1, 'fork').checkpoint(12);
    const r = await addCheckpoint(w.url, body(12, [], forked));
    expect(r.status).toBe(409);
    expect(r.type).not.toContain('text/x.tlog.size');
    // Two signed checkpoints of size 12 with different roots are evidence: an alert is stored.
    const alerts = (await (await fetch(`${w.url}/v1/witness/alerts`)).json()) as {
      alerts: { id: string; kind: string; origin: string; checkpoints: string[] }[];
    };
    expect(alerts.alerts).toHaveLength(1);
    expect(alerts.alerts[0]!.kind).toBe('inconsistent');
    expect(alerts.alerts[0]!.checkpoints).toEqual([cp12, forked]);
    // From then on the log is not cosigned, even a checkpoint the witness cosigned before.
    const again = await addCheckpoint(w.url, body(12, [], cp12));
    expect(again.status).toBe(403);
    expect(again.text).toContain(`forked (alert ${alerts.alerts[0]!.id}`);
    expect(w.output()).toContain('auditlog witness: log example.com/log-a is forked');
  });

  it('keeps its state, alerts and forked state across a restart', async () => {
    const before = (await (await fetch(`${w.url}/v1/witness/checkpoints`)).json()) as {
      checkpoints: { checkpoint: string }[];
    };
    const size = /\n(\d+)\n/.exec(before.checkpoints[0]!.checkpoint)![1];
    expect(await w.stop()).toBe(0);
    w = await start();
    expect((await addCheckpoint(w.url, body(0, [], await log.checkpoint(3)))).status).toBe(403);
    const status = (await (await fetch(`${w.url}/v1/witness/status`)).json()) as {
      logs: { origin: string; size: string; fork: { alert: string } | null }[];
    };
    expect(status.logs.map((l) => [l.origin, l.size])).toEqual([['example.com/log-a', size]]);
    const alerts = (await (await fetch(`${w.url}/v1/witness/alerts`)).json()) as { alerts: { id: string }[] };
    expect(alerts.alerts).toHaveLength(1);
    expect(status.logs[0]!.fork?.alert).toBe(alerts.alerts[0]!.id);
  });
});
