/**
 * The archive directory's owner mark (spec/retention.md, "The archive directory"): a log's
 * retention run never takes another log's bundles, in a directory they share, for leftovers
 * of a crash and removes them.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { ARCHIVE_OWNER_FILE } from '../../src/records/archive-dir.js';
import { runRetention } from '../../src/records/retention-job.js';
import { parseRecord } from '../../src/records/schema.js';
import type { Actor } from '../../src/records/service.js';
import { exampleRecord } from './fixtures.js';
import { errorCode, openTestLayer, tempDir } from './helpers.js';

const DAY = 86_400_000;
const beta: Actor = { role: 'submitter', name: 'agent-b', tenant: 'tnt_beta' };
const auditor: Actor = { role: 'auditor', name: 'alice', tenant: 'tnt_beta' };

describe('a shared archive directory', () => {
  it("is refused by the second log, whose run then removes none of the first log's bundles", async () => {
    const shared = path.join(tempDir(), 'shared-archive');
    onTestFinished(() => fs.rmSync(path.dirname(shared), { recursive: true, force: true }));
    const a = await openTestLayer({ archive_dir: shared });
    const b = await openTestLayer({ archive_dir: shared });
    const [ra] = await a.svc.submit([parseRecord({ ...exampleRecord(), tenant_id: 'tnt_beta' })], beta);
    await b.svc.submit([parseRecord({ ...exampleRecord(), tenant_id: 'tnt_beta' })], beta);
    const t = a.clock.ms + 100 * DAY;
    const archived = (await runRetention(a.svc, { nowMs: t })).archived;
    expect(archived).toHaveLength(1);
    expect(fs.readFileSync(path.join(shared, ARCHIVE_OWNER_FILE), 'utf8')).toBe(`${a.log.vkey}\n`);
    const files = fs.readdirSync(shared).sort();

    // The same tenant and index range: B's bundle would even have A's file name.
    await expect(runRetention(b.svc, { nowMs: t })).rejects.toThrow(/belongs to another log/);
    expect(await errorCode(runRetention(b.svc, { nowMs: t }))).toBe('STORAGE');
    expect(fs.readdirSync(shared).sort()).toEqual(files);
    expect((await a.svc.read(BigInt(ra!.index), auditor)).status).toBe('archived');
  });

  it('unmarked, is claimed by the log whose bundles it holds, and refused by any other', async () => {
    const shared = path.join(tempDir(), 'legacy-archive');
    onTestFinished(() => fs.rmSync(path.dirname(shared), { recursive: true, force: true }));
    const a = await openTestLayer({ archive_dir: shared });
    const b = await openTestLayer({ archive_dir: shared });
    await a.svc.submit([parseRecord({ ...exampleRecord(), tenant_id: 'tnt_beta' })], beta);
    const t = a.clock.ms + 100 * DAY;
    await runRetention(a.svc, { nowMs: t });
    // As a directory written before the mark existed.
    fs.rmSync(path.join(shared, ARCHIVE_OWNER_FILE));
    const files = fs.readdirSync(shared).sort();
    await expect(runRetention(b.svc, { nowMs: t })).rejects.toThrow(/did not write/);
    expect(fs.readdirSync(shared).sort()).toEqual(files);
    expect((await runRetention(a.svc, { nowMs: t })).recovered).toEqual([]);
    expect(fs.readFileSync(path.join(shared, ARCHIVE_OWNER_FILE), 'utf8')).toBe(`${a.log.vkey}\n`);
  });
});
