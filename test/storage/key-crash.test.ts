/**
 * A key file is never left empty or partial: killed (-9) between creating a key file and writing
 * it, or failing part-way through the write (a real fault: RLIMIT_FSIZE makes the write short,
 * then EFBIG), `auditlog init`, a witness's first start and the record layer's first start leave
 * the key's name absent (or holding the whole key), and trying again succeeds. Before, the file
 * was created under its final name and then written, so either fault left a file (0 bytes, or
 * the first bytes of the key) that broke every later start.
 */
import { execFile, execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadOrCreateMasterKey, MASTER_KEY_FILE } from '../../src/records/master-key.js';
import { KEY_FILE, readKeyFile } from '../../src/storage/data-dir.js';
import { openWitnessKey, WITNESS_KEY_FILE } from '../../src/witness/keyfile.js';
import { cli, tempDir } from '../helpers/server.js';

const CHILD = resolve(import.meta.dirname, '../../dist/test/storage/key-crash-child.js');

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

type Kind = 'log' | 'witness' | 'records';
const FILE: Record<Kind, string> = { log: KEY_FILE, witness: WITNESS_KEY_FILE, records: MASTER_KEY_FILE };

/** Runs the child (under `prefix`, e.g. prlimit); resolves with its exit code and signal. */
function child(prefix: string[], kind: Kind, dir: string, fault: string) {
  const argv = [...prefix, process.execPath, CHILD, kind, dir, fault];
  return new Promise<{ code: number | null; signal: string | null; stderr: string }>((done) => {
    const p = execFile(argv[0]!, argv.slice(1), { timeout: 20_000 }, (_e, _out, stderr) =>
      done({ code: p.exitCode, signal: p.signalCode, stderr: String(stderr) }),
    );
  });
}

/** Creates the key of `kind` in `dir` again, with no fault, as auditlog's next start would. */
async function retry(kind: Kind, dir: string): Promise<void> {
  if (kind === 'log') {
    const r = await cli('init', '--data', dir, '--origin', 'example.com/key-crash');
    expect(r.code, r.stderr).toBe(0);
    expect(readKeyFile(dir).name).toBe('example.com/key-crash');
  } else if (kind === 'witness') {
    expect(openWitnessKey(dir, 'witness.example/key-crash').created).toBe(true);
    expect(openWitnessKey(dir, 'witness.example/key-crash').created).toBe(false);
  } else {
    const key = loadOrCreateMasterKey(dir);
    expect(loadOrCreateMasterKey(dir)).toEqual(key);
  }
}

/** The key's name is absent, or holds a whole key (a line ending in a newline). */
function expectAbsentOrWhole(kind: Kind, dir: string): void {
  const file = join(dir, FILE[kind]);
  if (!existsSync(file)) return;
  const text = readFileSync(file, 'utf8');
  expect(text, `${file} after the fault`).toMatch(/^\S{40,}\n$/);
}

const newDir = (kind: Kind) => {
  const base = tempDir(`key-crash-${kind}-`);
  dirs.push(base);
  return join(base, kind);
};

describe('key files survive a crash or a failed write whole or not at all', () => {
  for (const kind of ['log', 'witness', 'records'] as const) {
    it(`${FILE[kind]}: kill -9 at its first write`, async () => {
      const dir = newDir(kind);
      const r = await child([], kind, dir, 'kill-at-write');
      expect(r.signal, r.stderr).toBe('SIGKILL');
      expectAbsentOrWhole(kind, dir);
      await retry(kind, dir);
      // The temporary file the crash left is gone.
      expect(readdirSync(dir).filter((n) => n.endsWith('.tmp'))).toEqual([]);
    });
  }

  // A real fault, no patching: `prlimit` (util-linux) runs the child with a file-size limit of
  // 40 bytes, less than any key file, so the key's write is short and the next one fails.
  it('a short write then EFBIG (RLIMIT_FSIZE) leaves no partial key', async () => {
    expect(
      () => execFileSync('prlimit', ['--version'], { stdio: 'ignore' }),
      'prlimit is required',
    ).not.toThrow();
    for (const kind of ['log', 'witness', 'records'] as const) {
      const dir = newDir(kind);
      const r = await child(['prlimit', '--fsize=40'], kind, dir, 'none');
      expect(r.code, `${kind}: ${r.stderr}`).not.toBe(0);
      expectAbsentOrWhole(kind, dir);
      expect(r.stderr).toMatch(/EFBIG/);
      await retry(kind, dir);
    }
  });
});
