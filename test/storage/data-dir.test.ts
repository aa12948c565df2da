import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { AuditlogError } from '../../src/errors.js';
import { Log } from '../../src/sequencer/log.js';
import { parseRecord } from '../../src/records/schema.js';
import { ensurePrivateDir, OWN_NAMES } from '../../src/storage/data-dir.js';
import { openWitnessKey } from '../../src/witness/keyfile.js';
import { tempDir } from '../helpers/server.js';
import { exampleRecord } from '../records/fixtures.js';
import { openLayer } from '../records/helpers.js';
import { captureStderr } from '../helpers/stderr.js';

const modeOf = (p: string) => fs.statSync(p).mode & 0o777;

/** What is written to stderr while `fn` runs. */
const stderrOf = async (fn: () => unknown): Promise<string> => (await captureStderr(fn)).written;

describe('ensurePrivateDir', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
  });
  const fresh = () => {
    const d = tempDir();
    dirs.push(d);
    return d;
  };

  it('creates a missing directory, and its parents, 0700', async () => {
    const dir = path.join(fresh(), 'a', 'b');
    expect(await stderrOf(() => ensurePrivateDir(dir))).toBe('');
    expect(modeOf(dir)).toBe(0o700);
  });

  it('tightens an existing directory that others can enter, and says so', async () => {
    const dir = fresh();
    fs.chmodSync(dir, 0o755);
    const said = await stderrOf(() => ensurePrivateDir(dir));
    expect(modeOf(dir)).toBe(0o700);
    expect(said).toBe(`auditlog: ${dir} had mode 755; changed to 700\n`);
  });

  it('keeps the owner bits as they are and leaves a private directory alone', async () => {
    const dir = fresh();
    fs.chmodSync(dir, 0o750);
    await stderrOf(() => ensurePrivateDir(dir));
    expect(modeOf(dir)).toBe(0o700);
    fs.chmodSync(dir, 0o700);
    expect(await stderrOf(() => ensurePrivateDir(dir))).toBe('');
    expect(modeOf(dir)).toBe(0o700);
  });

  it('refuses, and leaves alone, a directory others can enter that holds files not its own', async () => {
    const dir = fresh();
    fs.writeFileSync(path.join(dir, 'notes.txt'), 'shared\n');
    fs.chmodSync(dir, 0o755);
    expect(() => ensurePrivateDir(dir)).toThrow(
      new AuditlogError(
        'FORBIDDEN',
        `${dir} can be entered by others (mode 755) and holds files that are not auditlog's (notes.txt); ` +
          'give auditlog a directory of its own, or chmod 700 this one',
      ),
    );
    expect(modeOf(dir)).toBe(0o755);
    // A new log is not created there: no key is written.
    await expect(Log.open({ dir, origin: 'example.com/shared-dir' })).rejects.toMatchObject({
      code: 'FORBIDDEN',
    });
    expect(fs.readdirSync(dir)).toEqual(['notes.txt']);
    expect(modeOf(dir)).toBe(0o755);
  });

  it('refuses a directory whose mode it cannot change, and a path that is not a directory', () => {
    const dir = fresh();
    fs.chmodSync(dir, 0o750);
    const denied = () => {
      throw Object.assign(new Error('EPERM: operation not permitted'), { code: 'EPERM' });
    };
    let err: unknown;
    try {
      ensurePrivateDir(dir, denied);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(AuditlogError);
    expect((err as AuditlogError).code).toBe('FORBIDDEN');
    expect((err as Error).message).toBe(
      `${dir} can be entered by others (mode 750) and this user cannot change that; chmod 700 it`,
    );
    const file = path.join(fresh(), 'f');
    fs.writeFileSync(file, '');
    expect(() => ensurePrivateDir(file)).toThrow(/EEXIST|not a directory/);
  });

  it('a working log, record layer and witness leave only names auditlog owns in their directories', async () => {
    const layer = await openLayer(fresh());
    await layer.svc.submit([parseRecord(exampleRecord())], { role: 'submitter', name: 'a' });
    await layer.close();
    const wdir = fresh();
    await stderrOf(() => openWitnessKey(wdir, 'witness.example.com/w2'));
    for (const d of [layer.dir, wdir]) {
      const foreign = fs.readdirSync(d).filter((n) => !OWN_NAMES.has(n));
      expect(foreign).toEqual([]);
    }
  });

  it('a log created in, or reopened from, a directory others can enter makes it private', async () => {
    const dir = fresh();
    fs.chmodSync(dir, 0o755);
    let log: Log | undefined;
    const said = await stderrOf(async () => {
      log = await Log.open({ dir, origin: 'example.com/private-dir' });
    });
    expect(said).toContain('changed to 700');
    expect(modeOf(dir)).toBe(0o700);
    await log!.append(new TextEncoder().encode('x'));
    await log!.close();
    fs.chmodSync(dir, 0o711);
    await stderrOf(async () => {
      log = await Log.open({ dir });
    });
    expect(modeOf(dir)).toBe(0o700);
    expect(log!.latest().size).toBe(1n);
    await log!.close();
  });

  it("a witness's key directory is made private too", async () => {
    const dir = fresh();
    fs.chmodSync(dir, 0o755);
    await stderrOf(() => openWitnessKey(dir, 'witness.example.com/w1'));
    expect(modeOf(dir)).toBe(0o700);
  });
});
