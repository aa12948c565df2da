/** The error code a call throws, 'none' if it returns, or a marker for an error without a code. */
export function codeOf(f: () => unknown): string {
  try {
    f();
    return 'none';
  } catch (e) {
    return (e as { code?: string }).code ?? `uncoded: ${(e as Error).message}`;
  }
}
