/**
 * `auditlog serve` failing to start exits: a bad config.json, a malformed --witness flag and an
 * empty records.key each make it exit non-zero within seconds with one line on stderr naming
 * the problem, and leave the data directory free (`auditlog token list` works at once, rather
 * than failing with "in use by another process" while a process holds the LevelDB lock).
 */
import { execFile } from 'node:child_process';
import { existsSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BIN, cli, tempDir } from '../helpers/server.js';

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

async function newLog(): Promise<string> {
  const base = tempDir('serve-fail-');
  dirs.push(base);
  const dir = join(base, 'log');
  expect((await cli('init', '--data', dir, '--origin', 'example.com/serve-fail')).code).toBe(0);
  return dir;
}

/**
 * Runs `auditlog serve --data DIR --port 0 ...args`; SIGKILLed if it has not exited within
 * `ms`. Resolves with its exit code (null when killed) and its stderr.
 */
function serveUntilExit(
  dir: string,
  args: string[],
  ms = 10_000,
): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = execFile(
      process.execPath,
      [BIN, 'serve', '--data', dir, '--port', '0', ...args],
      { timeout: ms, killSignal: 'SIGKILL' },
      (_err, _stdout, stderr) => resolve({ code: child.exitCode, stderr: String(stderr) }),
    );
  });
}

/** Asserts a failed start: exit 1, one stderr line matching `problem`, the directory free. */
async function expectFailedStart(dir: string, args: string[], problem: RegExp): Promise<void> {
  const t0 = Date.now();
  const { code, stderr } = await serveUntilExit(dir, args);
  expect(code, `serve did not exit within 10 s; stderr:\n${stderr}`).toBe(1);
  expect(Date.now() - t0).toBeLessThan(10_000);
  const lines = stderr.trim().split('\n');
  expect(lines, stderr).toHaveLength(1);
  expect(lines[0]).toMatch(/^auditlog: /);
  expect(lines[0]).toMatch(problem);
  const list = await cli('token', 'list', '--data', dir);
  expect(list.stderr).not.toMatch(/in use/);
  expect(list.code, list.stderr).toBe(0);
}

describe('auditlog serve: a failed start-up exits and lets go of the log', () => {
  it('a config.json with an unknown retention member', async () => {
    const dir = await newLog();
    writeFileSync(join(dir, 'config.json'), '{"retention":{"bogus":1}}\n');
    await expectFailedStart(dir, [], /config\.json: retention\.bogus/);
  });

  it('a malformed --witness flag', async () => {
    const dir = await newLog();
    await expectFailedStart(dir, ['--witness', 'http://127.0.0.1:1=garbage'], /--witness/);
  });

  it('a malformed --witness flag on a fresh directory creates nothing', async () => {
    const base = tempDir('serve-fail-');
    dirs.push(base);
    const dir = join(base, 'log');
    const { code } = await serveUntilExit(dir, ['--witness', 'http://127.0.0.1:1=garbage']);
    expect(code).toBe(1);
    expect(existsSync(dir)).toBe(false);
  });

  it('an empty records.key', async () => {
    const dir = await newLog();
    const key = join(dir, 'records.key');
    if (existsSync(key)) unlinkSync(key);
    writeFileSync(key, '', { mode: 0o600 });
    await expectFailedStart(dir, [], /records\.key: not 32 bytes/);
  });
});
