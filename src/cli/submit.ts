/**
 * `auditlog submit --log URL [--token T | --token-file FILE] [FILE | -] [--record] [--out FILE]
 * [--tlog-proof FILE] [--vkey VKEY]`: submits raw bytes (or, with --record, a JSON audit record or
 * `{"records": [...]}`) and prints the receipt JSON. The token may come from a file readable by its
 * owner only, or $AUDITLOG_TOKEN, instead of the command line (where `ps` shows it to every user).
 * With --vkey the receipt is verified before it is printed or saved.
 *
 * The output files are checked before anything is submitted (a directory that exists, a name
 * that is not a directory), and the receipt is printed before they are written: an entry once
 * appended cannot be taken back, so its receipt must not be lost to a failed save.
 */
import { LogClient } from '../client/log-client.js';
import {
  checkOutputPath,
  loadVerifierKey,
  readInputFile,
  readStdin,
  writeFileDurably,
} from '../client/inputs.js';
import { type Receipt, receiptToJSON } from '../client/receipt.js';
import { formatTlogProof, receiptToTlogProof } from '../client/tlog-proof.js';
import { AuditlogError } from '../errors.js';
import { ClientCommand, TOKEN_FLAGS, TOKEN_USAGE } from './client-command.js';

const USAGE = `usage: auditlog submit --log URL ${TOKEN_USAGE} [FILE | -] [--record] [--out FILE] [--tlog-proof FILE] [--vkey VKEY]`;
const MAX_INPUT = 16 * 1024 * 1024;

const cmd = new ClientCommand('submit', USAGE);

export async function run(argv: string[]): Promise<number> {
  const args = cmd.parse(
    argv,
    {
      log: { type: 'string' },
      ...TOKEN_FLAGS,
      record: { type: 'boolean' },
      out: { type: 'string' },
      'tlog-proof': { type: 'string' },
      vkey: { type: 'string' },
    },
    true,
  );
  if (typeof args === 'number') return args;
  const { values, positionals } = args;
  const log = values.log;
  if (typeof log !== 'string' || positionals.length > 1)
    return cmd.usageError('--log is required, and at most one FILE');
  const out = values.out as string | undefined;
  const tlogProof = values['tlog-proof'] as string | undefined;
  return cmd.run(async (use) => {
    const token = await cmd.token(values);
    if (token === undefined) {
      throw new AuditlogError('BAD_REQUEST', 'a token is required: --token, --token-file or $AUDITLOG_TOKEN');
    }
    for (const o of [out, tlogProof]) if (o !== undefined) await checkOutputPath(o);
    const file = positionals[0] ?? '-';
    const input = file === '-' ? await readStdin(MAX_INPUT) : await readInputFile(file);
    const vkey = typeof values.vkey === 'string' ? await loadVerifierKey(values.vkey) : undefined;
    const client = use(new LogClient(log, { token, ...(vkey ? { vkey } : {}) }));
    let receipts: Receipt[];
    let batch = false;
    if (values.record) {
      let json: unknown;
      try {
        json = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(input));
      } catch (cause) {
        throw new AuditlogError('BAD_REQUEST', 'the record is not valid JSON', { cause });
      }
      if (
        typeof json === 'object' &&
        json !== null &&
        Array.isArray((json as { records?: unknown }).records)
      ) {
        if (tlogProof !== undefined) {
          throw new AuditlogError('BAD_REQUEST', '--tlog-proof needs a single entry or record');
        }
        batch = true;
        receipts = await client.submitRecords((json as { records: object[] }).records);
      } else {
        receipts = [await client.submitRecord(json as object)];
      }
    } else {
      receipts = [await client.submitEntry(input)];
    }
    const json = batch ? receipts.map(receiptToJSON) : receiptToJSON(receipts[0]!);
    const text = `${JSON.stringify(json, null, 2)}\n`;
    process.stdout.write(text);
    try {
      if (out !== undefined) await writeFileDurably(out, text);
      if (tlogProof !== undefined) {
        await writeFileDurably(tlogProof, formatTlogProof(receiptToTlogProof(receipts[0]!)));
      }
    } catch (cause) {
      throw new AuditlogError(
        'STORAGE',
        `submitted, and the receipt is printed above, but saving it failed: ${(cause as Error).message}`,
        { cause },
      );
    }
    return 0;
  });
}
