import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createFileDurably } from '../../src/storage/durable-file.js';
import { tempDir } from '../helpers/server.js';

describe('createFileDurably', () => {
  it('creates the file with its contents, readable by its owner only', () => {
    const dir = tempDir();
    const file = path.join(dir, 'k.key');
    createFileDurably(file, 'secret\n');
    expect(fs.readFileSync(file, 'utf8')).toBe('secret\n');
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('never overwrites an existing file', () => {
    const dir = tempDir();
    const file = path.join(dir, 'k.key');
    fs.writeFileSync(file, 'old\n', { mode: 0o600 });
    expect(() => createFileDurably(file, 'new\n')).toThrow(/EEXIST/);
    expect(fs.readFileSync(file, 'utf8')).toBe('old\n');
    expect(fs.readdirSync(dir)).toEqual(['k.key']);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('removes the temporary files an earlier crash left, and only those', () => {
    const dir = tempDir();
    const file = path.join(dir, 'k.key');
    const others = ['k.key.tmp', 'k.key.0123456789abcdeg.tmp', 'j.key.0123456789abcdef.tmp'];
    for (const name of ['k.key.0123456789abcdef.tmp', ...others]) fs.writeFileSync(path.join(dir, name), '');
    createFileDurably(file, 'secret\n');
    expect(fs.readdirSync(dir).sort()).toEqual(['k.key', ...others].sort());
    fs.rmSync(dir, { recursive: true, force: true });
  });
});
