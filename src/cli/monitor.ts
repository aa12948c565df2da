/** `auditlog monitor` (being written). */
export async function run(_argv: string[]): Promise<number> {
  process.stderr.write('auditlog monitor: not implemented yet\n');
  return 2;
}
