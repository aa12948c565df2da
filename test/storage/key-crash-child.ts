/**
 * Child process for the key-file crash tests: creates one key file in DIR the way auditlog
 * does (KIND: `log` runs `auditlog init`, `witness` opens a witness key, `records` the record
 * layer's master key), with a fault:
 *   - FAULT `kill-at-write`: SIGKILL (kill -9) at the first write(2) to a file whose name starts
 *     with the key file's name (the key file itself, or a temporary file of it), as
 *     `strace -e inject=write:signal=KILL` does. node:fs is patched for it: a crash between
 *     creating a file and writing it cannot be produced on demand otherwise.
 *   - FAULT `none`: no fault (the caller may run it under `prlimit --fsize`, a real fault:
 *     writes beyond the limit are short, then fail with EFBIG).
 * Run from dist: node dist/test/storage/key-crash-child.js KIND DIR FAULT.
 */
import fs from 'node:fs';
import path from 'node:path';
import { main } from '../../src/cli/main.js';
import { loadOrCreateMasterKey, MASTER_KEY_FILE } from '../../src/records/master-key.js';
import { KEY_FILE } from '../../src/storage/data-dir.js';
import { openWitnessKey, WITNESS_KEY_FILE } from '../../src/witness/keyfile.js';

const [kind, dir, fault] = process.argv.slice(2) as [string, string, string];
const name = { log: KEY_FILE, witness: WITNESS_KEY_FILE, records: MASTER_KEY_FILE }[kind]!;
// Writes beyond RLIMIT_FSIZE fail with EFBIG instead of killing the process.
process.on('SIGXFSZ', () => {});

if (fault === 'kill-at-write') {
  const watched = new Set<number>();
  const open = fs.openSync;
  const write = fs.writeSync;
  fs.openSync = ((p: fs.PathLike, ...rest: unknown[]) => {
    const fd = (open as (...a: unknown[]) => number)(p, ...rest);
    if (path.basename(String(p)).startsWith(name)) watched.add(fd);
    return fd;
  }) as typeof fs.openSync;
  fs.writeSync = ((fd: number, ...rest: unknown[]) => {
    if (watched.has(fd)) process.kill(process.pid, 'SIGKILL');
    return (write as (...a: unknown[]) => number)(fd, ...rest);
  }) as typeof fs.writeSync;
}

if (kind === 'log') {
  process.exitCode = await main(['init', '--data', dir, '--origin', 'example.com/key-crash']);
} else if (kind === 'witness') {
  openWitnessKey(dir, 'witness.example/key-crash');
} else {
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  loadOrCreateMasterKey(dir);
}
