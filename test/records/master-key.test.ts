import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadOrCreateMasterKey, MASTER_KEY_FILE } from '../../src/records/master-key.js';
import { errorCode, tempDir } from './helpers.js';

describe('records master key file', () => {
  it('is created 0600 once and read back the same', () => {
    const dir = tempDir();
    const k = loadOrCreateMasterKey(dir);
    expect(k).toHaveLength(32);
    expect(fs.statSync(path.join(dir, MASTER_KEY_FILE)).mode & 0o777).toBe(0o600);
    expect(Buffer.from(loadOrCreateMasterKey(dir))).toEqual(Buffer.from(k));
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('refuses a key readable by others, or not 32 bytes of canonical base64', async () => {
    const dir = tempDir();
    const file = path.join(dir, MASTER_KEY_FILE);
    loadOrCreateMasterKey(dir);
    fs.chmodSync(file, 0o644);
    expect(await errorCode(() => loadOrCreateMasterKey(dir))).toBe('FORBIDDEN');
    for (const text of [
      '',
      'abc',
      Buffer.alloc(31).toString('base64'),
      `${Buffer.alloc(32).toString('base64')}x`,
    ]) {
      fs.writeFileSync(file, text, { mode: 0o600 });
      fs.chmodSync(file, 0o600);
      expect(await errorCode(() => loadOrCreateMasterKey(dir))).toBe('BAD_KEY');
    }
    fs.rmSync(dir, { recursive: true, force: true });
  });
});
