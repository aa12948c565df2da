/**
 * The archive directory gets the data directory's privacy rule and more (spec/retention.md,
 * "The archive directory"): one that others can write, a symlink, or another user's is refused
 * before anything in it is touched or written; one others can only read is tightened to 0700
 * when it holds nothing but archive files. The temporary file of an archive file is created
 * exclusively, never through a symlink.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { AuditlogError } from '../../src/errors.js';
import { archiveName, writeArchiveFile } from '../../src/records/archive.js';
import { ARCHIVE_OWNER_FILE } from '../../src/records/archive-dir.js';
import { runRetention } from '../../src/records/retention-job.js';
import { parseRecord } from '../../src/records/schema.js';
import { captureStderr } from '../helpers/stderr.js';
import { exampleRecord } from './fixtures.js';
import { openTestLayer, tempDir } from './helpers.js';

const DAY = 86_400_000;
const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

/** A fresh directory of the test's own, made with `mode` (whatever the umask). */
function dirWithMode(mode: number): string {
  const parent = tempDir();
  dirs.push(parent);
  const dir = path.join(parent, 'shared');
  fs.mkdirSync(dir);
  fs.chmodSync(dir, mode);
  return dir;
}

/** A layer archiving to `archiveDir`, one record submitted, its hot period over by `nowMs`. */
async function layerWithDueRecord(archiveDir: string) {
  const layer = await openTestLayer({ hot_period: 'P1D', archive_dir: archiveDir });
  const [r] = await layer.svc.submit([parseRecord(exampleRecord())], { role: 'submitter', name: 's' });
  return { ...layer, recordId: r!.record_id, nowMs: layer.clock.ms + 3 * DAY };
}

/** The error `p` rejects with (fails the test if it resolves). */
async function rejection(p: Promise<unknown>): Promise<AuditlogError> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(AuditlogError);
  return e as AuditlogError;
}

const mode = (p: string) => (fs.statSync(p).mode & 0o777).toString(8);

describe('the archive directory', () => {
  it('is refused when others can write it (0777): the run fails and touches nothing there', async () => {
    const dir = dirWithMode(0o777);
    // As another user could have: a file at the temporary name of the bundle the run would write.
    const planted = `.${archiveName('tnt_acme', 0n, 0n)}.tmp`;
    fs.writeFileSync(path.join(dir, planted), '');
    fs.chmodSync(path.join(dir, planted), 0o666);
    const { svc, nowMs, recordId } = await layerWithDueRecord(dir);
    const e = await rejection(runRetention(svc, { nowMs }));
    expect(e.code).toBe('FORBIDDEN');
    expect(e.message).toContain(`archive directory ${dir} can be written by others (mode 777)`);
    // Neither written (no bundle, no owner mark) nor cleaned up by the recovery.
    expect(fs.readdirSync(dir)).toEqual([planted]);
    expect(mode(dir)).toBe('777'); // left as it is
    // The record is still hot: nothing left the store.
    expect((await svc.store.getMeta(recordId))?.state).toBe('hot');
    expect(await svc.archives()).toEqual([]);
  });

  it('is refused when it is a symlink, or holds files that are not archive files', async () => {
    const real = dirWithMode(0o700);
    const link = path.join(path.dirname(real), 'link');
    fs.symlinkSync(real, link);
    const a = await layerWithDueRecord(link);
    expect((await rejection(runRetention(a.svc, { nowMs: a.nowMs }))).message).toContain(
      `archive directory ${link} is a symbolic link`,
    );
    expect(fs.readdirSync(real)).toEqual([]);

    const readable = dirWithMode(0o755);
    fs.writeFileSync(path.join(readable, 'notes.txt'), 'not auditlog');
    const b = await layerWithDueRecord(readable);
    expect((await rejection(runRetention(b.svc, { nowMs: b.nowMs }))).message).toContain(
      "holds files that are not auditlog's (notes.txt)",
    );
    expect(fs.readdirSync(readable)).toEqual(['notes.txt']);
    expect(mode(readable)).toBe('755');
  });

  it.runIf(process.getuid?.() === 0)('is refused when it belongs to another user', async () => {
    const dir = dirWithMode(0o700);
    fs.chownSync(dir, 4242, 4242);
    const { svc, nowMs } = await layerWithDueRecord(dir);
    expect((await rejection(runRetention(svc, { nowMs }))).message).toContain(
      'belongs to another user (uid 4242)',
    );
    expect(fs.readdirSync(dir)).toEqual([]);
  });

  it('is tightened to 0700 (with a line on stderr) when others can only read it and it holds only archive files', async () => {
    const dir = dirWithMode(0o755);
    const { svc, nowMs } = await layerWithDueRecord(dir);
    const { value: report, written } = await captureStderr(() => runRetention(svc, { nowMs }));
    expect(report.archived).toHaveLength(1);
    expect(written).toContain(`auditlog: ${dir} had mode 755; changed to 700`);
    expect(mode(dir)).toBe('700');
    expect(fs.readdirSync(dir).sort()).toEqual([
      ARCHIVE_OWNER_FILE,
      report.archived[0]!.name.replace(/\.json$/, '.created.json'),
      report.archived[0]!.name,
    ]);
  });
});

describe('writing an archive file', () => {
  it('is refused in a directory others can write, writing nothing', async () => {
    const dir = dirWithMode(0o777);
    let err: unknown;
    try {
      writeArchiveFile(dir, archiveName('t1', 0n, 0n), new TextEncoder().encode('{}'));
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(AuditlogError);
    expect((err as AuditlogError).code).toBe('FORBIDDEN');
    expect(fs.readdirSync(dir)).toEqual([]);
  });
});

describe('the temporary file of an archive file', () => {
  it('is never followed when a symlink is planted at its name', () => {
    const dir = dirWithMode(0o700);
    const victim = path.join(path.dirname(dir), 'victim');
    fs.writeFileSync(victim, 'untouched');
    const name = archiveName('t1', 0n, 0n);
    fs.symlinkSync(victim, path.join(dir, `.${name}.tmp`));
    writeArchiveFile(dir, name, new TextEncoder().encode('{"bundle":1}'));
    expect(fs.readFileSync(victim, 'utf8')).toBe('untouched');
    const written = path.join(dir, name);
    expect(fs.lstatSync(written).isFile()).toBe(true);
    expect(fs.readFileSync(written, 'utf8')).toBe('{"bundle":1}');
    expect(mode(written)).toBe('600');
    expect(fs.readdirSync(dir)).toEqual([name]);
  });

  it('left by a crash is replaced, and the file is 0600 whatever the leftover was', () => {
    const dir = dirWithMode(0o700);
    const name = archiveName('t1', 0n, 0n);
    const tmp = path.join(dir, `.${name}.tmp`);
    fs.writeFileSync(tmp, 'a longer leftover of an earlier attempt');
    fs.chmodSync(tmp, 0o666);
    writeArchiveFile(dir, name, new TextEncoder().encode('new'));
    expect(fs.readFileSync(path.join(dir, name), 'utf8')).toBe('new');
    expect(mode(path.join(dir, name))).toBe('600');
  });
});
