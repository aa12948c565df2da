/**
 * Alerts are bounded in what is stored and served: a log serving checkpoints with large extension
 * lines and bad signatures raises an alert per poll, each citing a note of ~127 KiB. What is
 * stored keeps such a note as a prefix with its length and SHA-256 (the id still covers the
 * whole note), and GET /v1/witness/alerts answers a page at a time, capped in count and bytes,
 * saying where the next page starts.
 */
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { signCheckpoint } from '../../src/note/checkpoint.js';
import { parseVerifierKey } from '../../src/note/keys.js';
import {
  type Alert,
  alertId,
  boundAlert,
  MAX_STORED_NOTE_BYTES,
  NOTE_PREFIX_BYTES,
} from '../../src/witness/alerts.js';
import { witnessApp } from '../../src/witness/server.js';
import { Witness } from '../../src/witness/witness.js';
import { tempDir } from '../helpers/server.js';
import { FakeLog, serveLog } from './fake-log.js';

interface Page {
  alerts: Alert[];
  next: string;
  more: boolean;
}

/** A signed checkpoint with one extension line of ~127 KB, its signature then zeroed past the key ID. */
async function badBigNote(log: FakeLog, i: number): Promise<string> {
  const note = await signCheckpoint(
    { origin: log.origin, size: 5n, root: new Uint8Array(32), extensions: [`x${i}${'a'.repeat(127_000)}`] },
    log.signer,
  );
  return note.replace(/ ([A-Za-z0-9+/=]+)\n$/, (_m, b64: string) => {
    const b = Buffer.from(b64, 'base64');
    b.fill(0, 4);
    return ` ${b.toString('base64')}\n`;
  });
}

describe('bounded alerts', () => {
  const closers: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const c of closers.splice(0).reverse()) await c();
  });

  it('stores large notes as prefix, length and SHA-256, and serves alerts in bounded pages', async () => {
    const log = FakeLog.create('example.com/big-bad');
    const served: string[] = [];
    const srv = await serveLog(log, async () => {
      const n = await badBigNote(log, served.length);
      served.push(n);
      return n;
    });
    closers.push(srv.close);
    const lines: string[] = [];
    const w = await Witness.open({
      dir: join(tempDir('alerts-bounded-'), 'w'),
      name: 'witness.example/b',
      logs: [{ key: parseVerifierKey(log.vkey), url: srv.url }],
      stderr: { write: (s: string) => lines.push(s) },
    });
    closers.push(() => w.close());
    const N = 25;
    for (let i = 0; i < N; i++) await w.poll(w.witnessedLogs[0]!);
    expect(served).toHaveLength(N);

    // Each alert line on stderr is bounded too.
    const alertLines = lines.filter((l) => l.startsWith('ALERT '));
    expect(alertLines).toHaveLength(N);
    for (const l of alertLines) expect(l.length).toBeLessThan(8 * 1024);

    const app = witnessApp(w);
    const get = async (query: string) => {
      const res = await app.request(`/v1/witness/alerts${query}`);
      const text = await res.text();
      return { status: res.status, text };
    };
    // The first page, unasked: everything (25 alerts < the default 100), a few KiB in all.
    const whole = await get('');
    expect(whole.status).toBe(200);
    expect(whole.text.length).toBeLessThan(N * 4 * 1024);
    const all = JSON.parse(whole.text) as Page;
    expect(all.alerts).toHaveLength(N);
    expect(all.next).toBe(String(N));
    expect(all.more).toBe(false);
    all.alerts.forEach((a, i) => {
      const note = served[i]!;
      const bytes = Buffer.from(note, 'utf8');
      expect(bytes.length).toBeGreaterThan(MAX_STORED_NOTE_BYTES);
      expect(a.kind).toBe('bad-signature');
      // The id is that of the whole evidence: the same note seen again is the same alert.
      expect(a.id).toBe(alertId({ kind: 'bad-signature', origin: log.origin, checkpoints: [note] }));
      expect(a.truncated).toEqual([
        { index: 0, bytes: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex') },
      ]);
      expect(note.startsWith(a.checkpoints[0]!)).toBe(true);
      expect(Buffer.byteLength(a.checkpoints[0]!)).toBeLessThanOrEqual(NOTE_PREFIX_BYTES);
      expect(a.checkpoints[0]!.startsWith(`${log.origin}\n5\n`)).toBe(true);
    });

    // Pages of 10: followed by `next`, every alert once, in order.
    const seen: string[] = [];
    let from = '0';
    for (;;) {
      const page = JSON.parse((await get(`?from=${from}&limit=10`)).text) as Page;
      expect(page.alerts.length).toBeLessThanOrEqual(10);
      seen.push(...page.alerts.map((a) => a.id));
      from = page.next;
      if (!page.more) break;
    }
    expect(seen).toEqual(all.alerts.map((a) => a.id));
    expect(from).toBe(String(N));
    // Asked from past the end: nothing, and the same place to ask from.
    expect(JSON.parse((await get('?from=25')).text)).toEqual({ alerts: [], next: '25', more: false });

    // The byte cap: a page stops before the alert that would cross it, but holds at least one.
    const one = Buffer.byteLength(JSON.stringify(all.alerts[0]));
    const capped = await w.alerts.page(0n, 1000, one * 3 + 1);
    expect(capped.alerts.length).toBeGreaterThanOrEqual(1);
    expect(capped.alerts.length).toBeLessThan(5);
    expect(capped.more).toBe(true);
    expect(capped.next).toBe(BigInt(capped.alerts.length));
    expect((await w.alerts.page(0n, 1000, 1)).alerts).toHaveLength(1);

    // Strict parameters.
    for (const q of [
      '?limit=0',
      '?limit=1001',
      '?limit=x',
      '?from=01',
      '?from=-1',
      '?from=18446744073709551616',
    ]) {
      expect((await get(q)).status, q).toBe(400);
    }
  });
});

describe('boundAlert', () => {
  it('cuts a long detail and proof error at a character boundary, and says so', () => {
    const long = `${'a'.repeat(4095)}\u00e9${'b'.repeat(10_000)}`; // é straddles byte 4096
    const a = boundAlert({
      id: 'x',
      kind: 'inconsistent',
      origin: 'o',
      checkpoints: ['small\n\n— o AAAA\n'],
      sources: ['u'],
      proof: { old_size: '1', new_size: '2', hashes: [], error: long },
      detail: long,
      seen_at: '2025-01-01T00:00:00.000Z',
      seen_by: 'w',
    });
    for (const s of [a.detail, a.proof!.error]) {
      expect(s).toBe(`${'a'.repeat(4095)}... (truncated from ${Buffer.byteLength(long)} bytes)`);
    }
    expect(a.checkpoints).toEqual(['small\n\n— o AAAA\n']);
    expect(a.truncated).toBeUndefined();
    expect(a.id).toBe('x');
  });
});
