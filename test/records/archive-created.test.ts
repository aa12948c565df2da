/**
 * Creation receipts (spec/retention.md): each committed bundle gets, beside it, a receipt of its
 * archive_created log record, and verification with it binds the file to the bytes the log
 * recorded, so that a copy with a record left out or changed fails. Rebuilt when lost, removed
 * with its bundle. The CLI runs from dist (requires a build).
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { parseReceiptText, type Receipt } from '../../src/client/receipt.js';
import { verifyReceipt } from '../../src/client/verify.js';
import { parseVerifierKey } from '../../src/note/keys.js';
import { type ArchiveBundle, creationReceiptName, verifyArchive } from '../../src/records/archive.js';
import { runRetention } from '../../src/records/retention-job.js';
import { parseRecord } from '../../src/records/schema.js';
import type { Actor } from '../../src/records/service.js';
import { BIN } from '../helpers/server.js';
import { exampleRecord } from './fixtures.js';
import { archiveFiles, openTestLayer, tempDir } from './helpers.js';

const DAY = 86_400_000;
const acme: Actor = { role: 'submitter', name: 'agent-a', tenant: 'tnt_acme' };
const beta: Actor = { role: 'submitter', name: 'agent-b', tenant: 'tnt_beta' };

const layer = () => openTestLayer();

const rec = (tenant: string, marker: string) =>
  parseRecord({ ...exampleRecord(), tenant_id: tenant, input: { user_message: `msg ${marker}` } });

function cli(...args: string[]): { code: number | null; out: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8' });
  return { code: r.status, out: `${r.stdout}${r.stderr}` };
}

/** Three records of tnt_beta archived in one bundle; its bytes, creation receipt and key. */
async function archived() {
  const l = await layer();
  await l.svc.submit([rec('tnt_beta', '1'), rec('tnt_beta', '2'), rec('tnt_beta', '3')], beta);
  const report = await runRetention(l.svc, { nowMs: l.clock.ms + 100 * DAY });
  const name = report.archived[0]!.name;
  const archiveDir = path.join(l.dir, 'archive');
  const bytes = new Uint8Array(fs.readFileSync(path.join(archiveDir, name)));
  const receiptFile = path.join(archiveDir, creationReceiptName(name));
  const created = parseReceiptText(fs.readFileSync(receiptFile, 'utf8'));
  const vkey = parseVerifierKey(l.log.vkey);
  const original = () => JSON.parse(new TextDecoder().decode(bytes)) as ArchiveBundle;
  const encode = (b: ArchiveBundle) => new TextEncoder().encode(JSON.stringify(b));
  return { ...l, name, archiveDir, bytes, receiptFile, created, vkey, original, encode };
}

