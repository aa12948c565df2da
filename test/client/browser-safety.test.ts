/**
 * The verification half of the SDK must run in a browser: walk the static (value) import graph of
 * src/client/verify-only.ts and check that it reaches no node: built-in, no undici and no server
 * code. Type-only imports are erased by the compiler and are skipped.
 */
import { readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, test } from 'vitest';

const ROOT = resolve(import.meta.dirname, '../..');
const ALLOWED_DIRS = ['src/client/', 'src/merkle/', 'src/note/', 'src/errors.ts'];
const ALLOWED_PACKAGES = [/^@noble\//];

function valueImports(source: string): string[] {
  const out: string[] = [];
  const re = /^\s*(import|export)\s+(?!type\s)([^'";]*?\sfrom\s+)?['"]([^'"]+)['"]/gm;
  for (const m of source.matchAll(re)) out.push(m[3]!);
  for (const m of source.matchAll(/import\(\s*['"]([^'"]+)['"]\s*\)/g)) out.push(m[1]!);
  return out;
}

function walk(entry: string): { files: string[]; packages: string[] } {
  const files = new Set<string>();
  const packages = new Set<string>();
  const stack = [entry];
  while (stack.length > 0) {
    const file = stack.pop()!;
    if (files.has(file)) continue;
    files.add(file);
    for (const spec of valueImports(readFileSync(file, 'utf8'))) {
      if (spec.startsWith('.')) stack.push(join(dirname(file), spec.replace(/\.js$/, '.ts')));
      else packages.add(spec);
    }
  }
  return { files: [...files].map((f) => relative(ROOT, f)), packages: [...packages] };
}

describe('browser safety of the verification entry point', () => {
  test('verify-only.ts reaches only client/merkle/note/errors and @noble', () => {
    const { files, packages } = walk(join(ROOT, 'src/client/verify-only.ts'));
    expect(files).toContain('src/client/verify.ts');
    expect(files).toContain('src/merkle/verify.ts');
    for (const f of files)
      expect(
        ALLOWED_DIRS.some((d) => f.startsWith(d)),
        f,
      ).toBe(true);
    expect(files).not.toContain('src/note/signer.ts');
    expect(files).not.toContain('src/client/log-client.ts');
    for (const p of packages)
      expect(
        ALLOWED_PACKAGES.some((re) => re.test(p)),
        p,
      ).toBe(true);
  });

  test('the walker does see node: imports (it can fail)', () => {
    const { packages } = walk(join(ROOT, 'src/client/log-client.ts'));
    expect(packages).toContain('undici');
  });
});
