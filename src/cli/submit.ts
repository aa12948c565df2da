/**
 * `auditlog submit --log URL [--token T] [FILE | -] [--record] [--out FILE] [--tlog-proof FILE]
 * [--vkey VKEY]`: submits raw bytes (or, with --record, a JSON audit record or
 * `{"records": [...]}`) and prints the receipt JSON. The token may come from $AUDITLOG_TOKEN instead
 * of the command line. With --vkey the receipt is verified before it is printed or saved.
 */
import { LogClient } from '../client/log-client.js';
import { loadVerifierKey, readInputFile, readStdin, writeFileDurably } from '../client/inputs.js';
import { type Receipt, receiptToJSON } from '../client/receipt.js';
import { formatTlogProof, receiptToTlogProof } from '../client/tlog-proof.js';
import { AuditlogError } from '../errors.js';
import { ClientCommand } from './client-command.js';

const USAGE =
  'usage: auditlog submit --log URL [--token T | $AUDITLOG_TOKEN] [FILE | -] [--record] [--out FILE] [--tlog-proof FILE] [--vkey VKEY]';
const MAX_INPUT = 16 * 1024 * 1024;

const cmd = new ClientCommand('submit', USAGE);

export async function run(argv: string[]): Promise<number> {
  const args = cmd.parse(
    argv,
    {
      log: { type: 'string' },
      token: { type: 'string' },
      record: { type: 'boolean' },
      out: { type: 'string' },
      'tlog-proof': { type: 'string' },
      vkey: { type: 'string' },
    },
    true,
  );
  if (typeof args === 'number') return args;
  const { values, positionals } = args;
  const token = (values.token as string | undefined) ?? process.env.AUDITLOG_TOKEN;
  const log = values.log;
  if (typeof log !== 'string' || !token || positionals.length > 1)
    return cmd.usageError('--log and a token are required, and at most one FILE');
  return cmd.run(async (use) => {
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
    if (typeof values.out === 'string') await writeFileDurably(values.out, text);
    if (typeof values['tlog-proof'] === 'string') {
      if (batch) throw new AuditlogError('BAD_REQUEST', '--tlog-proof needs a single entry or record');
      await writeFileDurably(values['tlog-proof'], formatTlogProof(receiptToTlogProof(receipts[0]!)));
    }
    process.stdout.write(text);
    return 0;
  });
}