describe('creation receipts', () => {
  it('a run writes one beside each bundle (0600); with it the bundle verifies as the file the log recorded', async () => {
    const { svc, name, bytes, receiptFile, created, vkey } = await archived();
    expect(fs.statSync(receiptFile).mode & 0o777).toBe(0o600);
    // An ordinary receipt: it verifies on its own, and names the record the registry row names.
    expect(() => verifyReceipt(created, vkey)).not.toThrow();
    const row = (await svc.archives()).find((a) => a.name === name)!;
    expect(created.recordId).toBe(row.created_record_id);
    expect(verifyArchive(bytes, vkey, { created })).toEqual({
      ok: true,
      count: 3,
      treeSize: expect.any(BigInt),
      createdAt: created.index,
    });
  });

  it('a copy with a record left out, or a value changed, verifies without it and fails with it', async () => {
    const { bytes, created, vkey, original, encode } = await archived();
    const dropped = original();
    dropped.records.splice(1, 1);
    dropped.count = 2;
    // The gap this closes: every record left is in the log, so the records alone verify.
    expect(verifyArchive(encode(dropped), vkey).ok).toBe(true);
    const v = verifyArchive(encode(dropped), vkey, { created });
    expect(v.ok).toBe(false);
    expect(v.ok === false && v.reason).toMatch(/^creation receipt: the bundle's SHA-256 [0-9a-f]{64} is not/);

    const later = original();
    later.records[0]!.retain_until = '2099-01-01T00:00:00.000Z';
    later.retain_until = '2099-01-01T00:00:00.000Z';
    expect(verifyArchive(encode(later), vkey).ok).toBe(true);
    expect(verifyArchive(encode(later), vkey, { created }).ok).toBe(false);
    // Byte for byte: even the same JSON re-serialized differently is another file.
    const spaced = new TextEncoder().encode(JSON.stringify(original(), null, 1));
    expect(verifyArchive(spaced, vkey, { created }).ok).toBe(false);
    expect(verifyArchive(bytes, vkey, { created }).ok).toBe(true);
  });

  it("refuses another bundle's receipt, another record's, one without its entry, or one not signed by the log", async () => {
    const l = await layer();
    await l.svc.submit([rec('tnt_acme', 'a')], acme);
    const [plain] = await l.svc.submit([rec('tnt_beta', 'b1')], beta);
    await l.svc.submit([rec('tnt_beta', 'b2')], beta);
    const report = await runRetention(l.svc, { nowMs: l.clock.ms + 100 * DAY, maxPerBundle: 1 });
    expect(report.archived.map((a) => a.tenant_id)).toEqual(['tnt_acme', 'tnt_beta', 'tnt_beta']);
    const dir = path.join(l.dir, 'archive');
    const [acmeName, beta1, beta2] = report.archived.map((a) => a.name) as [string, string, string];
    const bytesOf = (n: string) => new Uint8Array(fs.readFileSync(path.join(dir, n)));
    const receiptOf = (n: string) =>
      parseReceiptText(fs.readFileSync(path.join(dir, creationReceiptName(n)), 'utf8'));
    const vkey = parseVerifierKey(l.log.vkey);
    const reason = (n: string, created: Receipt) => {
      const v = verifyArchive(bytesOf(n), vkey, { created });
      return v.ok ? 'ok' : v.reason;
    };
    for (const n of [acmeName, beta1, beta2]) expect(reason(n, receiptOf(n))).toBe('ok');
    expect(reason(beta1, receiptOf(acmeName))).toBe('creation receipt: entry: a record of another tenant');
    expect(reason(beta1, receiptOf(beta2))).toBe(`creation receipt: entry: about ${beta2}, not ${beta1}`);
    // A submitted record's receipt (with its entry) is in the log too, but is no archive_created.
    expect(reason(beta1, parseReceiptText(JSON.stringify(plain)))).toMatch(
      /^creation receipt: entry: a \w+ \w+ record, not the log's archive_created$/,
    );
    const { entry: _e, ...noEntry } = receiptOf(beta1);
    expect(reason(beta1, noEntry)).toBe('creation receipt: no entry: the archive_created leaf is needed');
    const forged = receiptOf(beta1);
    forged.checkpoint = forged.checkpoint.replace(
      /\n\n— (\S+) (\S)/,
      (_m, k, c) => `\n\n— ${k} ${c === 'A' ? 'B' : 'A'}`,
    );
    expect(reason(beta1, forged)).toMatch(/^creation receipt: (BAD_SIGNATURE|BAD_NOTE|UNKNOWN_KEY)/);
    const moved = receiptOf(beta1);
    moved.entry = receiptOf(beta2).entry!;
    expect(reason(beta1, moved)).toBe(
      'creation receipt: LEAF_MISMATCH: the entry does not hash to the receipt leaf hash',
    );
  });

  it('a lost one is rebuilt by the next run; a stray one is removed; deletion removes it with its bundle', async () => {
    const { svc, clock, name, archiveDir, bytes, receiptFile, vkey } = await archived();
    fs.rmSync(receiptFile);
    const stray = path.join(
      archiveDir,
      creationReceiptName('arc-tnt_beta-0000000000000007-0000000000000009.json'),
    );
    fs.writeFileSync(stray, '{}');
    const r = await runRetention(svc, { nowMs: clock.ms + 101 * DAY });
    expect(r.recovered.sort()).toEqual(
      [`wrote the missing creation receipt of ${name}`, `removed uncommitted ${path.basename(stray)}`].sort(),
    );
    expect(fs.existsSync(stray)).toBe(false);
    // The temporary file of a write a crash cut short.
    const leftover = path.join(archiveDir, `.${creationReceiptName(name)}.tmp`);
    fs.writeFileSync(leftover, '{"origin"');
    const again = await runRetention(svc, { nowMs: clock.ms + 101 * DAY });
    expect(again.recovered).toEqual([`removed uncommitted ${path.basename(leftover)}`]);
    const rebuilt = parseReceiptText(fs.readFileSync(receiptFile, 'utf8'));
    expect(verifyArchive(bytes, vkey, { created: rebuilt }).ok).toBe(true);

    const d = await runRetention(svc, { nowMs: clock.ms + 500 * DAY });
    expect(d.deleted.map((x) => x.name)).toEqual([name]);
    expect(archiveFiles(archiveDir)).toEqual([]);
  });

  it('auditlog archive verify finds it beside the bundle, says whether it was checked, and fails a trimmed copy', async () => {
    const { name, archiveDir, receiptFile, log, original } = await archived();
    const vkey = log.vkey;
    const file = path.join(archiveDir, name);
    const ok = cli('archive', 'verify', file, '--vkey', vkey);
    expect(ok.code, ok.out).toBe(0);
    expect(ok.out).toMatch(
      /^ok .*: 3 records verified against tree size \d+; the file is the one its archive_created record \(index \d+\) logged\n$/,
    );

    const elsewhere = tempDir();
    onTestFinished(() => fs.rmSync(elsewhere, { recursive: true, force: true }));
    const alone = path.join(elsewhere, name);
    fs.copyFileSync(file, alone);
    const unchecked = cli('archive', 'verify', alone, '--vkey', vkey);
    expect(unchecked.code, unchecked.out).toBe(0);
    expect(unchecked.out).toContain(
      'not checked against its archive_created record (no creation receipt: pass --created)',
    );
    expect(cli('archive', 'verify', alone, '--vkey', vkey, '--created', receiptFile).code).toBe(0);

    // A trimmed copy beside a copy of its receipt: found, checked, and failed.
    const trimmed = original();
    trimmed.records.pop();
    trimmed.count = 2;
    trimmed.last_index = trimmed.records[1]!.index;
    fs.writeFileSync(alone, JSON.stringify(trimmed));
    expect(cli('archive', 'verify', alone, '--vkey', vkey).out).toContain('not checked');
    fs.copyFileSync(receiptFile, path.join(elsewhere, creationReceiptName(name)));
    const failed = cli('archive', 'verify', alone, '--vkey', vkey);
    expect(failed.code).toBe(1);
    expect(failed.out).toMatch(/^FAIL bundle: creation receipt: /);

    const missing = cli(
      'archive',
      'verify',
      file,
      '--vkey',
      vkey,
      '--created',
      path.join(elsewhere, 'none.json'),
    );
    expect(missing.code).toBe(1);
    expect(missing.out).toContain('none.json: no such file');
    fs.writeFileSync(path.join(elsewhere, 'bad.json'), '{"origin": 1}');
    const bad = cli('archive', 'verify', file, '--vkey', vkey, '--created', path.join(elsewhere, 'bad.json'));
    expect(bad.code).toBe(1);
    expect(bad.out.split('\n')).toHaveLength(2);
    expect(cli('archive', 'verify', file, '--vkey', vkey, '--created=').code).toBe(2);
  });
});
