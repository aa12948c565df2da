import { vi } from 'vitest';

/** Runs `fn` with process.stderr captured (not printed); returns its value and what was written. */
export async function captureStderr<T>(fn: () => T | Promise<T>): Promise<{ value: T; written: string }> {
  let written = '';
  const spy = vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
    written += String(chunk);
    return true;
  });
  try {
    return { value: await fn(), written };
  } finally {
    spy.mockRestore();
  }
}
