/**
 * `auditlog token create --tenant ""` must not silently make a token without a tenant (one that
 * reaches every tenant's records): HTTP refuses `"tenant": ""` with 400, and a script passing
 * `--tenant "$TENANT"` with the variable unset must fail, not mint a global token.
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cli, tempDir } from '../helpers/server.js';

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe('auditlog token create --tenant ""', () => {
  it('is refused and writes nothing', async () => {
    const base = tempDir();
    dirs.push(base);
    const dir = join(base, 'log');
    expect((await cli('init', '--data', dir, '--origin', 'example.com/empty-tenant')).code).toBe(0);
    const before = (await cli('token', 'list', '--data', dir, '--json')).stdout;
    const r = await cli('token', 'create', '--data', dir, '--role', 'admin', '--tenant', '');
    expect((await cli('token', 'list', '--data', dir, '--json')).stdout).toBe(before);
    expect(r.code).not.toBe(0);
    expect(r.stdout).not.toMatch(/alt_/);
  });
});
