/**
 * `auditlog archive verify FILE --vkey VKEY`: checks an archive bundle offline (spec/retention.md):
 * the checkpoint signature, every entry's inclusion proof, every body against its leaf.
 * Exit 0 and `ok ...` when it verifies; exit 1 and `FAIL index N: reason` at the first failure.
 */
import fs from 'node:fs';
import { parseArgs } from 'node:util';
import { parseVerifierKey } from '../note/keys.js';
import { verifyArchive } from '../records/archive.js';
import { required } from './args.js';

const HELP = `usage: auditlog archive verify FILE --vkey VKEY
`;

export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { vkey: { type: 'string' }, help: { type: 'boolean', default: false } },
  });
  if (values.help || positionals[0] !== 'verify' || positionals.length !== 2) {
    process.stdout.write(HELP);
    return values.help ? 0 : 2;
  }
  const file = positionals[1]!;
  const vkey = parseVerifierKey(required('vkey', values.vkey));
  const verdict = verifyArchive(new Uint8Array(fs.readFileSync(file)), vkey);
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
