import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { AuditlogError } from '../../src/errors.js';
import { Log } from '../../src/sequencer/log.js';
import { ensurePrivateDir } from '../../src/storage/data-dir.js';
import { openWitnessKey } from '../../src/witness/keyfile.js';
import { tempDir } from '../helpers/server.js';
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

  it('refuses a directory whose mode it cannot change, and a path that is not a directory', () => {
    // /proc/self is 0555 and its mode cannot be changed, not even by root.
    const err = (() => {
      try {
        ensurePrivateDir('/proc/self');
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(AuditlogError);
    expect((err as AuditlogError).code).toBe('FORBIDDEN');
    expect((err as Error).message).toMatch(/mode 555.*chmod 700/);
    const file = path.join(fresh(), 'f');
    fs.writeFileSync(file, '');
    expect(() => ensurePrivateDir(file)).toThrow(/EEXIST|not a directory/);
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
