/**
 * `auditlog archive verify FILE --vkey VKEY [--created RECEIPT]`: checks an archive bundle offline
 * (spec/retention.md): the checkpoint signature, every entry's inclusion proof, every body against
 * its leaf, and, with its creation receipt (`--created`, else the `.created.json` file beside FILE
 * when there is one), that the log recorded the bundle's creation with exactly these bytes, so that
 * no record was left out or changed since. The `ok` line says whether that was checked.
 * Exit 0 and `ok ...` when it verifies; exit 1 and `FAIL index N: reason` at the first failure,
 * or with one line when the file cannot be read or the key does not parse; exit 2 with the usage
 * line on stderr for a command line that does not parse (an unknown flag, a missing --vkey), as
 * the client commands do, so that a script can tell a typo from a bundle that fails.
 */
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { parseReceiptText, type Receipt } from '../client/receipt.js';
import { oneLine } from '../errors.js';
import { parseVerifierKey } from '../note/keys.js';
import { creationReceiptName, verifyArchive } from '../records/archive.js';

const HELP = `usage: auditlog archive verify FILE --vkey VKEY [--created RECEIPT]
`;

const OPTIONS = {
  vkey: { type: 'string' },
  created: { type: 'string' },
  help: { type: 'boolean', default: false },
} as const;

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
  if (values.created === '') return usageError('--created needs a file');
  const file = positionals[1]!;
  // Named: required. Otherwise the receipt beside the bundle, if the bundle's name has one.
  const beside = path.join(path.dirname(file), creationReceiptName(path.basename(file)));
  const createdFile = values.created ?? (beside !== file && fs.existsSync(beside) ? beside : undefined);
  let vkey: ReturnType<typeof parseVerifierKey>;
  let bytes: Uint8Array;
  let created: Receipt | undefined;
  let reading = file;
  try {
    vkey = parseVerifierKey(values.vkey);
    bytes = new Uint8Array(fs.readFileSync(file));
    if (createdFile !== undefined) {
      reading = createdFile;
      created = parseReceiptText(fs.readFileSync(createdFile, 'utf8'));
    }
  } catch (err) {
    const reason =
      (err as NodeJS.ErrnoException).code === 'ENOENT'
        ? `${reading}: no such file`
        : `${reading === file ? '' : `${reading}: `}${(err as Error).message}`;
    process.stderr.write(`auditlog archive: ${oneLine(reason)}\n`);
    return 1;
  }
  const verdict = verifyArchive(bytes, vkey, { created });
  if (verdict.ok) {
    const complete =
      verdict.createdAt !== undefined
        ? `; the file is the one its archive_created record (index ${verdict.createdAt}) logged`
        : '; not checked against its archive_created record (no creation receipt: pass --created)';
    process.stdout.write(
      `ok ${file}: ${verdict.count} records verified against tree size ${verdict.treeSize}${complete}\n`,
    );
    return 0;
  }
  process.stdout.write(
    `FAIL ${verdict.index === null ? 'bundle' : `index ${verdict.index}`}: ${oneLine(verdict.reason)}\n`,
  );
  return 1;
}
