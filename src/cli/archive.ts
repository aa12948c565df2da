/**
 * `auditlog archive verify FILE --vkey VKEY`: checks an archive bundle offline (spec/retention.md):
 * the checkpoint signature, every entry's inclusion proof, every body against its leaf.
 * Exit 0 and `ok ...` when it verifies; exit 1 and `FAIL index N: reason` at the first failure,
 * or with one line when the file cannot be read or the key does not parse; exit 2 with the usage
 * line on stderr for a command line that does not parse (an unknown flag, a missing --vkey), as
 * the client commands do, so that a script can tell a typo from a bundle that fails.
 */
import fs from 'node:fs';
import { parseArgs } from 'node:util';
import { parseVerifierKey } from '../note/keys.js';
import { verifyArchive } from '../records/archive.js';

const HELP = `usage: auditlog archive verify FILE --vkey VKEY
`;

const OPTIONS = { vkey: { type: 'string' }, help: { type: 'boolean', default: false } } as const;

function parse(argv: string[]) {
  return parseArgs({ args: argv, allowPositionals: true, options: OPTIONS });
}

function usageError(message: string): number {
  process.stderr.write(`auditlog archive: ${message}\n${HELP}`);
  return 2;
}

export async function run(argv: string[]): Promise<number> {
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(argv);
  } catch (err) {
    return usageError((err as Error).message);
  }
  const { values, positionals } = parsed;
  if (values.help) {
    process.stdout.write(HELP);
    return 0;
  }
  if (positionals[0] !== 'verify' || positionals.length !== 2) {
    return usageError(positionals.length === 0 ? 'a subcommand is required' : 'expected: verify FILE');
  }
  if (values.vkey === undefined || values.vkey === '') return usageError('--vkey is required');
  const file = positionals[1]!;
  let vkey: ReturnType<typeof parseVerifierKey>;
  let bytes: Uint8Array;
  try {
    vkey = parseVerifierKey(values.vkey);
    bytes = new Uint8Array(fs.readFileSync(file));
  } catch (err) {
    const reason =
      (err as NodeJS.ErrnoException).code === 'ENOENT' ? `${file}: no such file` : (err as Error).message;
    process.stderr.write(`auditlog archive: ${reason}\n`);
    return 1;
  }
  const verdict = verifyArchive(bytes, vkey);
  if (verdict.ok) {
    process.stdout.write(
      `ok ${file}: ${verdict.count} records verified against tree size ${verdict.treeSize}\n`,
    );
    return 0;
  }
  process.stdout.write(
    `FAIL ${verdict.index === null ? 'bundle' : `index ${verdict.index}`}: ${verdict.reason}\n`,
  );
  return 1;
}
