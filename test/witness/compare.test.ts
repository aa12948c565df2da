/**
 * Comparing views with a real log process: a witness (in process, real LevelDB) holding the log's
 * checkpoint is shown forged checkpoints signed with the log's own key (read from its data
 * directory, as a compromised operator would). One that is not a prefix of the tree the log's
 * tiles show (and that rebuilds the log's current checkpoint) is a fork; one larger than the log
 * serves decides nothing yet; a genuine older checkpoint is consistent.
 */
import { cpSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signCheckpoint } from '../../src/note/checkpoint.js';
import { decodeBase64 } from '../../src/note/encoding.js';
import { ed25519Signer } from '../../src/note/signer.js';
import { parseVerifierKey } from '../../src/note/keys.js';
import { readKeyFile } from '../../src/storage/data-dir.js';
import { Witness } from '../../src/witness/witness.js';
import { makeToken, startServer, submit, type TestServer, tempDir } from '../helpers/server.js';
import { body, eventually } from './http.js';

const enc = (s: string) => new TextEncoder().encode(s);

describe('Witness.checkView against a real log', () => {
  let log: TestServer;
  let w: Witness;
  let early: string;
  let backup: string;
  let token: string;
  const lines: string[] = [];

  beforeAll(async () => {
    log = await startServer({ args: ['--origin', 'example.com/compare'] });
    token = await makeToken(log, 'submitter');
    expect((await submit(log.url, token, enc('e0'))).status).toBe(200);
    expect((await submit(log.url, token, enc('e1'))).status).toBe(200);
    early = await (await fetch(`${log.url}/checkpoint`)).text();
    expect(await log.stop()).toBe(0);
    backup = join(tempDir('compare-backup-'), 'log');
    cpSync(log.dir, backup, { recursive: true });
    log = await startServer({ dir: log.dir });
    expect((await submit(log.url, token, enc('e2'))).status).toBe(200);
    w = await Witness.open({
      dir: join(tempDir('compare-'), 'w'),
      name: 'witness.example/c',
      logs: [{ key: parseVerifierKey(log.vkey), url: log.url }],
      stderr: { write: (s: string) => lines.push(s) },
    });
    await w.poll(w.witnessedLogs[0]!);
    expect(w.view('example.com/compare')?.checkpoint.size).toBe(3n);
  });
  afterAll(async () => {
    await w?.close();
    await log?.stop();
  });

  const forge = async (size: bigint, fill: number) => {
    const key = readKeyFile(log.dir);
    return signCheckpoint(
      { origin: key.name, size, root: new Uint8Array(32).fill(fill), extensions: [] },
      ed25519Signer(key.name, key.seed),
    );
  };

  it('a genuine older checkpoint is consistent', async () => {
    expect(await w.checkView('example.com/compare', early, 'http://peer.example')).toBe('consistent');
    expect(await w.alerts.list()).toEqual([]);
  });

  it('a larger checkpoint than the log serves decides nothing yet (a lagging mirror looks the same)', async () => {
    const forged = await forge(7n, 1);
    expect(await w.checkView('example.com/compare', forged, 'http://peer.example')).toBe('unknown');
    expect(await w.alerts.list()).toEqual([]);
  });

  it('a smaller checkpoint that is not a prefix of the tree the tiles show is a fork, with the proof built', async () => {
    const forged = await forge(2n, 2);
    expect(await w.checkView('example.com/compare', forged, 'http://peer.example')).toBe('alert');
    const alerts = await w.alerts.list();
    expect(alerts).toHaveLength(1);
    expect(alerts[0]!.kind).toBe('inconsistent');
    // The log's current checkpoint, whose tiles gave the proof, against the forged one.
    expect(alerts[0]!.checkpoints[0]).toContain('\n3\n');
    expect(alerts[0]!.checkpoints[1]).toBe(forged);
    expect(alerts[0]!.proof?.old_size).toBe('2');
    expect(alerts[0]!.proof?.new_size).toBe('3');
    expect(alerts[0]!.proof?.hashes.length).toBeGreaterThan(0);
    expect(alerts[0]!.proof?.error).toBeTruthy();
  });

  it('the same evidence seen again is not raised twice', async () => {
    const forged = await forge(2n, 2);
    await w.checkView('example.com/compare', forged, 'http://other-peer.example');
    expect(await w.alerts.list()).toHaveLength(1);
  });

  it('a checkpoint not signed by the log key is ignored, not alerted', async () => {
    const impostor = ed25519Signer('example.com/compare', new Uint8Array(32).fill(9));
    const note = await signCheckpoint(
      { origin: 'example.com/compare', size: 9n, root: new Uint8Array(32), extensions: [] },
      impostor,
    );
    expect(await w.checkView('example.com/compare', note, 'http://peer.example')).toBe('unknown');
    expect(await w.alerts.list()).toHaveLength(1);
    expect(lines.join('')).toContain('ignored');
  });

  it('the first fork alert puts the log in the forked state: polled, never cosigned again', async () => {
    const [first] = await w.alerts.list();
    expect(w.fork('example.com/compare')?.alert).toBe(first!.id);
    expect(lines.join('')).toContain('auditlog witness: log example.com/compare is forked');
    expect((await submit(log.url, token, enc('e3'))).status).toBe(200);
    await w.poll(w.witnessedLogs[0]!);
    expect(w.view('example.com/compare')?.checkpoint.size).toBe(3n);
    const genuine = await (await fetch(`${log.url}/checkpoint`)).text();
    expect(genuine).toContain('\n4\n');
    expect((await w.addCheckpoint(body(0, [], genuine))).status).toBe(403);
  });

  it('a 422 is investigated with the log: a genuine checkpoint is not a fork, a forged one is', async () => {
    // A second witness, not forked, at the log's size 4.
    const w2 = await Witness.open({
      dir: join(tempDir('compare-'), 'w2'),
      name: 'witness.example/c2',
      logs: [{ key: parseVerifierKey(log.vkey), url: log.url }],
      stderr: { write: (s: string) => lines.push(s) },
    });
    try {
      await w2.poll(w2.witnessedLogs[0]!);
      expect(w2.view('example.com/compare')?.checkpoint.size).toBe(4n);
      expect((await submit(log.url, token, enc('e4'))).status).toBe(200);
      const genuine = await (await fetch(`${log.url}/checkpoint`)).text();
      const junk = [new Uint8Array(32).fill(5)];
      expect((await w2.addCheckpoint(body(4, junk, genuine))).status).toBe(422);
      // Signed for size 5 with another root than the log's size-5 tree.
      const forged = await forge(5n, 4);
      expect((await w2.addCheckpoint(body(4, junk, forged))).status).toBe(422);
      const alerts = await eventually(
        async () => {
          // 422 until the investigation concludes; 403 once the fork is recorded.
          expect([422, 403]).toContain((await w2.addCheckpoint(body(4, junk, forged))).status);
          const list = await w2.alerts.list();
          return list.length > 0 ? list : undefined;
        },
        10_000,
        'an alert about the forged checkpoint',
      );
      expect(alerts).toHaveLength(1);
      expect(alerts[0]?.checkpoints[1]).toBe(forged);
      expect(alerts[0]?.sources[1]).toBe('add-checkpoint');
      // Found through add-checkpoint, the fork stops cosigning too, even with a valid proof.
      expect(w2.fork('example.com/compare')?.alert).toBe(alerts[0]!.id);
      const res = await fetch(`${log.url}/ct/v1/get-sth-consistency?first=4&second=5`);
      const proof = ((await res.json()) as { consistency: string[] }).consistency.map((h) => decodeBase64(h));
      expect((await w2.addCheckpoint(body(4, proof, genuine))).status).toBe(403);
      expect(w2.view('example.com/compare')?.checkpoint.size).toBe(4n);
    } finally {
      await w2.close();
    }
  });

  it('a poll of a log serving an older tree raises a rollback alert', async () => {
    // The same log restarted from a backup taken at size 2.
    const old = await startServer({ dir: backup });
    try {
      await w.poll({ key: parseVerifierKey(log.vkey), url: old.url });
      const alerts = await w.alerts.list();
      expect(alerts.at(-1)?.kind).toBe('rollback');
      expect(alerts.at(-1)?.checkpoints[1]).toContain('\n2\n');
      expect(w.view('example.com/compare')?.checkpoint.size).toBe(3n);
    } finally {
      await old.stop();
    }
  });
});
