/**
 * vitest global setup: every temporary directory of a test run (test files' mkdtemp under
 * os.tmpdir(), and the servers, monitors and witnesses they spawn, which inherit TMPDIR)
 * goes under one directory made here and removed when the run ends, so that a run leaves
 * nothing behind in the system's temporary directory (it used to leave ~150 directories,
 * among them LevelDB databases, per run).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export default function setup(): () => void {
  const dir = mkdtempSync(join(tmpdir(), 'auditlog-test-run-'));
  process.env.TMPDIR = dir;
  return () => rmSync(dir, { recursive: true, force: true });
}
