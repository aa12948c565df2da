/**
 * kill -9 at the points where a crash matters (requires a build: the child runs from dist/).
 * After each, the next open / retention run recovers and nothing is lost.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseReceiptText } from '../../src/client/receipt.js';
import { parseVerifierKey } from '../../src/note/keys.js';
import { creationReceiptName, verifyArchive } from '../../src/records/archive.js';
import { runRetention } from '../../src/records/retention-job.js';
import { parseRecord } from '../../src/records/schema.js';
import type { Actor } from '../../src/records/service.js';
import { exampleRecord } from './fixtures.js';
import { archiveFiles, filesContaining, openLayer, tempDir } from './helpers.js';

const CHILD = path.resolve(import.meta.dirname, '../../dist/test/records/crash-child.js');
const DAY = 86_400_000;
const beta: Actor = { role: 'submitter', name: 'agent-b', tenant: 'tnt_beta' };
const auditor: Actor = { role: 'auditor', name: 'alice' };

function crashAt(dir: string, nowMs: number, point: string): void {
  const r = spawnSync(process.execPath, [CHILD, dir, new Date(nowMs).toISOString(), point], {
    encoding: 'utf8',
  });
  expect(r.signal, `${r.stdout}${r.stderr}`).toBe('SIGKILL');
}

describe('retention under kill -9', () => {
  it('killed after the bundle is durable but before the commit: bodies stay hot, next run redoes it', async () => {
    const dir = tempDir();
    let l = await openLayer(dir);
    const [r] = await l.svc.submit([parseRecord({ ...exampleRecord(), tenant_id: 'tnt_beta' })], beta);
    const t = l.clock.ms + 100 * DAY;
    await l.close();

    crashAt(dir, t, 'after-archive-written');
    const files = archiveFiles(path.join(dir, 'archive'));
    expect(files).toHaveLength(1); // durable, never committed

    l = await openLayer(dir);
    expect((await l.svc.read(BigInt(r!.index), auditor)).status).toBe('hot');
    const rep = await runRetention(l.svc, { nowMs: t });
    expect(rep.recovered).toEqual([`removed uncommitted ${files[0]}`]);
    expect(rep.archived).toHaveLength(1);
    expect((await l.svc.read(BigInt(r!.index), auditor)).status).toBe('archived');
    await l.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('killed after the commit, before the creation receipt is written: the next run writes it', async () => {
    const dir = tempDir();
    let l = await openLayer(dir);
    await l.svc.submit([parseRecord({ ...exampleRecord(), tenant_id: 'tnt_beta' })], beta);
    const t = l.clock.ms + 100 * DAY;
    await l.close();

    crashAt(dir, t, 'after-archive-committed');
    const [name] = archiveFiles(path.join(dir, 'archive'));
    expect(name).toMatch(/^arc-tnt_beta-\d{16}-\d{16}\.json$/);

    l = await openLayer(dir);
    const rep = await runRetention(l.svc, { nowMs: t });
    expect(rep.recovered).toEqual([`wrote the missing creation receipt of ${name}`]);
    expect(rep.archived).toEqual([]);
    const bytes = new Uint8Array(fs.readFileSync(path.join(dir, 'archive', name!)));
    const created = parseReceiptText(
      fs.readFileSync(path.join(dir, 'archive', creationReceiptName(name!)), 'utf8'),
    );
    expect(verifyArchive(bytes, parseVerifierKey(l.log.vkey), { created }).ok).toBe(true);
    await l.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('killed after a deletion is logged: the next run finishes it', async () => {
    const dir = tempDir();
    let l = await openLayer(dir);
    await l.svc.submit([parseRecord({ ...exampleRecord(), tenant_id: 'tnt_beta' })], beta);
    const t = l.clock.ms + 100 * DAY;
    const [arc] = (await runRetention(l.svc, { nowMs: t })).archived;
    await l.close();

    crashAt(dir, t + 400 * DAY, 'after-deletion-logged');
    expect(fs.existsSync(path.join(dir, 'archive', arc!.name))).toBe(true);

    l = await openLayer(dir);
    const rep = await runRetention(l.svc, { nowMs: t + 400 * DAY });
    expect(rep.recovered).toEqual([`finished deleting ${arc!.name}`]);
    expect(archiveFiles(path.join(dir, 'archive'))).toEqual([]);
    await l.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });
});

describe('erasure interrupted before its compaction', () => {
  it('is compacted at the next start-up', async () => {
    const dir = tempDir();
    let l = await openLayer(dir);
    const [r] = await l.svc.submit([parseRecord(exampleRecord())], { role: 'submitter', name: 'a' });
    const st = l.svc.store;
    const body = (await st.get(st.bodies, r!.record_id))!;
    // The erasure batch as committed, with no compaction after it (the process died there).
    await st.write([st.compactionDue(), st.del(st.bodies, r!.record_id)]);
    await l.close();
    expect(filesContaining(dir, body.subarray(13, 45)).length).toBeGreaterThan(0);
    l = await openLayer(dir);
    await l.close();
    expect(filesContaining(dir, body.subarray(13, 45))).toEqual([]);
    fs.rmSync(dir, { recursive: true, force: true });
  });
});
